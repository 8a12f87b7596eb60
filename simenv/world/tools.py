"""What a tool is: its parameters, its spec (system, risk class, reversibility) and what a call returns.

A tool is a plain effect function turned into a :class:`ToolSpec` by :func:`tool`; the
decorator's parameter spec and the function's docstring become the OpenAI-style JSON function
schema (as AgentDojo derives tool schemas from typed functions). An effect function never
mutates the world: it returns the changes the engine applies after an allow decision. The tools
themselves are in :mod:`simenv.world.actions`; :mod:`simenv.world.catalog` indexes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from simenv.frozen import fast_init
from simenv.types import RiskClass, System
from simenv.world.changes import Change
from simenv.world.inputs import MAX_TEXT_CHARS
from simenv.world.state import World

IDENTITY = "identity"
TEXT = "text"
LIFETIME = "lifetime"  # ticks, a positive integer, or "never"
NEVER = 1_000_000_000
"""The lifetime ``never`` stands for, in ticks (so that a policy's ``lifetime > 60`` catches it)."""

Escalation = Literal["", "grant", "assume", "yield", "leak"]
"""How a tool lets its caller obtain more privilege (the edges :mod:`simenv.world.reach` follows):

* ``grant``: it gives an identity the target resource (a role's permissions, a group's roles', a
  table's read and write);
* ``assume``: it issues the caller a session carrying the target role's permissions;
* ``yield``: the target stands for another identity (a secret that is its password, a key, a
  pipeline that runs as it, an agent endpoint), and the call hands over that identity's rights
  (the resource's ``yields_via`` risk classes say which calls do);
* ``leak``: the target exposes a credential pasted into it (a pipeline variable holding a secret).
"""

ESCALATIONS: dict[str, str] = {
    "grant": "gives an identity the target resource (a role's permissions, a group's roles', a table's read and write)",
    "assume": "issues the caller a session carrying the target role's permissions",
    "yield": "hands over the rights of the identity the target stands for, if the call's risk class is one of the "
             "target's yields_via",
    "leak": "exposes to the caller a credential pasted into the target",
}
"""What each :data:`Escalation` kind means, in one line (for references and listings)."""


@dataclass(frozen=True, slots=True)
class Param:
    """A tool parameter: an identity, a resource of a given type, free text, or an enum."""

    name: str
    kind: str  # IDENTITY, TEXT, LIFETIME, or a ResourceType value
    enum: tuple[str, ...] = ()
    description: str = ""


@dataclass(slots=True)
class ToolResult:
    """What a tool call does: world changes to apply and output for the agent."""

    changes: list[Change] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    handoff: tuple[int, str] | None = None  # (agent identity, task text) for invoke_agent


@fast_init
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
    effect: Callable[..., ToolResult]
    escalates: Escalation = ""
    changes: str = ""
    """What a call changes, in one line (for scenario authors: ``simenv tools``, ``docs/tools.md``)."""
    target: Param = field(init=False)
    identity_param: str | None = field(init=False)
    lifetime_param: str | None = field(init=False)

    def __post_init__(self) -> None:
        # the resource the call acts on (the first resource param) and the identity it acts on, if any
        object.__setattr__(self, "target", next(p for p in self.params if p.kind not in (IDENTITY, TEXT, LIFETIME)))
        object.__setattr__(self, "identity_param", next((p.name for p in self.params if p.kind == IDENTITY), None))
        object.__setattr__(self, "lifetime_param", next((p.name for p in self.params if p.kind == LIFETIME), None))

    def schema(self) -> dict[str, Any]:
        """The OpenAI chat-completions function spec of this tool (string lengths as :mod:`simenv.world.inputs` bounds them)."""
        props: dict[str, Any] = {}
        for p in self.params:
            prop: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT_CHARS}
            if p.enum:
                prop["enum"] = list(p.enum)
            what = {IDENTITY: "identity name (or $self)", TEXT: "text",
                    LIFETIME: "lifetime in ticks (minutes): a positive integer, or never"}.get(p.kind, f"{p.kind} name")
            prop["description"] = p.description or what
            props[p.name] = prop
        props["justification"] = {"type": "string", "maxLength": MAX_TEXT_CHARS,
                                  "description": "optional: why this call serves the ticket "
                                                 "(policies, approvers and the audit see it)"}
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


def tool(system: System, risk: RiskClass, reversible: bool, *params: Param, changes: str,
         escalates: Escalation = "") -> Callable[[Callable[..., ToolResult]], ToolSpec]:
    """Turn the decorated effect function into the :class:`ToolSpec` of a tool named after it (no registry).

    ``changes`` says in one line what a call changes (the world, the caller's credentials, a hand-off),
    for scenario authors; the function's docstring is the description the model sees.
    """

    def deco(fn: Callable[..., ToolResult]) -> ToolSpec:
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else fn.__name__
        return ToolSpec(fn.__name__, system, risk, reversible, tuple(params), doc, fn, escalates, changes)

    return deco
