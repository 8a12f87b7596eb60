"""The state one episode owns: the world, the audit log, the credential ledger, the agents, the tick.

:class:`EpisodeState` is the one owner; the mediator, the tick loop, incidents and oversight
work on it through its public methods. Only :meth:`EpisodeState.apply` changes the world.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from simenv.agents.base import Agent, LastResult
from simenv.frozen import fast_init
from simenv.governance.protocols import ApprovalOutcome
from simenv.governance.request import AccessRequest
from simenv.governance.views import EstateView
from simenv.sim.audit import Audit
from simenv.sim.ledger import CredentialLedger
from simenv.types import CredId
from simenv.world.catalog import ResolvedCall
from simenv.world.changes import Change
from simenv.world.model import NO_TRUTH, Credential, DeclaredScope, DoneWhen, Ticket, TicketTruth
from simenv.world.state import World


@dataclass(slots=True)
class TickStats:
    """Counters of one agent over the current tick (the envs' rewards read them)."""

    violation_weight: float = 0.0
    completed: int = 0
    denied: int = 0
    invalid: int = 0
    calls: int = 0


@dataclass(slots=True)
class Pending:
    """A call waiting for approval: what the mediator needs to re-enter at ``execute``.

    ``proposed`` marks a credential the broker proposed for the call and never issued (a JIT
    credential is issued only once the call may go ahead); ``justification`` is the agent's.
    """

    seq: int
    call: ResolvedCall
    cred: Credential
    proposed: bool
    ticket: Ticket | None
    request: AccessRequest
    submitted: int
    outcome: ApprovalOutcome
    justification: str | None = None


@dataclass
class AgentState:
    """The engine's book-keeping for one agent (or one outside attacker)."""

    idx: int
    name: str
    agent: Agent
    queue: list[Ticket]
    current: Ticket | None = None
    session: int = 0
    pending: Pending | None = None
    halted: bool = False
    last: LastResult | None = None
    stats: TickStats = field(default_factory=TickStats)
    attacker: bool = False
    impersonates: int | None = None
    stolen: CredId | None = None
    quarantined_until: int = 0  # a monitor's quarantine: no credential is issued before this tick
    release_by_approval: bool = False  # a monitor's quarantine that only an approver lifts
    refusals: deque[int] = field(default_factory=deque)  # ticks of its recent refused calls (what a reviewer sees)

    @property
    def done(self) -> bool:
        """No open or future ticket, or halted."""
        return self.halted or (self.current is None and not self.queue)


@fast_init
@dataclass(frozen=True, slots=True)
class UndoEntry:
    """What rolling back one executed call takes: its inverses, newest last, and how to select it."""

    seq: int  # the call's own record
    tick: int  # when it executed
    flags: tuple[str, ...]  # the discrepancies its request showed (what a responder selects on)
    reversible: bool
    inverses: tuple[Change, ...]


ATTACK_TICKET = Ticket("attack", -1, None, "", DeclaredScope(frozenset(), frozenset()))


class EpisodeState:
    """Everything one episode owns.

    Args:
        world: the estate, mutated only through :meth:`apply`.
        truth: each ticket's ground truth (intent, completion predicate), for scoring only.
        agents: the agents' states, in the scenario's order.
        attackers: outside attackers' states, by name.
        templates: tickets that open only when delegated (``on_invoke``).
        max_ticks: the episode's tick limit.
    """

    def __init__(self, world: World, truth: Mapping[str, TicketTruth], agents: Sequence[AgentState],
                 attackers: Mapping[str, AgentState], templates: Sequence[Ticket], max_ticks: int):
        self.world = world
        self.estate = EstateView(world)
        self.truth = truth
        self.audit = Audit()
        self.agents = list(agents)
        self.by_name = {s.name: s for s in self.agents}
        self.attackers = dict(attackers)
        self.templates = list(templates)
        self.max_ticks = max_ticks
        self.ledger = CredentialLedger(world, self.audit, {s.idx for s in self.agents})
        self.tick = 0
        self.finished = False
        self.completed: set[str] = set()
        self.undo: dict[int, UndoEntry] = {}
        self.delegations = 0
        # ground-truth book-keeping, for the labels only
        self.tainted: set[CredId] = set()  # credentials obtained by out-of-intent calls
        self.done_steps: set[tuple[str, int]] = set()  # (ticket, intended action) executed in intent

    # ------------------------------------------------------------------ who acts
    def who(self, st: AgentState) -> int:
        """The identity the estate sees: the agent, or the one an attacker impersonates."""
        return st.impersonates if st.attacker and st.impersonates is not None else st.idx

    def session_of(self, st: AgentState) -> int:
        """The session a call comes from; an attacker never holds the victim's session binding."""
        return -1 if st.attacker else st.session

    def ticket_of(self, st: AgentState) -> Ticket | None:
        """The ticket a call is made under: the agent's own, or (for an attacker) its victim's."""
        if st.attacker:
            return self.by_name[self.world.identities[self.who(st)].name].current
        return st.current

    # ------------------------------------------------------------------ ground truth (scoring labels only)
    def truth_of(self, ticket: Ticket | None) -> TicketTruth:
        """A ticket's ground truth (nothing is intended under no ticket, or a ticket made up at run time)."""
        return NO_TRUTH if ticket is None else self.truth.get(ticket.id, NO_TRUTH)

    def ticket_done(self, ticket: Ticket) -> bool:
        """Whether a ticket's world-verifiable predicate holds now.

        Its ``done_when`` predicates on the world, or, for a ticket without them (a read-only
        ticket), every one of its intended actions having executed. Saying ``complete`` is
        never enough.
        """
        truth = self.truth_of(ticket)
        if truth.done_when:
            return all(self.holds(d) for d in truth.done_when)
        return bool(truth.intent) and all((ticket.id, k) in self.done_steps for k in range(len(truth.intent)))

    def recent_refusals(self, st: AgentState, window: int) -> int:
        """How many of ``st``'s calls were refused in the last ``window`` ticks (older ones are forgotten)."""
        q = st.refusals
        while q and q[0] <= self.tick - window:
            q.popleft()
        return len(q)

    def holds(self, d: DoneWhen) -> bool:
        """Whether one completion predicate holds in the world now."""
        return self.world.holds(d)

    # ------------------------------------------------------------------ the one way the world changes
    def apply(self, changes: Sequence[Change], cause: str) -> list[Change]:
        """Apply ``changes`` all or nothing, record what they did to agents' credentials, return the inverses."""
        if not changes:
            return []
        inverses = self.world.apply_all(changes)
        self.ledger.sync(self.tick, cause, changes)
        return inverses

    def sync(self, cause: str) -> None:
        """Record credentials that expired (or whose reach changed) since the last sync."""
        self.ledger.sync(self.tick, cause)
