"""The one episode factory: scenario + profile + seed + agents → a ready :class:`~simenv.sim.engine.Engine`.

``run_episode``, the Gymnasium env, the PettingZoo env and the bench all build episodes here,
so every header says the same things the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from simenv.agents.base import Agent
from simenv.agents.registry import make_agent
from simenv.governance.profile import build_governance
from simenv.rng import Streams
from simenv.scenario.builder import BuiltScenario, build
from simenv.scenario.loader import shared_scenario
from simenv.scenario.schema import ScenarioSpec
from simenv.sim.engine import Engine

AgentArg = str | Agent | Mapping[str, Agent] | None
"""An agent name for every agent identity, an agent object (the learner), ``{identity: agent}``, or
``None`` (the scenario's scripted plans)."""


def agents_for(built: BuiltScenario, agent: AgentArg) -> tuple[dict[str, Agent], str]:
    """The agent for every agent identity, and the label the results carry.

    A name applies to every agent identity; an object plays the learner (the others follow
    their scripted plans); a mapping names the agent of some identities (the others scripted).
    """
    names = [built.world.identities[a].name for a in built.agents]
    if agent is None or isinstance(agent, str):
        made = {n: make_agent(agent or "scripted", built.contexts[n]) for n in names}
        return made, str(getattr(made[built.learner], "name", agent or "scripted"))
    if isinstance(agent, Mapping):
        return {n: agent.get(n) or make_agent("scripted", built.contexts[n]) for n in names}, "custom"
    out: dict[str, Agent] = {n: make_agent("scripted", built.contexts[n]) for n in names}
    out[built.learner] = agent
    return out, getattr(agent, "name", type(agent).__name__)


def make_episode(scenario: str | Path | tuple[ScenarioSpec, Path], policy: str | Path, seed: int = 0,
                 agent: AgentArg = None, size: int | None = None, label: str | None = None) -> tuple[Engine, str]:
    """Load, build and wire one episode; return the engine and the agent label.

    Args:
        scenario: a shipped name, a scenario file, or an already loaded ``(spec, path)``.
        policy: a shipped profile name or a profile file.
        seed: the episode seed (estate, approvers, agents).
        agent: see :data:`AgentArg`.
        size: overrides the scenario's estate size.
        label: the agent label for the header (default: the agent's own name).
    """
    spec, path = scenario if isinstance(scenario, tuple) else shared_scenario(scenario)  # read, never changed
    built = build(spec, seed, path, size=size)
    gov = build_governance(policy, Streams(seed))
    agents, default_label = agents_for(built, agent)
    label = label or default_label
    meta = {"scenario": spec.name, "agent": label, "size": spec.estate.size if size is None else size}
    return Engine(built, gov, agents, seed, meta), label
