"""The data behind the report's ranking tables: order, tails, and the commands that reproduce a row.

Profiles are ranked on mean blast radius (lower is better) within each scenario and over all
scenarios (``*``), per agent; ties share a rank, and the baselines (``deny_all``, the lock-down
floor, and ``allow_all``, the no-governance ceiling) are shown in place but not ranked. Beside
the means and IQMs of :func:`simenv.bench.stats.summarize` come the tail of blast radius over
episodes (the 90th percentile and the worst episode, with its scenario and seed), and two
commands read from ``matrix.json``: the ``simenv bench`` that reproduces the row and the
``simenv run`` that replays its worst episode.

Nothing here imports matplotlib; :mod:`simenv.bench.plots` draws and :mod:`simenv.bench.report`
writes HTML.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import numpy as np

from simenv.bench.stats import ALL, DIRECTIONS, as_float

RANKED_BY = "blast_radius"
TIE_BREAK = "completion_under_policy"
BASELINES = {"deny_all": "baseline: the lock-down floor (denies everything)",
             "allow_all": "baseline: the no-governance ceiling (allows everything)"}
TABLE_SCORES = ("blast_radius", "potential_blast_radius", "exposure", "completion_under_policy", "task_success",
                "friction_rate", "scope_violation_rate", "approval_wait_ticks")
UNITS = {
    "blast_radius": "sensitivity-weighted resources",
    "potential_blast_radius": "sensitivity-weighted resources",
    "exposure": "weight × ticks",
    "residual_exposure": "sensitivity-weighted resources",
    "completion_under_policy": "fraction of episodes",
    "task_success": "fraction of episodes",
    "friction_rate": "fraction of intended actions",
    "scope_violation_rate": "executed ÷ attempted",
    "approval_wait_ticks": "ticks",
    "violations_executed": "calls",
    "false_denials": "calls",
    "error_rate": "fraction of episodes",
}
# Why a score can have no value, for the report's explanation of an all-undefined row or column.
UNDEFINED_WHY = {
    "scope_violation_rate": "no agent attempted an out-of-intent call, so executed ÷ attempted has no value "
                            "(an outside attacker's calls are not agent attempts; blast radius counts their damage)",
    "time_to_revoke": "nothing out of intent was attempted, or no monitor responded",
}
TAIL_QUANTILE = 0.9
STATS = ("mean", "mean_lo", "mean_hi", "iqm", "iqm_lo", "iqm_hi", "n")


def arrow(score: str) -> str:
    """``↓`` when lower is better, ``↑`` when higher is better, ``""`` when neither.

    >>> arrow("blast_radius"), arrow("task_success"), arrow("ticks")
    ('↓', '↑', '')
    """
    return {1: "↓", -1: "↑"}.get(DIRECTIONS.get(score, 0), "")


def better(score: str) -> str:
    """``"lower is better"``, ``"higher is better"`` or ``""``."""
    return {1: "lower is better", -1: "higher is better"}.get(DIRECTIONS.get(score, 0), "")


def label(policy: str, agent: str, agents: int) -> str:
    """How a profile is named in plots: the profile alone, or ``profile [agent]`` when several agents ran."""
    return str(policy) if agents <= 1 else f"{policy} [{agent}]"


def tail_quantile(values: Any, q: float = TAIL_QUANTILE) -> float:
    """The smallest observed value that at least ``q`` of the defined values do not exceed (NaN if none).

    This is the empirical (inverted-CDF) quantile, so it is always a value some episode had.

    >>> tail_quantile([0, 0, 0, 0, 0, 0, 0, 0, 3, 25])
    3.0
    >>> tail_quantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 25])
    0.0
    """
    x = as_float(values)
    x = x[~np.isnan(x)]
    return float(np.quantile(x, q, method="inverted_cdf")) if len(x) else float("nan")


def _ok(episodes):
    return episodes[episodes["error"].isna()] if "error" in episodes.columns else episodes


def tails(episodes, score: str = RANKED_BY, q: float = TAIL_QUANTILE):
    """Per (scenario, policy, agent), and over all scenarios (``*``): the tail of ``score`` over episodes.

    Columns: scenario, policy, agent, n (defined values), p90 (:func:`tail_quantile` at ``q``),
    worst (the worst value by the score's direction), worst_scenario and worst_seed (the first
    episode, in scenario then seed order, that has it), worst_count (how many episodes have it).
    Failed episodes are left out.
    """
    import pandas as pd

    ok = _ok(episodes)
    sign = DIRECTIONS.get(score, 1)
    order = {s: i for i, s in enumerate(dict.fromkeys(episodes["scenario"]))}
    out: list[dict[str, Any]] = []
    for (policy, agent), g in ok.groupby(["policy", "agent"], sort=False):
        g = g.assign(_s=g["scenario"].map(order)).sort_values(["_s", "seed"], kind="stable")
        cells = [(s, c) for s, c in g.groupby("scenario", sort=False)]
        if len(cells) > 1:
            cells.append((ALL, g))
        for scenario, c in cells:
            x = as_float(c[score])
            defined = ~np.isnan(x)
            row: dict[str, Any] = {"scenario": scenario, "policy": policy, "agent": agent, "n": int(defined.sum()),
                                   "p90": tail_quantile(x, q), "worst": float("nan"), "worst_scenario": None,
                                   "worst_seed": None, "worst_count": 0}
            if defined.any():
                i = int(np.argmax(np.where(defined, sign * x, -np.inf)))
                row.update(worst=float(x[i]), worst_scenario=str(c["scenario"].iloc[i]), worst_seed=int(c["seed"].iloc[i]),
                           worst_count=int(np.sum(x[defined] == x[i])))
            out.append(row)
    return pd.DataFrame(out, columns=["scenario", "policy", "agent", "n", "p90", "worst", "worst_scenario", "worst_seed",
                                     "worst_count"])


def _ref(manifest: dict[str, Any], kind: str, name: str) -> str:
    return str(manifest.get(kind, {}).get(name, name))


def _agent_arg(agent: str) -> str | None:
    from simenv.agents.registry import is_known

    return agent if is_known(agent) else None


def _size(manifest: dict[str, Any]) -> list[str]:
    size = manifest.get("size")
    return ["--size", str(int(size))] if size is not None else []


def bench_command(manifest: dict[str, Any], scenarios: Sequence[str], policy: str, agent: str,
                  seeds: Sequence[int], out: str = "repro") -> str | None:
    """The command that re-runs exactly these episodes (``None`` when the agent was an object).

    Scenario and profile references (shipped names or file paths) come from ``matrix.json``; every
    shipped scenario, by name, becomes ``all``. ``simenv bench`` runs seeds ``0..N-1``; other seed
    sets get the equivalent :func:`simenv.run_matrix` call.

    >>> bench_command({"scenarios": {"a": "a"}}, ["a"], "jit", "llm_stub", [0, 1, 2])
    'simenv bench --scenarios a --policies jit --agent llm_stub --seeds 3 --out repro'
    >>> print(bench_command({}, ["a"], "jit", "llm_stub", [4, 7]))
    python -c 'import simenv; simenv.run_matrix(["a"], ["jit"], seeds=[4, 7], agent="llm_stub", size=None, out="repro")'
    """
    import json

    from simenv import files

    arg = _agent_arg(agent)
    if arg is None:
        return None
    refs = [_ref(manifest, "scenarios", s) for s in scenarios]
    pref = _ref(manifest, "policies", policy)
    seeds = sorted(int(s) for s in seeds)
    if seeds != list(range(len(seeds))):
        call = (f"import simenv; simenv.run_matrix({json.dumps(refs)}, {json.dumps([pref])}, seeds={seeds}, "
                f"agent={json.dumps(arg)}, size={manifest.get('size')!r}, out={json.dumps(out)})")
        return shlex.join(["python", "-c", call])
    shipped = files.list_shipped("scenarios")
    which = "all" if len(refs) > 1 and refs == shipped else ",".join(refs)  # same scenarios, same order
    return shlex.join(["simenv", "bench", "--scenarios", which, "--policies", pref, "--agent", arg, "--seeds", str(len(seeds)),
                       *_size(manifest), "--out", out])


def run_command(manifest: dict[str, Any], scenario: str, policy: str, seed: int, agent: str) -> str | None:
    """The ``simenv run`` that replays one episode (``None`` when the agent was an object).

    >>> run_command({"size": 10000}, "scope_creep", "jit", 3, "llm_stub")
    'simenv run scope_creep --policy jit --seed 3 --agent llm_stub --size 10000'
    """
    arg = _agent_arg(agent)
    if arg is None:
        return None
    return shlex.join(["simenv", "run", _ref(manifest, "scenarios", scenario), "--policy",
                       _ref(manifest, "policies", policy), "--seed", str(int(seed)), "--agent", arg, *_size(manifest)])


def ranking(summary, episodes, manifest: dict[str, Any] | None = None, scores: Sequence[str] = TABLE_SCORES):
    """One row per (scenario, policy, agent), ranked on mean blast radius within each (scenario, agent).

    Columns: scenario, agent, policy, rank (1 = lowest mean blast radius among the profiles that
    are not baselines; ties share the best rank; NaN for a baseline), baseline (its role, or
    ``""``), episodes, errors, then ``SCORE.STAT`` for every score in ``scores`` and every stat of
    the summary (mean, mean_lo, mean_hi, iqm, iqm_lo, iqm_hi, n), then the blast-radius tail
    (p90, worst, worst_scenario, worst_seed, worst_count) and the commands (bench_command, run_command: the
    worst episode's). Rows come scenario by scenario (``*`` first), best first; equal blast
    radii are ordered by completion under policy, then by name.
    """
    import pandas as pd

    manifest = manifest or {}
    tail = {(r["scenario"], r["policy"], r["agent"]): r for r in tails(episodes).to_dict("records")}
    seeds: dict[tuple[str, str, str], list[int]] = {}
    for (s, p, a), g in episodes.groupby(["scenario", "policy", "agent"], sort=False):
        seeds[(s, p, a)] = sorted(int(x) for x in g["seed"])
    scen_of: dict[tuple[str, str], list[str]] = {}
    for (p, a), g in episodes.groupby(["policy", "agent"], sort=False):
        scen_of[(p, a)] = list(dict.fromkeys(g["scenario"]))
    order = list(dict.fromkeys(summary["scenario"]))
    order = [ALL, *[s for s in order if s != ALL]] if ALL in order else order
    rows: list[dict[str, Any]] = []
    for scenario in order:
        cell = summary[summary["scenario"] == scenario]
        for agent, by_agent in cell.groupby("agent", sort=False):
            group = []
            for policy, g in by_agent.groupby("policy", sort=False):
                by = {r["score"]: r for r in g.to_dict("records")}
                err = by.get("error_rate")
                n_ep = int(err["n"]) if err is not None else 0
                row: dict[str, Any] = {"scenario": scenario, "agent": agent, "policy": policy, "rank": np.nan,
                                       "baseline": BASELINES.get(str(policy), ""), "episodes": n_ep,
                                       "errors": int(round(float(err["mean"]) * n_ep)) if err is not None and n_ep else 0}
                for s in scores:
                    for stat in STATS:
                        row[f"{s}.{stat}"] = float(by[s][stat]) if s in by else np.nan
                t = tail.get((scenario, policy, agent), {})
                row.update({"p90": t.get("p90", np.nan), "worst": t.get("worst", np.nan),
                            "worst_scenario": t.get("worst_scenario"), "worst_seed": t.get("worst_seed"),
                            "worst_count": t.get("worst_count", 0)})
                members = scen_of.get((policy, agent), []) if scenario == ALL else [scenario]
                cell_seeds = sorted({x for m in members for x in seeds.get((m, policy, agent), [])})
                row["bench_command"] = bench_command(manifest, members, policy, agent, cell_seeds) if members else None
                row["run_command"] = (run_command(manifest, t["worst_scenario"], policy, t["worst_seed"], agent)
                                      if t.get("worst_seed") is not None else None)
                group.append(row)
            group.sort(key=_sort_key)
            candidates = [round(r[f"{RANKED_BY}.mean"], 9) for r in group
                          if not r["baseline"] and not np.isnan(r[f"{RANKED_BY}.mean"])]
            for r in group:
                v = r[f"{RANKED_BY}.mean"]
                if not r["baseline"] and not np.isnan(v):
                    r["rank"] = 1 + sum(1 for c in candidates if c < round(v, 9))
            rows.extend(group)
    cols = ["scenario", "agent", "policy", "rank", "baseline", "episodes", "errors",
            *[f"{s}.{stat}" for s in scores for stat in STATS], "p90", "worst", "worst_scenario", "worst_seed",
            "worst_count", "bench_command", "run_command"]
    return pd.DataFrame(rows, columns=cols)


def _sort_key(r: dict[str, Any]) -> tuple[float, float, str]:
    br, cup = r[f"{RANKED_BY}.mean"], r.get(f"{TIE_BREAK}.mean", np.nan)
    return (np.inf if np.isnan(br) else round(br, 9), np.inf if np.isnan(cup) else -round(cup, 9), str(r["policy"]))


def representative_scenario(summary, score: str = "exposure") -> tuple[str | None, float]:
    """The scenario whose per-profile means of ``score`` best agree with the all-scenario order.

    Agreement is Spearman's rank correlation between a scenario's profile means and the ``*``
    means (ties first in results order). With a single scenario, that one (correlation NaN).
    """
    import pandas as pd

    rows = summary[summary["score"] == score]
    scenarios = [s for s in dict.fromkeys(rows["scenario"]) if s != ALL]
    if not scenarios:
        return None, float("nan")
    top = rows[rows["scenario"] == ALL]
    if top.empty or len(scenarios) == 1:
        return scenarios[0], float("nan")
    overall = top.groupby(["policy", "agent"], sort=False)["mean"].first()
    best, best_rho = scenarios[0], -np.inf
    for s in scenarios:
        here = rows[rows["scenario"] == s].groupby(["policy", "agent"], sort=False)["mean"].first()
        both = pd.concat([here, overall], axis=1, keys=["s", "all"]).dropna()
        if len(both) < 2 or both["s"].nunique() < 2 or both["all"].nunique() < 2:
            continue
        rho = float(both["s"].rank().corr(both["all"].rank()))
        if rho > best_rho:
            best, best_rho = s, rho
    return best, (best_rho if np.isfinite(best_rho) else float("nan"))
