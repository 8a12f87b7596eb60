"""The agent protocol and what an agent sees.

Agents see observations and tool schemas only, never the world's objects (docs/architecture.md, layer 4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from simenv.types import ToolCall

COMPLETE = "complete_ticket"
ABORT = "abort_ticket"
CONTROL_TOOLS = (COMPLETE, ABORT)
JUSTIFICATION = "justification"  # the optional argument of every tool schema that carries the agent's reason
CONTROL_DESCRIPTIONS = {
    COMPLETE: "Close your current ticket as done, once its work is finished (the estate must show it done: saying so "
              "is not enough).",
    ABORT: "Give up your current ticket: close it as not done, when it cannot be done within what it asks.",
}


def control_schemas() -> list[dict[str, Any]]:
    """The OpenAI chat-completions function specs of ``complete_ticket`` and ``abort_ticket`` (no arguments)."""
    return [{"type": "function", "function": {
        "name": name, "description": f"[control] {text}",
        "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False}}}
        for name, text in CONTROL_DESCRIPTIONS.items()]


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


def coerce_call(x: Any) -> ToolCall:
    """Whatever an agent returned, as a ToolCall; malformed pieces are kept for the engine to reject.

    Accepts a ToolCall, an OpenAI chat-completions tool call (``{"function": {"name",
    "arguments"}}``, arguments as a JSON string or an object) or a bare ``{"name", "arguments"}``.
    A ``_credential`` argument names a credential to present; a ``justification`` argument (every
    tool schema offers it) is the agent's reason for the call.
    """
    if isinstance(x, ToolCall):
        return x
    fn = x.get("function", x) if isinstance(x, dict) else None
    if not isinstance(fn, dict) or "name" not in fn:
        return ToolCall(None, None, raw=x)
    args: Any = fn.get("arguments", "{}")
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            pass
    cred = args.pop("_credential", None) if isinstance(args, dict) else None
    why = args.pop(JUSTIFICATION, None) if isinstance(args, dict) else None
    return ToolCall(fn.get("name"), args, credential=cred, raw=x, justification=why if isinstance(why, str) else None)


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
