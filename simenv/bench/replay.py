"""Replay: re-run the episode an audit log records, and check that its fingerprint matches.

The audit header (``episode`` record) names the scenario, profile, seed, agent and estate size. A log is data
from anywhere, so it is checked before anything runs, and it never decides which files are opened: its scenario
and profile are used only as *shipped* names, and its agent only as a registered name (never a ``replay:PATH``
or an outside class). An episode run with files of your own replays with ``scenario``/``policy`` naming them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simenv.errors import SimenvError
from simenv.sim.audit import Audit
from simenv.sim.records import RecordKind


@dataclass(frozen=True, slots=True)
class Replay:
    """The outcome of a replay."""

    recorded: str
    replayed: str
    first_difference: int | None  # seq of the first record that differs, None if none
    cut_short: bool = False  # the recorded log has no end record (a run killed mid-way, a file cut short)

    @property
    def ok(self) -> bool:
        return self.recorded == self.replayed


MAX_SIZE = 10_000_000
"""The largest estate size a log may ask for."""


def _header(path: str | Path, recorded: Audit) -> tuple[int, str, str, str, int | None]:
    """``(seed, scenario, profile, agent, size)`` from the log's header, each checked; a bad one is one line."""
    try:
        h = recorded.header
    except SimenvError:
        raise SimenvError(f"{path}: not an audit log (no episode header)") from None
    seed, size = h.seed, h.size
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SimenvError(f"{path}: header: seed {str(seed)[:40]!r} is not a seed (a whole number ≥ 0)")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE):
        raise SimenvError(f"{path}: header: size {str(size)[:40]!r} is not an estate size (0..{MAX_SIZE:,})")
    names = {}
    for field_ in ("scenario", "profile", "agent"):
        v = getattr(h, field_)
        if not isinstance(v, str) or len(v) > 200:
            raise SimenvError(f"{path}: header: {field_} {str(v)[:40]!r} is not a name")
        names[field_] = v
    return seed, names["scenario"], names["profile"], names["agent"], size


def _shipped(path: str | Path, name: str, kind: str, flag: str) -> str:
    from simenv import files

    if files.is_path(name) or name not in files.list_shipped(kind):
        noun = files.NOUNS[kind]
        raise SimenvError(f"{path}: the log names the {noun} {name[:80]!r}, which is not a shipped one; pass "
                          f"{flag} FILE, the file it was run with")
    return name


def replay(path: str | Path, scenario: str | None = None, policy: str | None = None) -> Replay:
    """Re-run the episode recorded in ``path`` (a JSONL audit log) and compare fingerprints.

    ``scenario`` and ``policy`` name the files the episode was run with, when they were not shipped ones; the log
    itself opens nothing.
    """
    from simenv.agents.registry import AGENTS, DEFAULT
    from simenv.api import run_episode

    recorded = Audit.from_jsonl(path)
    seed, h_scenario, h_profile, agent, size = _header(path, recorded)
    agent = agent or DEFAULT
    if agent not in AGENTS:
        raise SimenvError(f"{path}: the log's agent {agent[:80]!r} is not a registered agent name, so it cannot be "
                          f"re-created (a replay re-creates only {', '.join(sorted(AGENTS)[:4])}, ...)")
    res = run_episode(scenario or _shipped(path, h_scenario, "scenarios", "--scenario"),
                      policy or _shipped(path, h_profile, "policies", "--policy"), seed=seed, agent=agent, size=size)
    diff = next((i for i, (a, b) in enumerate(zip(recorded.records, res.audit.records, strict=False)) if a != b), None)
    if diff is None and len(recorded) != len(res.audit):
        diff = min(len(recorded), len(res.audit))
    cut = not recorded.records or recorded.records[-1].kind is not RecordKind.END
    return Replay(recorded.fingerprint(), res.audit.fingerprint(), diff, cut)
