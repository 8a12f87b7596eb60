"""The engine's book-keeping: per-agent state, pending approvals, and sanitizing agent input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simenv.agents.base import Agent, LastResult
from simenv.governance.protocols import ApprovalOutcome
from simenv.world.model import Credential, DeclaredScope, Ticket
from simenv.world.tools import ResolvedCall


def safe_value(v: Any) -> Any:
    """A JSON-able, process-independent stand-in for whatever an agent sent (no reprs with addresses)."""
    if v is None or isinstance(v, (bool, int, float)):
        return v if not isinstance(v, float) or v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, str):
        return v[:200]
    if isinstance(v, (list, tuple)):
        return [safe_value(x) for x in v[:20]]
    if isinstance(v, dict):
        return {str(k)[:100]: safe_value(x) for k, x in list(v.items())[:20]}
    return f"<{type(v).__name__}>"


def fresh_stats() -> dict[str, float]:
    """Per-tick counters of one agent (read by the Gymnasium env for rewards)."""
    return {"violation_weight": 0.0, "completed": 0, "denied": 0, "invalid": 0, "calls": 0}


@dataclass
class Pending:
    """A call waiting for approval."""

    seq: int
    call: ResolvedCall
    cred: Credential
    ticket: Ticket | None
    in_intent: bool
    submitted: int
    outcome: ApprovalOutcome


@dataclass
class AgentState:
    """The engine's book-keeping for one agent."""

    idx: int
    name: str
    agent: Agent
    queue: list[Ticket]
    current: Ticket | None = None
    session: int = 0
    pending: Pending | None = None
    halted: bool = False
    last: LastResult | None = None
    stats: dict[str, float] = field(default_factory=fresh_stats)
    attacker: bool = False
    impersonates: int | None = None
    stolen: str | None = None

    @property
    def done(self) -> bool:
        """No open or future ticket, or halted."""
        return self.halted or (self.current is None and not self.queue)


ATTACK_TICKET = Ticket("attack", -1, None, "", DeclaredScope(frozenset(), frozenset()), (), ())
