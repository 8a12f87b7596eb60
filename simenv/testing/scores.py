"""Validity properties of the scores, shipped so that users can check them on their own scenarios.

A score a security engineer would reject is a bug. :func:`check_scores` runs a scenario under
every shipped profile (or the ones given) and checks the properties every sound scenario and
scoring must have, on each seed:

1. ``deny_all``: ``deny_all`` has task_success 0 and completion_under_policy 0: denying
   everything gets nothing done;
2. ``ceiling``: ``allow_all`` is the ceiling of blast_radius, potential_blast_radius and
   exposure (means over the seeds, for each agent): no profile makes things worse than no
   governance;
3. ``null``: the ``null`` agent (no calls) completes nothing, attempts nothing and damages
   nothing: task_success, completion_under_policy, violations, blast radii, approvals and
   invalid calls are 0 and friction_rate is 1 (or undefined, when no ticket intends anything).
   Its exposure is the profile's standing privilege, which it holds whether it calls or not: 0
   under the profiles that issue credentials on demand;
4. ``oracle``: the ``oracle`` agent (the tickets' exact intent) has blast_radius 0 under every
   profile, when no outside attacker acts.

The first failure raises :class:`ScoreCheckError`, naming the scenario, the property and the
numbers. ``simenv.testing.check_scenario`` checks the scenario file itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simenv.errors import SimenvError

SEEDS = (0, 1, 2, 3, 4)
AGENTS = ("scripted", "llm_stub")
CEILING = ("blast_radius", "potential_blast_radius", "exposure")
NULL_ZERO = ("task_success", "completion_under_policy", "violations_attempted", "violations_executed", "blast_radius",
             "potential_blast_radius", "approvals_requested", "invalid_calls")
ON_DEMAND = ("deny_all", "jit", "jit_approval", "intent_cedar", "intent_rego", "intent_agt", "zero_standing")
"""The shipped profiles that issue no credential before a call asks for one."""


class ScoreCheckError(SimenvError, AssertionError):
    """A scenario's scores break a validity property.

    Attributes:
        scenario: the scenario's name.
        check: the property (``deny_all``, ``ceiling``, ``null``, ``oracle``).
    """

    def __init__(self, scenario: str, check: str, detail: str):
        self.scenario = scenario
        self.check = check
        super().__init__(f"scenario {scenario!r} breaks score property {check!r}: {detail}")


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return sum(float(r[key] or 0) for r in rows) / len(rows)


def check_scores(scenario: str | Path, seeds: Sequence[int] = SEEDS, agents: Sequence[str] = AGENTS,
                 profiles: Sequence[str | Path] | None = None) -> None:
    """Check the validity properties of the module docstring; raise :class:`ScoreCheckError` on the first failure.

    Args:
        scenario: a shipped scenario name or a scenario file.
        seeds: the episode seeds.
        agents: the agents whose scores are compared across profiles.
        profiles: the profiles (default: every shipped one; ``allow_all`` and ``deny_all`` are
            always included).

    >>> check_scores("delegated_admin", seeds=(0,), agents=("scripted",), profiles=("static_rbac",))
    """
    from simenv import files
    from simenv.api import run_episode
    from simenv.scenario.loader import load_scenario

    spec, path = load_scenario(scenario)
    name = spec.name
    names = [str(p) for p in (profiles if profiles is not None else files.list_shipped("policies"))]
    names = list(dict.fromkeys(["allow_all", "deny_all", *names]))
    attacked = any(a.role == "attacker" for a in spec.agents)

    def run(policy: str, seed: int, agent: str) -> dict[str, Any]:
        return run_episode(path, policy, seed=seed, agent=agent).scores

    for agent in agents:
        rows = {p: [run(p, s, agent) for s in seeds] for p in names}
        for r, seed in zip(rows["deny_all"], seeds, strict=True):
            if r["task_success"] or r["completion_under_policy"]:
                raise ScoreCheckError(name, "deny_all", f"deny_all completes the work ({agent}, seed {seed})")
        for key in CEILING:
            top = _mean(rows["allow_all"], key)
            for p in names:
                if _mean(rows[p], key) > top + 1e-9:
                    raise ScoreCheckError(name, "ceiling", f"mean {key} under {p} is {_mean(rows[p], key):.4g}, above "
                                                           f"allow_all's {top:.4g} ({agent}, seeds {list(seeds)})")
    for p in names:
        for seed in seeds:
            z = run(p, seed, "null")
            wrong = {k: z[k] for k in NULL_ZERO if z[k]}
            if attacked:  # an outside attacker's damage is not the agent's
                wrong = {k: v for k, v in wrong.items() if k not in ("blast_radius", "potential_blast_radius")}
            if wrong or z["friction_rate"] not in (1, None) or (p in ON_DEMAND and z["exposure"]):
                raise ScoreCheckError(name, "null", f"under {p}, seed {seed}, the null agent scores {wrong or z}")
            if not attacked:
                o = run(p, seed, "oracle")
                if o["blast_radius"]:
                    raise ScoreCheckError(name, "oracle", f"under {p}, seed {seed}, the oracle's blast_radius is "
                                                          f"{o['blast_radius']}")
