"""The enumerated tool-call catalog behind the Discrete action space."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from simenv.agents.base import ABORT, COMPLETE
from simenv.scenario.schema import ScenarioSpec
from simenv.types import ResourceType, ToolCall
from simenv.world.catalog import CATALOG
from simenv.world.state import World
from simenv.world.tools import IDENTITY, LIFETIME, TEXT

WAIT = "wait"
TEXT_DEFAULT = "value"
LIFETIME_CHOICES = ("60", "never")


def enumerate_calls(world: World, named_identities: int, named_resources: int, self_name: str,
                    limit: int = 4096) -> list[ToolCall | None]:
    """Every call over the scenario's named identities and resources, in a stable order.

    Index 0 is "wait" (``None``), 1 ``complete_ticket``, 2 ``abort_ticket``; then each tool in
    name order with each fitting combination of named arguments, up to ``limit`` actions. The
    agents' own endpoints count as named resources, so delegation (``invoke_agent``) is offered.
    """
    out: list[ToolCall | None] = [None, ToolCall(COMPLETE, {}), ToolCall(ABORT, {})]
    named_resources = with_agent_endpoints(world, named_resources)
    idents = [i.name for i in world.identities[:named_identities]]
    for name in sorted(CATALOG):
        spec = CATALOG[name]
        choices = []
        for p in spec.params:
            if p.kind == IDENTITY:
                choices.append(idents)
            elif p.kind == TEXT:
                choices.append(list(p.enum) or [TEXT_DEFAULT])
            elif p.kind == LIFETIME:
                choices.append(list(LIFETIME_CHOICES))
            else:
                choices.append([r.name for r in world.resources[:named_resources]
                                if r.type.value == p.kind and r.system is spec.system])
        for combo in itertools.product(*choices):
            out.append(ToolCall(name, dict(zip((p.name for p in spec.params), combo, strict=True))))
            if len(out) >= limit:
                return out
    return out


def with_agent_endpoints(world: World, named_resources: int) -> int:
    """``named_resources`` plus the agent endpoints the builder appends right after the named resources.

    Every agent identity is reachable in the directory as a resource of type ``agent`` (the
    target of ``invoke_agent``); counting them lets :func:`enumerate_calls` offer delegation.
    """
    n = named_resources
    while n < len(world.resources) and world.resources[n].type is ResourceType.AGENT:
        n += 1
    return n


@dataclass(frozen=True)
class EnvSetup:
    """What both environments derive from a scenario and a profile before the first reset."""

    spec: ScenarioSpec
    path: Path
    learner: str
    agents: tuple[str, ...]
    calls: tuple[ToolCall | None, ...]
    action_names: tuple[str, ...]


def env_setup(scenario: str, policy: str) -> EnvSetup:
    """Load the scenario, check the profile, and enumerate the action catalog (a seed-0 probe)."""
    from simenv.governance.profile import build_governance
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    spec, path = load_scenario(scenario)
    build_governance(policy)  # fail early on a bad profile
    probe = build(spec, 0, path, size=0)
    calls = enumerate_calls(probe.world, len(spec.identities), len(spec.resources), probe.learner)
    return EnvSetup(spec, path, probe.learner, tuple(probe.world.identities[a].name for a in probe.agents),
                    tuple(calls), tuple(describe_call(c) for c in calls))


def describe_call(call: ToolCall | None) -> str:
    """A short label for an action."""
    if call is None:
        return WAIT
    if not call.args:
        return str(call.tool)
    return f"{call.tool}(" + ", ".join(f"{k}={v}" for k, v in call.args.items()) + ")"
