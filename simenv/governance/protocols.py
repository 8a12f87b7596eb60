"""The seams of the loop: broker, authorizer, approval gate, monitor.

Each is a ``typing.Protocol``; a governance profile picks one implementation of each.
Implementations return data (changes, decisions, outcomes, actions); only the engine applies
changes to the world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from simenv.governance.request import AccessRequest, Decision
from simenv.world.changes import Change
from simenv.world.model import Credential, Ticket
from simenv.world.state import World
from simenv.world.tools import ToolSpec


class Broker(Protocol):
    """Decides which credential backs a call, issues and revokes credentials."""

    def start(self, world: World, agents: list[int], tickets: list[Ticket], tick: int) -> list[Change]:
        """Credentials to issue when the episode starts (standing credentials)."""
        ...

    def credential_for(
        self, world: World, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """The credential for a call, changes to apply first (a JIT issue), and a reason if none."""
        ...

    def check(self, world: World, cred: Credential, agent: int, tick: int, session: int) -> str | None:
        """Why a presented credential is refused, or ``None`` if it may be used."""
        ...

    def ticket_closed(self, world: World, agent: int, ticket: Ticket, tick: int) -> list[Change]:
        """Changes when a ticket completes or aborts (revoke-on-completion)."""
        ...


class Authorizer(Protocol):
    """Turns an access request into a decision."""

    name: str

    def prepare(self, world: World, tickets: list[Ticket]) -> None:
        """Per-episode setup: parse policies and build entities once, keep them resident."""
        ...

    def authorize(self, request: AccessRequest) -> Decision:
        """The decision for one request."""
        ...


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """What a simulated approver (or quorum) decides, when, and at what human cost."""

    granted: bool
    ready_at: int
    review_minutes: float
    approvers: tuple[str, ...] = ()
    reason: str = ""


class ApprovalGate(Protocol):
    """Simulated human approval of require_approval decisions."""

    def submit(self, request: AccessRequest, legitimate: bool, tick: int) -> ApprovalOutcome:
        """Decide a request. ``legitimate`` stands for the reviewer's own knowledge of the ticket."""
        ...


@dataclass(frozen=True, slots=True)
class MonitorAction:
    """A monitor's response: ``revoke`` the agent's credentials or ``halt`` the agent."""

    action: str
    agent: str
    monitor: str
    reason: str


class Monitor(Protocol):
    """A rule over the audit stream. It sees decision records without ground-truth labels."""

    name: str

    def observe(self, event: dict[str, Any]) -> list[MonitorAction]:
        """React to one audit record."""
        ...
