"""Validity checks for scenario files, shipped so that users can run them on their own.

Like PettingZoo's ``api_test``, these are the checks the project runs on every shipped
scenario; run them on yours before you benchmark with it::

    from simenv.testing import check_scenario
    check_scenario("scenarios/my_scenario.yaml")

:func:`check_scenario` checks, in order, that:

1. the file loads (strict schema, references, framework tags);
2. the ``oracle`` agent (the tickets' exact intent) completes every ticket under
   ``allow_all`` with 0 violations attempted, on each seed (a failure names the intent steps
   it could not make: an argument left ``"*"`` that nothing pins down, see
   :mod:`simenv.scenario.oracle`);
3. the ``null`` agent (does nothing) completes no ticket set, on each seed;
4. if the scenario has ``overreach: true``, the default LLM-stub preset (``llm_stub``)
   attempts at least one out-of-intent call under ``allow_all`` over the seeds;
5. Gymnasium's ``check_env`` passes for ``simenv/IAM-v0`` on it under ``allow_all``;
6. the oracle reaches the same outcome in an estate of 10,000 identities (one seed).

The first failed check raises :class:`ScenarioCheckError`, whose message names the
scenario and the check. Importing this module is cheap: the engine, the agents and
Gymnasium are imported when a check runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from simenv.errors import SimenvError

POLICY = "allow_all"
LARGE_SIZE = 10_000


class ScenarioCheckError(SimenvError, AssertionError):
    """A scenario failed a validity check.

    Attributes:
        scenario: the scenario's name (or the path given, if the file does not load).
        check: the short name of the failed check (``loads``, ``oracle``, ``null``,
            ``overreach``, ``check_env``, ``size``).
    """

    def __init__(self, scenario: str, check: str, detail: str):
        self.scenario = scenario
        self.check = check
        super().__init__(f"scenario {scenario!r} fails check {check!r}: {detail}")


def _out_of_intent(result: Any, limit: int = 3) -> str:
    """The first few out-of-intent calls of an episode, readable."""
    from simenv.sim.records import CallRecord
    from simenv.types import Outcome

    calls = [r for r in result.audit.of_kind(CallRecord)
             if not r.in_intent and r.effect is not Outcome.INVALID and r.actor != "attacker"]
    shown = [f"{r.agent} {r.tool}({', '.join(f'{k}={v}' for k, v in r.args.items())})" for r in calls[:limit]]
    return "; ".join(shown) + (" ..." if len(calls) > limit else "")


def _open_tickets(result: Any) -> str:
    """The tickets whose completion predicate does not hold at the end of an episode."""
    end = result.audit.records[-1].tickets
    return ", ".join(sorted(t for t, done in end.items() if not done)) or "none"


def _gaps(spec: Any, path: Path) -> str:
    """The intent steps the oracle leaves out (see :mod:`simenv.scenario.oracle`), as a sentence, or ``""``."""
    from simenv.scenario.builder import build

    gaps = build(spec, 0, path, size=0).oracle_gaps
    return "".join(f"; {g}" for g in gaps)


def check_scenario(name_or_path: str | Path, seeds: Sequence[int] = (0, 1, 2), size: int | None = None,
                   large_size: int | None = LARGE_SIZE) -> None:
    """Run every validity check on one scenario; raise :class:`ScenarioCheckError` on the first failure.

    Args:
        name_or_path: a shipped scenario name or a path to a scenario file.
        seeds: the episode seeds of the oracle, null and LLM-stub checks.
        size: the estate size of those checks (default: the scenario's own).
        large_size: the estate size of the scaling check (run once, on the first seed);
            ``None`` skips it.

    Raises:
        ScenarioCheckError: naming the scenario and the failed check.

    >>> check_scenario("delegated_admin", seeds=(0,), large_size=None)
    """
    from simenv.scenario.loader import load_scenario

    label = str(name_or_path)
    try:
        spec, path = load_scenario(name_or_path)
    except SimenvError as e:
        raise ScenarioCheckError(label, "loads", str(e)) from None
    label = spec.name
    if not seeds:
        raise ScenarioCheckError(label, "seeds", "give at least one seed")

    from simenv.api import run_episode

    def run(agent: str, seed: int, at: int | None = size) -> Any:
        try:
            return run_episode(path, POLICY, seed=seed, agent=agent, size=at)
        except SimenvError as e:
            raise ScenarioCheckError(label, agent, f"seed {seed}: the episode raised {type(e).__name__}: {e}") from None

    for seed in seeds:
        r = run("oracle", seed)
        s = r.scores
        if not s["task_success"] or s["violations_attempted"]:
            raise ScenarioCheckError(label, "oracle", (
                f"under {POLICY}, seed {seed}, the oracle agent should complete every ticket with 0 violations "
                f"attempted; got task_success={s['task_success']} (open: {_open_tickets(r)}), "
                f"violations_attempted={s['violations_attempted']} {_out_of_intent(r)}".rstrip() + _gaps(spec, path)))
    for seed in seeds:
        if run("null", seed).scores["task_success"]:
            raise ScenarioCheckError(label, "null", (
                f"under {POLICY}, seed {seed}, the null agent (no calls) completes the tickets; "
                "their done_when predicates already hold at the start"))
    if spec.overreach:
        stub = [run("llm_stub", seed).scores for seed in seeds]
        if sum(s["violations_attempted"] for s in stub) == 0:
            outside = sum(s.get("attacker_calls_executed") or 0 for s in stub)
            hint = (f"; an outside attacker executed {outside} call(s), which violations_attempted does not count "
                    "(a scenario whose only overreach is an attacker's says overreach: false)") if outside else ""
            raise ScenarioCheckError(label, "overreach", (
                f"the scenario says overreach: true, but the default LLM-stub preset (llm_stub) attempted no "
                f"out-of-intent call under {POLICY} on seeds {list(seeds)}{hint}"))
    _check_env(label, path, size)
    if large_size is not None:
        small = run("oracle", seeds[0])
        large = run("oracle", seeds[0], large_size)
        a = (small.scores["task_success"], small.scores["violations_attempted"])
        b = (large.scores["task_success"], large.scores["violations_attempted"])
        if a != b:
            raise ScenarioCheckError(label, "size", (
                f"the oracle's outcome (task_success, violations_attempted) under {POLICY}, seed {seeds[0]}, is {a} "
                f"at the default size but {b} at size={large_size} (open: {_open_tickets(large)})"))


def _check_env(label: str, path: Path, size: int | None) -> None:
    """Gymnasium's ``check_env`` on ``simenv/IAM-v0`` over the scenario; its warnings count as failures."""
    import warnings

    from gymnasium.utils.env_checker import check_env

    from simenv.envs.iam_env import IAMEnv

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=UserWarning)
            env = IAMEnv(scenario=str(path), policy=POLICY, size=size)
            check_env(env, skip_render_check=True)
    except Exception as e:  # noqa: BLE001 - any failure of the checker is the finding
        raise ScenarioCheckError(label, "check_env", f"{type(e).__name__}: {e}") from None


def check_all_shipped(names: Iterable[str] | None = None, **options: Any) -> list[str]:
    """Run :func:`check_scenario` on every shipped scenario (or ``names``); collect every failure.

    Args:
        names: shipped names or paths (default: every shipped scenario).
        **options: passed on to :func:`check_scenario`.

    Returns:
        The names checked, when all pass.

    Raises:
        ScenarioCheckError: one error listing every failure (check ``all``).
    """
    from simenv import files

    names = files.list_shipped("scenarios") if names is None else list(names)
    failures = []
    for name in names:
        try:
            check_scenario(name, **options)
        except ScenarioCheckError as e:
            failures.append(str(e))
    if failures:
        raise ScenarioCheckError(", ".join(str(n) for n in names), "all", "\n" + "\n".join(failures))
    return [str(n) for n in names]
