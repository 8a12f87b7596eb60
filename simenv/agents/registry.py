"""Agents by name: what ``--agent NAME`` and ``run_episode(agent=NAME)`` accept.

A factory takes an :class:`AgentContext` and returns a fresh agent for one identity.
Later modules register more names (LLM-stub presets, replay, fuzz) in :data:`AGENTS`.
"""

from __future__ import annotations

from collections.abc import Callable

from simenv.agents.base import Agent, AgentContext, NullAgent
from simenv.agents.scripted import ScriptedAgent
from simenv.errors import UnknownNameError

AGENTS: dict[str, tuple[Callable[[AgentContext], Agent], str]] = {
    "scripted": (lambda ctx: ScriptedAgent(ctx.plans, "scripted"), "follows the plan written in the scenario file"),
    "oracle": (lambda ctx: ScriptedAgent(ctx.oracle, "oracle"), "takes exactly the ticket's intended actions"),
    "null": (lambda ctx: NullAgent(), "does nothing"),
}


def _stub(preset: str) -> Callable[[AgentContext], Agent]:
    def make(ctx: AgentContext) -> Agent:
        from simenv.agents.llm_stub import PRESETS, LLMStubAgent

        return LLMStubAgent(ctx, PRESETS[preset](), preset)

    return make


def _register_stubs() -> None:
    from simenv.agents.llm_stub import PRESETS

    for preset, fn in PRESETS.items():
        doc = " ".join((fn.__doc__ or "").split())
        AGENTS[f"llm_stub:{preset}"] = (_stub(preset), f"LLM-stub, preset {preset}: {doc}")
    AGENTS["llm_stub"] = (_stub("default"), "LLM-stub with the default preset")


_register_stubs()


def make_agent(name: str, ctx: AgentContext) -> Agent:
    """A fresh agent called ``name`` for the identity in ``ctx``.

    ``replay:PATH`` replays a recorded transcript for the identity it recorded.
    """
    if name.startswith("replay:"):
        from simenv.agents.llm import replay_agent

        return replay_agent(name.partition(":")[2], ctx)
    if name not in AGENTS:
        raise UnknownNameError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}, replay:PATH")
    return AGENTS[name][0](ctx)


def list_agents() -> list[dict[str, str]]:
    """Every registered agent name with a one-line description."""
    return [{"name": n, "description": d} for n, (_, d) in sorted(AGENTS.items())]
