"""The tool catalog: every action an agent can take, its risk class, reversibility and effect.

Tools are plain functions registered with :func:`tool`; the decorator's parameter spec and the
function's docstring become the OpenAI-style JSON function schema (as AgentDojo derives tool
schemas from typed functions). An effect function never mutates the world: it returns the
changes the engine will apply after an allow decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simenv.errors import ToolCallError
from simenv.types import RiskClass, System
from simenv.world.changes import Change
from simenv.world.model import Resource
from simenv.world.state import World

IDENTITY = "identity"
TEXT = "text"


@dataclass(frozen=True, slots=True)
class Param:
    """A tool parameter: an identity, a resource of a given type, free text, or an enum."""

    name: str
    kind: str  # IDENTITY, TEXT, or a ResourceType value
    enum: tuple[str, ...] = ()
    description: str = ""


@dataclass(slots=True)
class Outcome:
    """What a tool call does: world changes to apply and output for the agent."""

    changes: list[Change] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    handoff: tuple[int, str] | None = None  # (agent identity, task text) for invoke_agent


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an effect function may know: the world (read-only by convention), actor, tick."""

    world: World
    actor: int
    tick: int
    chain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool of the catalog."""

    name: str
    system: System
    risk: RiskClass
    reversible: bool
    params: tuple[Param, ...]
    description: str
    effect: Callable[..., Outcome]
    target: Param = field(init=False)
    identity_param: str | None = field(init=False)

    def __post_init__(self) -> None:
        # the resource the call acts on (the first resource param) and the identity it acts on, if any
        object.__setattr__(self, "target", next(p for p in self.params if p.kind not in (IDENTITY, TEXT)))
        object.__setattr__(self, "identity_param", next((p.name for p in self.params if p.kind == IDENTITY), None))

    def schema(self) -> dict[str, Any]:
        """The OpenAI chat-completions function spec of this tool."""
        props: dict[str, Any] = {}
        for p in self.params:
            prop: dict[str, Any] = {"type": "string"}
            if p.enum:
                prop["enum"] = list(p.enum)
            what = {IDENTITY: "identity name (or $self)", TEXT: "text"}.get(p.kind, f"{p.kind} name")
            prop["description"] = p.description or what
            props[p.name] = prop
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": f"[{self.system}/{self.risk}] {self.description}",
                "parameters": {
                    "type": "object",
                    "properties": props,
                    "required": [p.name for p in self.params],
                    "additionalProperties": False,
                },
            },
        }


CATALOG: dict[str, ToolSpec] = {}


def tool(system: System, risk: RiskClass, reversible: bool, *params: Param) -> Callable:
    """Register the decorated effect function as a tool named after it."""

    def deco(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else fn.__name__
        CATALOG[fn.__name__] = ToolSpec(fn.__name__, system, risk, reversible, tuple(params), doc, fn)
        return fn

    return deco


def tool_schemas(names: list[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI-style function specs for the catalog (or the named tools), in name order."""
    return [CATALOG[n].schema() for n in sorted(names or CATALOG)]


@dataclass(frozen=True, slots=True)
class ResolvedCall:
    """A validated call: its spec, arguments resolved to indices, and its target resource."""

    spec: ToolSpec
    args: dict[str, Any]
    names: dict[str, str]
    target: Resource


def resolve(world: World, tool_name: Any, args: Any, self_name: str) -> ResolvedCall:
    """Validate a raw call against the catalog and the world; raise ToolCallError if malformed."""
    if not isinstance(tool_name, str) or tool_name not in CATALOG:
        raise ToolCallError(f"unknown tool {tool_name!r}")
    spec = CATALOG[tool_name]
    if not isinstance(args, dict):
        raise ToolCallError(f"{tool_name}: arguments must be an object, not {type(args).__name__}")
    extra = sorted(set(map(str, args)) - {p.name for p in spec.params})
    if extra:
        raise ToolCallError(f"{tool_name}: unknown argument(s) {extra}")
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for p in spec.params:
        if p.name not in args:
            raise ToolCallError(f"{tool_name}: missing argument {p.name!r}")
        v = args[p.name]
        if not isinstance(v, str):
            raise ToolCallError(f"{tool_name}.{p.name}: expected a string, got {type(v).__name__}")
        if p.kind == IDENTITY:
            v = self_name if v == "$self" else v
            if v not in world.ident_index:
                raise ToolCallError(f"{tool_name}.{p.name}: unknown identity {v!r}")
            out[p.name] = world.ident_index[v]
        elif p.kind == TEXT:
            if p.enum and v not in p.enum:
                raise ToolCallError(f"{tool_name}.{p.name}: {v!r} is not one of {list(p.enum)}")
            out[p.name] = v
        else:
            idx = world.res_index.get(v)
            if idx is None:
                raise ToolCallError(f"{tool_name}.{p.name}: unknown {p.kind} {v!r}")
            res = world.resources[idx]
            if res.type.value != p.kind or res.system is not spec.system:
                raise ToolCallError(f"{tool_name}.{p.name}: {v!r} is a {res.system} {res.type}, not a {spec.system} {p.kind}")
            out[p.name] = idx
        names[p.name] = v
    return ResolvedCall(spec, out, names, world.resources[out[spec.target.name]])


# The tool definitions register themselves in CATALOG when their module is imported.
from simenv.world import actions as _actions  # noqa: E402,F401
