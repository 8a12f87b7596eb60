"""The adversarial agent, run over scenarios and profiles with the invariant checker watching every call.

:class:`Adversary` (from :mod:`simenv.agents.adversary`; also ``--agent adversary``) tries what an
agent can send to get past governance; :class:`~simenv.testing.invariants.InvariantChecker`
checks, after every call, that nothing in the world changed without an allow and that the call
has exactly one record. :func:`fuzz` runs both over every shipped scenario and profile::

    from simenv.testing.adversary import fuzz
    report = fuzz(seeds=range(3))
    assert report.ok, report.summary()

or, for the long run, from a shell (exit status 1 if anything was found)::

    python -m simenv.testing.adversary --calls 200000
    python -m simenv.testing.adversary --calls 5000 --scenarios scope_creep --profiles intent_rego --json

``bypasses`` counts breaches of "no world change without an allow" (checks ``bypass``,
``unlogged`` and ``effect``); ``record_violations`` breaches of "exactly one record per call" and
of a whole audit; ``tracebacks`` exceptions that escaped the engine (each one is a bug: bad input
must become an invalid-call decision).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simenv.agents.adversary import WEIGHTS, Adversary

__all__ = ["WEIGHTS", "Adversary", "FuzzReport", "fuzz", "fuzz_episode", "main"]

BYPASS_CHECKS = frozenset({"bypass", "unlogged", "effect", "rollback"})


@dataclass
class FuzzReport:
    """What a fuzz run did and found."""

    episodes: int = 0
    calls: int = 0
    approvals: int = 0
    bypasses: int = 0
    record_violations: int = 0
    tracebacks: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # the first violations, readable
    tactics: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing found: no bypass, no record violation, no traceback."""
        return not (self.bypasses or self.record_violations or self.tracebacks)

    def add(self, other: FuzzReport) -> None:
        """Fold another report into this one."""
        self.episodes += other.episodes
        self.calls += other.calls
        self.approvals += other.approvals
        self.bypasses += other.bypasses
        self.record_violations += other.record_violations
        self.tracebacks += other.tracebacks
        self.findings += other.findings[:max(0, 20 - len(self.findings))]
        self.tactics.update(other.tactics)
        self.outcomes.update(other.outcomes)
        self.seconds += other.seconds

    def summary(self) -> str:
        """One line of counts, then the first findings."""
        head = (f"{self.calls} adversarial calls ({self.approvals} approvals settled) in {self.episodes} episodes, "
                f"{self.seconds:.1f} s: {self.bypasses} bypasses, {self.record_violations} record violations, "
                f"{len(self.tracebacks)} tracebacks")
        return "\n".join([head, *self.findings[:20], *(t[-2000:] for t in self.tracebacks[:3])])

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON."""
        return {"episodes": self.episodes, "calls": self.calls, "approvals": self.approvals,
                "bypasses": self.bypasses, "record_violations": self.record_violations,
                "tracebacks": len(self.tracebacks), "findings": self.findings[:20],
                "tactics": dict(sorted(self.tactics.items())), "outcomes": dict(sorted(self.outcomes.items())),
                "seconds": round(self.seconds, 2)}


def fuzz_episode(scenario: str, profile: str, seed: int, weights: Mapping[str, float] | None = None) -> FuzzReport:
    """One episode of ``scenario`` under ``profile`` with every agent identity an :class:`Adversary`, checked."""
    from simenv.sim.factory import make_episode
    from simenv.testing.invariants import InvariantChecker

    out = FuzzReport(episodes=1)
    t0 = time.perf_counter()
    where = f"{scenario} × {profile} seed {seed}"
    try:
        engine, _ = make_episode(scenario, profile, seed, "adversary")
        agents = [st.agent for st in engine.states if isinstance(st.agent, Adversary)]
        for a in agents:
            a.set_weights(weights or {})
        checker = InvariantChecker(engine)
        try:
            engine.run()
        finally:
            checker.finish()
    except Exception:  # noqa: BLE001 - every exception that escapes the engine is a finding
        out.tracebacks.append(f"{where}: {traceback.format_exc()}")
        out.seconds = time.perf_counter() - t0
        return out
    for v in checker.violations:
        if v.check in BYPASS_CHECKS:
            out.bypasses += 1
        else:
            out.record_violations += 1
        if len(out.findings) < 20:
            out.findings.append(f"{where}: {v.check} (record {v.seq}): {v.detail}")
    out.calls, out.approvals, out.outcomes = checker.calls, checker.approvals, checker.outcomes
    for a in agents:
        out.tactics.update(a.tally)
    out.seconds = time.perf_counter() - t0
    return out


def fuzz(scenarios: Iterable[str] | None = None, profiles: Iterable[str] | None = None, seeds: Iterable[int] = (0,),
         min_calls: int = 0, weights: Mapping[str, float] | None = None) -> FuzzReport:
    """Run :func:`fuzz_episode` over every scenario × profile (shipped ones by default) for each seed.

    With ``min_calls``, seeds continue past ``seeds`` (the next integers) until that many calls were
    made; the run stops at the end of the episode that reaches it.
    """
    from simenv import files

    ss = list(scenarios or files.list_shipped("scenarios"))
    ps = list(profiles or files.list_shipped("policies"))
    report = FuzzReport()
    given = list(seeds)
    extra = itertools.count(max(given, default=-1) + 1)
    for n, seed in enumerate(itertools.chain(given, extra)):
        past = n >= len(given)  # a seed beyond those given: run only until min_calls
        if past and report.calls >= min_calls:
            break
        for s in ss:
            for p in ps:
                report.add(fuzz_episode(s, p, seed, weights))
                if past and report.calls >= min_calls:
                    return report
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simenv.testing.adversary``: the long run. Exit 0 if nothing was found, 1 otherwise."""
    p = argparse.ArgumentParser(prog="python -m simenv.testing.adversary", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--calls", type=int, default=100_000, help="run until this many adversarial calls (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="the first seed (default 0)")
    p.add_argument("--scenarios", nargs="+", help="scenario names or files (default: every shipped one)")
    p.add_argument("--profiles", nargs="+", help="profile names or files (default: every shipped one)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args(argv)
    report = fuzz(a.scenarios, a.profiles, seeds=[a.seed], min_calls=a.calls)
    print(json.dumps(report.to_json(), indent=2) if a.json else report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
