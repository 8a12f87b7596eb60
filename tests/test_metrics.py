"""Scores: recomputable from the audit log alone, formulas on hand-built logs, baselines never look good."""

import json
import math
import re

import pytest
from conftest import PAIRS

from simenv import metrics, run_episode
from simenv.errors import SimenvError
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
    alone = {n: r.audit.fingerprint() if n == "fingerprint" else getattr(metrics, n)(r.audit) for n in metrics.SCORE_NAMES}
    assert repr(alone) == repr(r.scores)  # each score on its own, without the scans compute shares
    df = r.audit.to_frame()
    assert len(df) == len(r.audit) and {"seq", "kind", "tick"} <= set(df.columns)
    assert Audit.from_jsonl(path).records == r.audit.records  # the typed records survive JSONL exactly


def test_a_log_is_read_with_the_collector_paused_and_it_is_back_on_after(tmp_path, monkeypatch):
    import gc

    seen = []
    real = Audit.from_json.__func__

    def spy(cls, docs):
        seen.append(gc.isenabled())
        return real(cls, docs)

    path = tmp_path / "a.jsonl"
    run_episode("scope_creep", "static_rbac", seed=1).audit.to_jsonl(path)
    monkeypatch.setattr(Audit, "from_json", classmethod(spy))
    assert len(Audit.from_jsonl(path)) > 3 and seen == [False] and gc.isenabled()
    path.write_text(path.read_text() + "not json\n")
    with pytest.raises(SimenvError, match="not a JSON record"):
        Audit.from_jsonl(path)
    assert gc.isenabled()


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


def _cov(systems=(), slices=(), ids=None):
    return {"systems": list(systems), "slices": list(slices), "ids": dict(ids or {})}


def test_the_scans_compute_shares_are_its_own_and_gone_after_it():
    a, b = run_episode("scope_creep", "allow_all", seed=1).audit, run_episode("scope_creep", "jit", seed=1).audit
    assert metrics._SCAN.get() is None
    assert metrics.compute(a)["blast_radius"] == metrics.blast_radius(a)
    assert metrics._SCAN.get() is None  # a score computed after compute scans its own log again
    assert metrics.blast_radius(b) == metrics.compute(b)["blast_radius"] != metrics.blast_radius(a)
    cut = Audit(a.records[:-1])  # no end record: a score raises, and the scans are dropped all the same
    with pytest.raises(ValueError, match="no end record"):
        metrics.compute(cut)
    assert metrics._SCAN.get() is None


def test_formulas_on_a_hand_built_log():
    t1 = {"t1": ["db", "table", 5.0]}
    k = {"k": ["vault", "key", 7.0]}
    a = _log(
        {"kind": "ticket", "tick": 0, "agent": "a", "ticket": "T", "op": "open"},
        {"kind": "credential", "tick": 0, "op": "issue", "credential": "cred-1", "holder": "a", "reach": 65.0,
         "covers": _cov(slices=["db/table"], ids=k)},
        {"kind": "credential", "tick": 0, "op": "issue", "credential": "cred-2", "holder": "a", "reach": 5.0,
         "covers": _cov(ids=t1), "expires_at": 4},
        _call(1, True, "applied", ticket="T", intent_step=0),
        _call(2, False, "applied", _cov(ids={**t1, **k}), ticket="T",
              potential=_cov(systems=["db"], ids=k)),
        _call(3, False, "denied", ticket="T"),
        _call(4, True, "denied", ticket="T", intent_step=1),
        {"kind": "credential", "tick": 4, "op": "expire", "credential": "cred-2", "holder": "a", "reach": 0.0},
        {"kind": "credential", "tick": 5, "op": "reach", "credential": "cred-1", "holder": "a", "reach": 100.0,
         "covers": _cov(systems=["db"])},
        {"kind": "credential", "tick": 6, "op": "revoke", "credential": "cred-1", "holder": "a", "reach": 0.0},
        {"kind": "end", "tick": 8, "tickets": {"T": False}},
    )
    a.records[0].exposure_horizon = 20
    a.records[0].tickets = [{"id": "T", "intended": 3}]
    s = metrics.compute(a)
    assert s["violations_attempted"] == 2 and s["violations_executed"] == 1
    assert s["scope_violation_rate"] == 0.5
    assert s["blast_radius"] == 12.0  # realized: t1 (5) and k (7)
    assert s["potential_blast_radius"] == 107.0  # db (100) and k (7)
    # cred-1 and cred-2 are held by one agent: their union, not their sum. Ticks 0-3: db/table (60) + k (7);
    # cred-2's t1 lies in the db/table slice. Tick 4: cred-1 alone, 67. Tick 5: db, 100. Then revoked.
    assert s["exposure"] == 67 * 4 + 67 + 100
    assert s["residual_exposure"] == 0
    # three intended actions: #0 executed, #1 refused, #2 never executed on a ticket never completed
    assert s["false_denials"] == 1 and s["friction_rate"] == 2 / 3
    assert s["task_success"] is False and s["completion_under_policy"] is False and s["ticks"] == 8
    assert s["audit_complete"]


def test_credentials_live_at_the_end_are_charged_to_their_expiry_or_the_horizon():
    a = _log(
        {"kind": "credential", "tick": 0, "op": "issue", "credential": "cred-1", "holder": "a", "reach": 100.0,
         "covers": _cov(systems=["db"])},
        {"kind": "credential", "tick": 2, "op": "issue", "credential": "cred-2", "holder": "b", "reach": 50.0,
         "covers": _cov(systems=["idp"]), "expires_at": 12},
        {"kind": "end", "tick": 5, "tickets": {}},
    )
    a.records[0].exposure_horizon = 30
    s = metrics.compute(a)
    assert s["exposure"] == 100 * 30 + 50 * 10  # standing: to the horizon; expiring: to its expiry
    assert s["residual_exposure"] == 150.0  # two agents: their unions add up


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
