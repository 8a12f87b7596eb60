"""The agent protocol and what an agent sees.

Agents see observations and tool schemas only, never the world's objects (DESIGN.md, layer 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from simenv.types import ToolCall

COMPLETE = "complete_ticket"
ABORT = "abort_ticket"
CONTROL_TOOLS = (COMPLETE, ABORT)


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket as its assignee sees it: text and declared scope, never the intent."""

    id: str
    text: str
    systems: tuple[str, ...]
    risks: tuple[str, ...]
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class CredView:
    """A credential the agent holds, as the agent sees it."""

    id: str
    kind: str
    represents: str
    expires_at: int | None
    source: str
    session: int | None


@dataclass(frozen=True, slots=True)
class LastResult:
    """What happened to the agent's previous call."""

    tool: str
    decision: str
    effect: str
    reasons: tuple[str, ...] = ()
    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything an agent may know at one tick."""

    tick: int
    agent: str
    spiffe_id: str
    session: int
    ticket: TicketView | None
    last: LastResult | None
    credentials: tuple[CredView, ...]
    pending_approval: bool
    tools: tuple[str, ...]


class Agent(Protocol):
    """An agent: given an observation, emit a tool call, or ``None`` to wait."""

    name: str

    def reset(self, identity: str, tool_schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Start an episode as ``identity`` with these tool schemas and this random stream."""
        ...

    def act(self, obs: Observation) -> ToolCall | None:
        """The next call. ``complete_ticket`` / ``abort_ticket`` close the current ticket."""
        ...


@dataclass(frozen=True, slots=True)
class AgentContext:
    """What an agent factory may use to build an agent for one identity of a scenario.

    ``plans`` are the scripted plans the scenario file writes for this identity; ``oracle``
    is the safe path built from the ticket's intent (for the validity-check oracle only);
    ``knowledge`` are names the agent has in its context (runbooks, earlier conversations).
    """

    identity: str
    plans: dict[str | None, tuple[Any, ...]]
    oracle: dict[str | None, tuple[Any, ...]]
    knowledge: tuple[str, ...] = ()


class NullAgent:
    """Does nothing, ever: the baseline that must never look good."""

    name = "null"

    def reset(self, identity: str, tool_schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Nothing to reset."""

    def act(self, obs: Observation) -> ToolCall | None:
        """Wait."""
        return None
