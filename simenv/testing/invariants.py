"""An invariant checker that watches one episode call by call: no bypass, one record per call, a whole audit.

Attach it to an :class:`~simenv.sim.engine.Engine` before the episode runs::

    from simenv.testing.invariants import InvariantChecker
    checker = InvariantChecker(engine)
    engine.run()
    checker.finish()
    assert not checker.violations, checker.violations

It wraps, on that engine's objects only, the mediator's three entry points (``handle``,
``resolve_approval``, ``unresolved``), the episode's one way to change the world
(``EpisodeState.apply``, to log every change and its cause) and the authorizer (to see what it
really answered). Around each call it takes a snapshot of the world read straight from its
structures (the grants each identity holds, resource attributes, credentials, lifecycle
statuses; not the world's own fingerprint, which a change made behind ``apply``'s back would not
show), and checks:

* ``records``: the call has exactly one ``call`` or ``control`` record (an approval, exactly one
  ``approval`` record naming the call it settles), and it is the record the mediator returned;
  any other approval record settles a call that was pending;
* ``bypass``: every change has a cause that its record allows: a tool's effect (``call``) and the
  broker's issue of a proposed credential (``broker.issue``) only when the authorizer answered
  allow for it and the record says allow (and, for ``call``, executed); a monitor's revocation
  only with the monitor record that lists it; a ticket's closing revocations only with a
  ``control`` record; between calls, only scheduled events and rollbacks;
* ``effect``: a tool's changes are exactly the changes its record lists;
* ``unlogged``: the world after the call is the world before it with exactly the logged changes
  applied (replayed on the snapshot, independently of :meth:`World.apply`): nothing changed
  that ``apply`` did not change;
* ``rollback``: a rollback applies exactly the inverses of calls that were undoable, newest last
  undone whole;
* at :meth:`finish`: ``audit``: sequence numbers are contiguous, every pending call has exactly
  one approval record, one ``end`` record closes the log with the world's fingerprint, and
  :func:`simenv.metrics.audit_complete` holds.

Each breach is a :class:`Violation` in :attr:`InvariantChecker.violations`; the checker never
raises, so a run reports every breach it finds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simenv.sim.engine import Engine
from simenv.sim.records import ApprovalRecord, CallRecord, ControlRecord, EndRecord, MonitorRecord
from simenv.sim.render import describe
from simenv.sim.state import AgentState
from simenv.types import EXECUTED, Effect, Outcome, ToolCall, cred_label
from simenv.world.changes import AttrChange, Change, CredChange, GrantChange, StatusChange
from simenv.world.state import World


@dataclass(frozen=True, slots=True)
class Violation:
    """One breach of an invariant: which check, the record it concerns (if any), and what was seen."""

    check: str
    seq: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The world's state read from its structures (see the module docstring)."""

    grants: frozenset[tuple[int, int]]
    attrs: dict[tuple[int, str], Any]
    creds: dict[int, Any]
    status: dict[str, frozenset[int]]

    @staticmethod
    def of(w: World) -> Snapshot:
        return Snapshot(frozenset((i, r) for i, rs in w.by_identity.items() for r in rs), dict(w.attrs), dict(w.creds),
                        {k: frozenset(v) for k, v in w.status.items()})

    def replay(self, changes: Sequence[Change]) -> Snapshot:
        """The state with ``changes`` applied (a second, plain implementation of what ``World.apply`` does)."""
        if not changes:
            return self
        grants, attrs, creds = set(self.grants), dict(self.attrs), dict(self.creds)
        status = {k: set(v) for k, v in self.status.items()}
        for c in changes:
            if isinstance(c, GrantChange):
                (grants.add if c.present else grants.discard)((c.identity, c.resource))
            elif isinstance(c, AttrChange):
                if c.new is None:
                    attrs.pop((c.resource, c.key), None)
                else:
                    attrs[(c.resource, c.key)] = c.new
            elif isinstance(c, CredChange):
                if c.new is None:
                    creds.pop(c.cid, None)
                else:
                    creds[c.cid] = c.new
            elif isinstance(c, StatusChange):
                (status[c.status].add if c.present else status[c.status].discard)(c.identity)
        return Snapshot(frozenset(grants), attrs, creds, {k: frozenset(v) for k, v in status.items()})

    def diff(self, other: Snapshot) -> str:
        """A short account of how ``other`` differs from this state."""
        out = []
        if self.grants != other.grants:
            out.append(f"grants +{sorted(other.grants - self.grants)[:3]} -{sorted(self.grants - other.grants)[:3]}")
        keys = sorted({k for k in (*self.attrs, *other.attrs) if self.attrs.get(k) != other.attrs.get(k)}, key=str)
        if keys:
            out.append(f"attrs {keys[:3]}")
        cids = sorted(c for c in {*self.creds, *other.creds} if self.creds.get(c) != other.creds.get(c))
        if cids:
            out.append(f"credentials {[cred_label(c) for c in cids[:3]]}")
        if self.status != other.status:
            out.append("statuses")
        return "; ".join(out)


def _revocation(c: Change) -> bool:
    return isinstance(c, CredChange) and c.old is not None and c.new is not None and not c.old.revoked \
        and c.new == c.old.revoke()


class _WatchedAuthorizer:
    """The profile's authorizer, with every effect it answers noted for the checker."""

    def __init__(self, inner: Any, answers: list[Effect]):
        self._inner = inner
        self._answers = answers
        self.name = getattr(inner, "name", type(inner).__name__)

    def prepare(self, *args: Any, **kw: Any) -> Any:
        return self._inner.prepare(*args, **kw)

    def authorize(self, req: Any) -> Any:
        dec = self._inner.authorize(req)
        self._answers.append(dec.effect)
        return dec

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class InvariantChecker:
    """Watches one engine (see the module docstring).

    Attributes:
        violations: every breach found so far.
        calls: calls mediated (``handle``), approvals settled (``approvals``).
        outcomes: how many calls ended in each outcome (``control`` for a closed ticket).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        ep = self.ep = engine.state
        m = engine.mediator
        self.violations: list[Violation] = []
        self.calls = 0
        self.approvals = 0
        self.outcomes: Counter[str] = Counter()
        self._log: list[tuple[str, list[Change]]] = []
        self._answers: list[Effect] = []
        self._depth = 0
        self._settled: set[int] = set()
        self._nested: list[int] = []  # call seqs settled by an ``unresolved`` inside another operation
        self._snap = Snapshot.of(ep.world)
        self._undo = dict(ep.undo)
        self._mark = 0  # the log position the last operation ended at
        self._handle, self._resolve, self._unresolved = m.handle, m.resolve_approval, m.unresolved
        m.handle, m.resolve_approval, m.unresolved = self.handle, self.resolve_approval, self.unresolved  # type: ignore[method-assign]
        self._apply = ep.apply
        ep.apply = self._logged_apply  # type: ignore[method-assign]
        m.gov.authorizer = _WatchedAuthorizer(m.gov.authorizer, self._answers)

    # ------------------------------------------------------------------ wrapped entry points
    def _logged_apply(self, changes: Sequence[Change], cause: str) -> list[Change]:
        inverses = self._apply(changes, cause)
        if changes:
            self._log.append((cause, list(changes)))
        return inverses

    def handle(self, st: AgentState, call: ToolCall) -> Any:
        """The mediator's ``handle``, checked."""
        return self._op(st, lambda: self._handle(st, call), "call")

    def resolve_approval(self, st: AgentState) -> Any:
        """The mediator's ``resolve_approval``, checked."""
        seq = st.pending.seq if st.pending is not None else None
        return self._op(st, lambda: self._resolve(st), "approval", seq)

    def unresolved(self, st: AgentState, *args: Any, **kw: Any) -> Any:
        """The mediator's ``unresolved``, checked."""
        seq = st.pending.seq if st.pending is not None else None
        if self._depth:  # inside another call (a monitor halted this agent): that call's check sees its record
            rec = self._unresolved(st, *args, **kw)
            self._nested.append(rec.call_seq)
            if rec.call_seq != seq:
                self._flag("records", rec.seq, f"unresolved settled call {rec.call_seq}, not the pending {seq}")
            return rec
        return self._op(st, lambda: self._unresolved(st, *args, **kw), "unresolved", seq)

    def _op(self, st: AgentState, run: Any, kind: str, pending: int | None = None) -> Any:
        self._between()
        audit = self.ep.audit
        n, log0, ans0 = len(audit), len(self._log), len(self._answers)
        self._nested.clear()
        self._depth += 1
        try:
            rec = run()
        finally:
            self._depth -= 1
        try:
            self._check(st, kind, rec, audit.records[n:], self._log[log0:], self._answers[ans0:], pending)
        except Exception as e:  # noqa: BLE001 - a checker that breaks is itself a finding
            self._flag("checker", getattr(rec, "seq", None), f"{type(e).__name__}: {e}")
        self._snap, self._undo, self._mark = Snapshot.of(self.ep.world), dict(self.ep.undo), len(self._log)
        return rec

    # ------------------------------------------------------------------ the checks
    def _flag(self, check: str, seq: int | None, detail: str) -> None:
        self.violations.append(Violation(check, seq, detail[:500]))

    def _between(self) -> None:
        """What changed since the last operation: only scheduled events and rollbacks may have changed anything."""
        entries = self._log[self._mark:]
        changes: list[Change] = []
        undo = dict(self._undo)
        for cause, batch in entries:
            changes += batch
            if cause == "rollback":
                match = next((s for s, e in undo.items() if list(reversed(e.inverses)) == batch and e.reversible), None)
                if match is None:
                    self._flag("rollback", None, f"a rollback applied {len(batch)} changes that undo no undoable call")
                else:
                    del undo[match]
            elif not cause.startswith("event."):
                self._flag("bypass", None, f"{cause!r} changed the world outside any call: {batch[:2]}")
        now = Snapshot.of(self.ep.world)
        expected = self._snap.replay(changes)
        if now != expected:
            self._flag("unlogged", None, f"between calls (tick {self.ep.tick}): {expected.diff(now)}")
        self._snap, self._undo, self._mark = now, dict(self.ep.undo), len(self._log)

    def _check(self, st: AgentState, kind: str, rec: Any, new: list[Any], log: list[tuple[str, list[Change]]],
               answers: list[Effect], pending: int | None) -> None:
        ep = self.ep
        seq = getattr(rec, "seq", None)
        if kind == "call":
            self.calls += 1
            mains = [r for r in new if type(r) in (CallRecord, ControlRecord)]
            self.outcomes["control" if type(rec) is ControlRecord else str(rec.effect)] += 1
        else:
            self.approvals += 1
            mains = [r for r in new if type(r) is ApprovalRecord and r.call_seq not in self._nested]
            if type(rec) is ApprovalRecord and rec.call_seq != pending:
                self._flag("records", seq, f"{kind} settled call {rec.call_seq}, not the pending {pending}")
            if kind == "unresolved" and (rec.effect is not Outcome.UNRESOLVED or log):
                self._flag("records", seq, f"an unresolved approval ended {rec.effect} with {len(log)} changes")
        if len(mains) != 1 or mains[0] is not rec:
            kinds = [type(r).__name__ for r in mains]
            self._flag("records", seq, f"{kind} of {st.name} left {len(mains)} records of its own ({kinds})")
        if seq is None or seq >= len(ep.audit.records) or ep.audit.records[seq] is not rec or rec.agent != st.name:
            self._flag("records", seq, f"the record of {st.name}'s {kind} is not where its seq says, or names another agent")
        for r in new:
            if type(r) is ApprovalRecord:
                if r.call_seq in self._settled:
                    self._flag("records", r.seq, f"call {r.call_seq} settled twice")
                target = ep.audit.records[r.call_seq] if 0 <= r.call_seq < len(ep.audit.records) else None
                if type(target) is not CallRecord or target.effect is not Outcome.PENDING:
                    self._flag("records", r.seq, f"approval record for call {r.call_seq}, which was not pending")
                self._settled.add(r.call_seq)
        allowed = type(rec) in (CallRecord, ApprovalRecord) and rec.decision is Effect.ALLOW \
            and bool(answers) and answers[-1] is Effect.ALLOW and (type(rec) is not ApprovalRecord or rec.granted)
        revoked = {c for r in new if type(r) is MonitorRecord for c in r.revoked}
        changes: list[Change] = []
        for cause, batch in log:
            changes += batch
            if cause == "call":
                if not allowed or rec.effect not in EXECUTED:
                    self._flag("bypass", seq, f"the tool changed the world on a {getattr(rec, 'decision', rec.kind)}/"
                                              f"{getattr(rec, 'effect', '')} "
                                              f"(authorizer said {[str(a) for a in answers]})")
                elif [describe(ep.world, c) for c in batch] != rec.changes:
                    self._flag("effect", seq, "the changes applied are not the changes the record lists")
            elif cause == "broker.issue":
                who = ep.who(st)
                if not allowed:
                    self._flag("bypass", seq, "a credential was issued for a call that was not allowed "
                                              f"({getattr(rec, 'decision', rec.kind)})")
                if not all(isinstance(c, CredChange) and c.old is None and c.new is not None and c.new.holder == who
                           for c in batch):
                    self._flag("bypass", seq, "the broker's issue is not a new credential for the caller")
            elif cause.startswith("monitor."):
                if not all(_revocation(c) and cred_label(c.cid) in revoked for c in batch):  # type: ignore[union-attr]
                    self._flag("bypass", seq, f"{cause} changed more than the revocations its record lists")
            elif cause in ("ticket.complete", "ticket.abort"):
                if type(rec) is not ControlRecord or f"ticket.{rec.op}" != cause or not all(map(_revocation, batch)):
                    self._flag("bypass", seq, f"{cause} changed the world beyond revoking the ticket's credentials")
            else:
                self._flag("bypass", seq, f"unexpected cause {cause!r} inside a {kind}")
        now = Snapshot.of(ep.world)
        expected = self._snap.replay(changes)
        if now != expected:
            self._flag("unlogged", seq, f"{kind} of {st.name}: {expected.diff(now)}")

    # ------------------------------------------------------------------ the end
    def finish(self) -> list[Violation]:
        """End the episode if it has not ended, check the whole log, and return every violation found."""
        from simenv import metrics

        if not self.engine.finished:
            self.engine.finish()
        self._between()
        recs = self.ep.audit.records
        if any(r.seq != i for i, r in enumerate(recs)):
            self._flag("audit", None, "sequence numbers are not contiguous")
        ends = [r for r in recs if type(r) is EndRecord]
        if len(ends) != 1 or recs[-1] is not ends[0]:
            self._flag("audit", None, f"{len(ends)} end records, the last record is a {type(recs[-1]).__name__}")
        elif ends[0].world_fingerprint != self.ep.world.fingerprint():
            self._flag("audit", None, "the end record's fingerprint is not the world's")
        pending = [r.seq for r in recs if type(r) is CallRecord and r.effect is Outcome.PENDING]
        settled = Counter(r.call_seq for r in recs if type(r) is ApprovalRecord)
        for s in pending:
            if settled[s] != 1:
                self._flag("audit", s, f"pending call {s} has {settled[s]} approval records")
        for s in settled.keys() - set(pending):
            self._flag("audit", s, f"an approval record settles call {s}, which was never pending")
        if not metrics.audit_complete(self.ep.audit):
            self._flag("audit", None, "metrics.audit_complete is false")
        return self.violations
