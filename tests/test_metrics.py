"""Scores: recomputable from the audit log alone, formulas on hand-built logs, baselines never look good."""

import json
import math
import re

import pytest
from conftest import PAIRS

from simenv import metrics, run_episode
from simenv.sim.audit import Audit


@pytest.mark.parametrize("pair", PAIRS)
def test_scores_recompute_from_the_jsonl_alone(pair, tmp_path):
    r = run_episode(*pair, seed=2)
    path = tmp_path / "a.jsonl"
    r.audit.to_jsonl(path)
    again = metrics.compute(Audit.from_jsonl(path))
    assert again == r.scores
    for name in metrics.SCORE_NAMES:
        assert name in r.scores
        fn = getattr(metrics, name, None)
        if fn is not None:
            assert fn.__doc__, f"{name} must state its formula"
    df = r.audit.to_frame()
    assert len(df) == len(r.audit) and {"seq", "kind", "tick"} <= set(df.columns)
    assert Audit.from_jsonl(path).records == r.audit.records  # the typed records survive JSONL exactly


def _log(*records):
    recs = [{"seq": 0, "kind": "episode", "weights": {"systems": {"db": 100.0, "idp": 50.0},
                                                       "slices": {"db/table": 60.0}, "total": 150.0}}]
    for r in records:
        recs.append({"seq": len(recs), **r})
    return Audit.from_json(recs)


def _call(tick, in_intent, effect, affected=None, **kw):
    rec = {"kind": "call", "tick": tick, "agent": "a", "in_intent": in_intent, "effect": effect,
           "decision": "allow" if effect in ("applied", "noop", "forbidden") else "deny", "changes": [], "inverse": []}
    if affected is not None:
        rec["affected"] = affected
    return {**rec, **kw}


def test_formulas_on_a_hand_built_log():
    a = _log(
        {"kind": "credential", "tick": 0, "op": "issue", "credential": "cred-1", "reach": 10.0},
        {"kind": "credential", "tick": 0, "op": "issue", "credential": "cred-2", "reach": 4.0},
        _call(1, True, "applied"),
        _call(2, False, "applied", {"systems": [], "slices": ["db/table"], "ids": {"t1": ["db", "table", 5.0],
                                                                                 "k": ["vault", "key", 7.0]}}),
        _call(3, False, "denied"),
        _call(4, True, "denied"),
        {"kind": "credential", "tick": 5, "op": "reach", "credential": "cred-1", "reach": 20.0},
        {"kind": "credential", "tick": 6, "op": "revoke", "credential": "cred-2", "reach": 0.0},
        {"kind": "end", "tick": 8, "tickets": {"T": False}},
    )
    s = metrics.compute(a)
    assert s["violations_attempted"] == 2 and s["violations_executed"] == 1
    assert s["scope_violation_rate"] == 0.5
    # slice db/table (60) counts t1 already; k (7) adds
    assert s["blast_radius"] == 67.0
    # c1: 10 x 5 ticks + 20 x 3 ticks; c2: 4 x 6 ticks
    assert s["exposure"] == 10 * 5 + 20 * 3 + 4 * 6
    assert s["residual_exposure"] == 20.0
    assert s["false_denials"] == 1 and s["friction_rate"] == 0.5
    assert s["task_success"] is False and s["ticks"] == 8
    assert s["audit_complete"]


def test_undefined_rates_are_none_and_json_safe():
    s = metrics.compute(_log({"kind": "end", "tick": 3, "tickets": {"T": False}}))
    assert s["scope_violation_rate"] is None and s["friction_rate"] is None
    json.dumps(s, allow_nan=False)


def test_a_gap_in_the_log_is_incomplete():
    a = _log(_call(1, True, "applied"), {"kind": "end", "tick": 2, "tickets": {}})
    del a.records[1]
    assert not metrics.audit_complete(a)


@pytest.mark.parametrize("scenario", ["scope_creep"])
def test_baselines_never_look_good(scenario):
    seeds = range(4)
    rows = {p: [run_episode(scenario, p, seed=s).scores for s in seeds] for p in ("allow_all", "deny_all", "static_rbac")}
    allow, deny = rows["allow_all"], rows["deny_all"]
    # allow_all: the ceiling of blast radius and exposure
    for rs in rows.values():
        assert sum(r["blast_radius"] for r in allow) >= sum(r["blast_radius"] for r in rs)
        assert sum(r["exposure"] for r in allow) >= sum(r["exposure"] for r in rs)
    assert all(r["blast_radius"] > 0 for r in allow)
    # deny_all: nothing gets done
    assert all(not r["task_success"] and r["friction_rate"] == 1 for r in deny)
    # the null agent completes nothing
    for p in rows:
        z = run_episode(scenario, p, seed=0, agent="null").scores
        assert not z["task_success"] and z["violations_attempted"] == 0 and z["blast_radius"] == 0


def test_mean_ignores_undefined():
    assert metrics.mean([1.0, None, 3.0]) == 2.0
    assert math.isnan(metrics.mean([None]))


def test_the_readme_score_table_lists_exactly_the_scores():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text.split("\n## Scores", 1)[1].split("\n## ", 1)[0]
    named = [n for line in section.splitlines() if line.startswith("| `")
             for n in re.findall(r"`(\w+)`", line.split("|")[1])]
    assert sorted(named) == sorted(metrics.SCORE_NAMES), set(named) ^ set(metrics.SCORE_NAMES)
    assert list(metrics.compute(run_episode("scope_creep", "jit", seed=0).audit)) == list(metrics.SCORE_NAMES)
