"""The agent protocol and what an agent sees.

Agents see observations and tool schemas only, never the world's objects (docs/architecture.md, layer 4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from simenv.frozen import fast_init
from simenv.types import ToolCall
from simenv.world.inputs import MAX_CALL_CHARS, quote, safe_key

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


@fast_init
@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket as its assignee sees it: text and declared scope, never the intent."""

    id: str
    text: str
    systems: tuple[str, ...]
    risks: tuple[str, ...]
    parent: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class CredView:
    """A credential the agent holds, as the agent sees it."""

    id: str
    kind: str
    represents: str
    expires_at: int | None
    source: str
    session: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class LastResult:
    """What happened to the agent's previous call."""

    tool: str
    decision: str
    effect: str
    reasons: tuple[str, ...] = ()
    output: dict[str, Any] = field(default_factory=dict)


@fast_init
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


CALL_FIELDS = frozenset({"id", "type", "index", "function"})
"""The fields of an OpenAI chat-completions tool call (``index`` comes with streamed ones)."""
FUNCTION_FIELDS = frozenset({"name", "arguments"})
"""The fields of its ``function`` (and of a bare ``{"name", "arguments"}`` call, beside ``id`` and ``type``)."""
CREDENTIAL_ARG = "_credential"  # the argument that names a credential to present


class _Repeated(ValueError):
    """A JSON object names a key twice (which one counts is up to the parser: refused instead)."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Repeated(k)
            seen.add(k)
    return out


def _parse_arguments(text: str) -> tuple[Any, str | None]:
    """A model's JSON ``arguments`` text → (the value, or the text if it is not JSON; what is wrong with it)."""
    if len(text) > MAX_CALL_CHARS:
        return text, f"the arguments are {len(text)} characters of JSON (the limit is {MAX_CALL_CHARS})"
    if not text.strip():
        return {}, None
    try:
        return json.loads(text, object_pairs_hook=_pairs), None
    except json.JSONDecodeError:
        return text, None  # not JSON: the catalog says the arguments must be an object
    except _Repeated as e:
        return text, f"the arguments give the key {quote(e.args[0])} twice"
    except RecursionError:
        return text, "the arguments nest too deep to parse (a tool takes flat string arguments)"


def _unknown(fields: Any, known: frozenset[str]) -> list[str]:
    return sorted(safe_key(k) for k in fields if k not in known)[:5]


def coerce_call(x: Any) -> ToolCall:
    """Whatever an agent returned, as a ToolCall; malformed pieces are kept for the engine to reject.

    Accepts a ToolCall, an OpenAI chat-completions tool call (``{"id", "type", "function":
    {"name", "arguments"}}``, arguments as a JSON string or an object) or a bare ``{"name",
    "arguments"}``. A ``_credential`` argument names a credential to present; a ``justification``
    argument (every tool schema offers it) is the agent's reason for the call. Any other field
    around the arguments (a made-up ``credential``, ``chain`` or ``act``), arguments too long to
    be a call, or JSON that repeats a key or nests past the parser's depth, is the call's
    ``problem``: the engine logs it as an invalid call (:mod:`simenv.world.inputs`).
    """
    if isinstance(x, ToolCall):
        return x
    fn = x.get("function", x) if isinstance(x, dict) else None
    if not isinstance(fn, dict) or "name" not in fn:
        return ToolCall(None, None, raw=x)
    problem = None
    extra = _unknown(x, CALL_FIELDS) + _unknown(fn, FUNCTION_FIELDS) if fn is not x else \
        _unknown(x, FUNCTION_FIELDS | {"id", "type"})
    if extra:
        problem = f"unknown field(s) {extra} in the tool call; a call has a name and arguments"
    args: Any = fn.get("arguments", "{}")
    if isinstance(args, str):
        args, bad = _parse_arguments(args)
        problem = problem or bad
    cred = why = None
    if isinstance(args, dict):
        args = dict(args)  # the agent's own object is left as it was
        cred, why = args.pop(CREDENTIAL_ARG, None), args.pop(JUSTIFICATION, None)
    return ToolCall(fn.get("name"), args, credential=cred, raw=x, justification=why, problem=problem)


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
