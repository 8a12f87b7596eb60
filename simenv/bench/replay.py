"""Replay: re-run the episode an audit log records, and check that its fingerprint matches.

The audit header (``episode`` record) names the scenario, profile, seed, agent and estate
size; shipped names resolve as usual, and ``scenario``/``policy`` overrides point at files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simenv.errors import SimenvError
from simenv.sim.audit import Audit


@dataclass(frozen=True, slots=True)
class Replay:
    """The outcome of a replay."""

    recorded: str
    replayed: str
    first_difference: int | None  # seq of the first record that differs, None if none

    @property
    def ok(self) -> bool:
        return self.recorded == self.replayed


def replay(path: str | Path, scenario: str | None = None, policy: str | None = None) -> Replay:
    """Re-run the episode recorded in ``path`` (a JSONL audit log) and compare fingerprints."""
    from simenv.agents.registry import is_known
    from simenv.api import run_episode

    recorded = Audit.from_jsonl(path)
    try:
        h = recorded.header
    except SimenvError:
        raise SimenvError(f"{path}: not an audit log (no episode header)") from None
    agent = h.agent or "scripted"
    if not is_known(agent):
        raise SimenvError(f"{path}: agent {agent!r} is not a registered agent name, so it cannot be re-created")
    res = run_episode(scenario or h.scenario, policy or h.profile, seed=h.seed, agent=agent, size=h.size)
    diff = next((i for i, (a, b) in enumerate(zip(recorded.records, res.audit.records, strict=False)) if a != b), None)
    if diff is None and len(recorded) != len(res.audit):
        diff = min(len(recorded), len(res.audit))
    return Replay(recorded.fingerprint(), res.audit.fingerprint(), diff)
