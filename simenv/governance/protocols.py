"""The seams of the loop: broker, authorizer, approval gate, monitor.

Each is a ``typing.Protocol``; a governance profile picks one implementation of each, by name
or as an outside class (``"package.module:Class"``, see :mod:`simenv.governance.plugins`).
Implementations see the estate through a read-only
:class:`~simenv.governance.views.EstateView` and tickets without their ground truth, and
return data (changes, decisions, outcomes, actions); only the engine applies changes to the
world. ``simenv.testing.check_authorizer`` checks an authorizer against its protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from simenv.frozen import fast_init
from simenv.governance.request import AccessRequest, Decision
from simenv.governance.review import Review
from simenv.governance.views import EstateView
from simenv.types import Effect, Outcome
from simenv.world.changes import Change
from simenv.world.model import Credential, Ticket
from simenv.world.tools import ToolSpec


class Broker(Protocol):
    """Decides which credential backs a call, issues and revokes credentials."""

    def start(self, estate: EstateView, agents: Sequence[int], tickets: Sequence[Ticket], tick: int) -> list[Change]:
        """Credentials to issue when the episode starts (standing credentials)."""
        ...

    def credential_for(
        self, estate: EstateView, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """The credential for a call, changes to apply first (a JIT issue), and a reason if none."""
        ...

    def check(self, estate: EstateView, cred: Credential, agent: int, tick: int, session: int) -> str | None:
        """Why a presented credential is refused, or ``None`` if it may be used."""
        ...

    def ticket_closed(self, estate: EstateView, agent: int, ticket: Ticket, tick: int) -> list[Change]:
        """Changes when a ticket completes or aborts (revoke-on-completion)."""
        ...

    def adopt(self, estate: EstateView, agent: int, ticket: Ticket | None, cred: Credential, session: int) -> Credential:
        """A credential the agent obtained by itself, as the broker keeps track of it.

        A secret read, a key exported or a role assumed: bound to the ticket and session where zero
        standing privilege requires it.
        """
        ...


class Authorizer(Protocol):
    """Turns an access request into a decision."""

    name: str

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Per-episode setup: parse policies and build entities once, keep them resident."""
        ...

    def authorize(self, request: AccessRequest) -> Decision:
        """The decision for one request."""
        ...


@fast_init
@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """What a simulated approver (or quorum) decides, when, and at what human cost."""

    granted: bool
    ready_at: int
    review_minutes: float
    approvers: tuple[str, ...] = ()
    reason: str = ""


class ApprovalGate(Protocol):
    """Simulated human approval of require_approval decisions.

    It is shown what a reviewer is shown (:class:`~simenv.governance.review.Review`: the request,
    the ticket's text, the justification, the agent's recent refusals), never a ticket's intent.
    """

    def submit(self, review: Review, tick: int) -> ApprovalOutcome:
        """Decide a request now; the answer arrives at ``ready_at``."""
        ...


@fast_init
@dataclass(frozen=True, slots=True)
class MonitorEvent:
    """A settled call as a monitor (a SOC tool) sees it: what was asked and what happened, no ground truth.

    Attributes:
        kind: ``call`` (the call as first decided) or ``approval`` (a pending call settled).
        tick / agent / tool: when, who, what.
        risk / system / resource: the tool's risk class and system, and the target (``None`` for a
            malformed call).
        in_scope: whether (system, risk) lies in the ticket's declared scope (``None`` when malformed).
        decision / effect: the decision and the outcome of the call.
        attacker: the call came from an outside attacker replaying a stolen credential.
        flags: the discrepancies the request showed (:mod:`simenv.governance.review`).
        owner_active: whether the agent's owner is still with the organisation.
    """

    kind: Literal["call", "approval"]
    tick: int
    agent: str
    tool: str
    risk: str | None
    system: str | None
    resource: str | None
    in_scope: bool | None
    decision: Effect
    effect: Outcome
    attacker: bool = False
    flags: tuple[str, ...] = ()
    owner_active: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class MonitorAction:
    """A monitor's response: ``revoke`` the agent's credentials or ``halt`` the agent.

    After a revoke the agent is quarantined: no credential is issued to it for ``quarantine``
    ticks, or (``release="approval"``) until an approver re-enables it on its next call.
    """

    action: str
    agent: str
    monitor: str
    reason: str
    quarantine: int = 0
    release: str = "ticks"


class Monitor(Protocol):
    """A rule over the stream of settled calls. It sees :class:`MonitorEvent`, never ground-truth labels."""

    name: str

    def observe(self, event: MonitorEvent) -> list[MonitorAction]:
        """React to one settled call."""
        ...
