"""The matrix of episodes, and the worker-side function that runs a chunk of them.

A :class:`Task` names one episode by what identifies its row (scenario and profile *names*,
seed, agent label) and carries the references (shipped names or file paths) needed to run
it. :func:`run_chunk` is what an executor runs: it never raises for a failing episode; the
episode becomes a row whose ``error`` says what went wrong.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simenv.metrics import SCORE_NAMES

KEY = ("scenario", "policy", "seed", "agent")
EXECUTOR_ERROR = "executor: "


@dataclass(frozen=True, slots=True)
class Task:
    """One episode of the matrix.

    Attributes:
        scenario: the scenario's name (the ``scenario`` column).
        policy: the profile's name (the ``policy`` column).
        seed: the episode seed.
        agent: the agent label (the ``agent`` column).
        scenario_ref: a shipped name or a file path, as given.
        policy_ref: a shipped name or a file path, as given.
    """

    scenario: str
    policy: str
    seed: int
    agent: str
    scenario_ref: str
    policy_ref: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.scenario, self.policy, self.seed, self.agent)


def agent_label(agent: Any) -> str:
    """The ``agent`` column for an agent argument (as :func:`simenv.sim.factory.agents_for` labels it)."""
    from simenv.agents.registry import DEFAULT

    if agent is None or isinstance(agent, str):
        return agent or DEFAULT
    if isinstance(agent, dict):
        return "custom"
    return getattr(agent, "name", type(agent).__name__)


def _name(ref: str, kind: str) -> str:
    """The name a scenario or profile reference carries in rows; loading it checks it (a bad one raises)."""
    if kind == "scenarios":
        from simenv.scenario.loader import load_scenario

        return load_scenario(ref)[0].name
    from simenv.governance.profile import load_profile

    return load_profile(ref)[0].name


def refs(names: str | Sequence[str | Path], kind: str) -> dict[str, str]:
    """``"all"``, ``"a,b"`` or a list of names/paths → ``{row name: reference}`` in the given order.

    ``all`` may appear among other entries (``all,my.yaml``). Every reference is loaded and checked
    here, before anything runs: an unknown name or an invalid file raises a one-line
    :class:`~simenv.errors.SimenvError` (a :class:`~simenv.errors.SpecError` names the file and field).
    """
    from simenv import files
    from simenv.errors import SimenvError

    raw = [n.strip() for n in names.split(",")] if isinstance(names, str) else [str(n) for n in names]
    items: list[str] = []
    for ref in raw:
        if ref:
            items.extend(files.list_shipped(kind) if ref == "all" else [ref])
    if not items:
        raise SimenvError(f"no {kind} given; name some (a,b), or all")
    out: dict[str, str] = {}
    where: dict[str, tuple[str, Path]] = {}
    for ref in items:
        name = _name(ref, kind)
        path = files.resolve(ref, kind).resolve()
        if name in where and where[name][1] != path:  # rows are keyed by name: two files may not share one
            noun = files.NOUNS[kind]
            raise SimenvError(f"{where[name][0]!r} and {ref!r} are both the {noun} named {name!r}; a sweep's "
                              f"{kind} need distinct names: rename one in its file")
        where.setdefault(name, (ref, path))
        out.setdefault(name, str(path) if files.is_path(ref) else ref)
    return out


def check_agent(agent: Any) -> None:
    """Raise a one-line :class:`~simenv.errors.UnknownNameError` (with a suggestion) for an agent name that cannot be built."""
    if isinstance(agent, str):
        from simenv.agents.registry import factory

        factory(agent)


def matrix(scenarios: dict[str, str], policies: dict[str, str], seeds: Iterable[int], agent: Any) -> list[Task]:
    """Every (scenario, profile, seed) task, scenario-major."""
    label = agent_label(agent)
    seeds = list(seeds)
    return [Task(s, p, int(seed), label, sref, pref)
            for s, sref in scenarios.items() for p, pref in policies.items() for seed in seeds]


def chunked(tasks: Sequence[Task], size: int) -> list[list[Task]]:
    """Consecutive chunks of at most ``size`` tasks."""
    size = max(1, int(size))
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def error_row(task: Task, error: str) -> dict[str, Any]:
    """The row of an episode that did not produce scores."""
    return {**dict(zip(KEY, task.key, strict=True)), **{k: None for k in SCORE_NAMES}, "error": error, "wall_s": None}


def describe(e: BaseException) -> str:
    """A one-line description of an exception (a SpecError keeps its file:field lines)."""
    from simenv.errors import SpecError

    text = e.render() if isinstance(e, SpecError) else str(e)
    return f"{type(e).__name__}: {text}".strip()


def run_task(task: Task, agent: Any = None, size: int | None = None, audit_dir: str | None = None) -> dict[str, Any]:
    """Run one episode; any exception becomes an error row.

    With ``audit_dir`` (a results folder), the episode's audit log is written there too, at
    :func:`simenv.bench.shards.audit_path`.
    """
    from simenv.api import run_episode

    t0 = time.perf_counter()
    try:
        fresh = agent if agent is None or isinstance(agent, str) else copy.deepcopy(agent)
        res = run_episode(task.scenario_ref, task.policy_ref, seed=task.seed, agent=fresh, size=size)
        if audit_dir is not None:
            from simenv.bench.store import atomic_write, audit_path
            from simenv.sim.records import line

            text = "".join(line(r) + "\n" for r in res.audit)
            atomic_write(audit_path(Path(audit_dir), *task.key[:2], task.agent, task.seed), text.encode())
    except Exception as e:  # noqa: BLE001 - a failing episode is a row, not a failed sweep
        return error_row(task, describe(e))
    row = {**dict(zip(KEY, task.key, strict=True)), **res.scores, "error": None}
    row["wall_s"] = round(time.perf_counter() - t0, 6)
    return row


def run_chunk(tasks: list[Task], agent: Any = None, size: int | None = None,
              audit_dir: str | None = None) -> list[dict[str, Any]]:
    """Run a chunk of episodes in order (what an executor runs); ``audit_dir`` as in :func:`run_task`."""
    return [run_task(t, agent, size, audit_dir) for t in tasks]
