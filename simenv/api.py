"""The Python API: run one episode, get its scores and its audit log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simenv import metrics
from simenv.agents.base import Agent
from simenv.agents.registry import make_agent
from simenv.governance.profile import build_governance
from simenv.rng import Streams
from simenv.scenario.builder import BuiltScenario, build
from simenv.scenario.loader import load_scenario
from simenv.sim.audit import Audit
from simenv.sim.engine import Engine


@dataclass
class EpisodeResult:
    """What one episode produced.

    Attributes:
        scores: every score by name (see :mod:`simenv.metrics`).
        audit: the full audit log.
    """

    scenario: str
    policy: str
    seed: int
    agent: str
    scores: dict[str, Any]
    audit: Audit

    def row(self) -> dict[str, Any]:
        """One flat row: identity of the episode, then every score."""
        return {"scenario": self.scenario, "policy": self.policy, "seed": self.seed, "agent": self.agent, **self.scores}


def make_engine(
    scenario: str | Path, policy: str | Path, seed: int = 0, agent: str | Agent | dict[str, Agent] | None = None,
    size: int | None = None,
) -> tuple[Engine, str]:
    """Load, build and wire one episode; return the engine and the agent label."""
    spec, path = load_scenario(scenario)
    built: BuiltScenario = build(spec, seed, path, size=size)
    gov = build_governance(policy, Streams(seed))
    agents, label = agents_for(built, agent)
    meta = {"scenario": spec.name, "agent": label, "size": size if size is not None else spec.estate.size}
    return Engine(built, gov, agents, seed, meta), label


def agents_for(built: BuiltScenario, agent: str | Agent | dict[str, Agent] | None) -> tuple[dict[str, Agent], str]:
    """The agent for every agent identity: a name applies to all, an object to the learner."""
    names = [built.world.identities[a].name for a in built.agents]
    if agent is None or isinstance(agent, str):
        made = {n: make_agent(agent or "scripted", built.contexts[n]) for n in names}
        return made, str(getattr(made[built.learner], "name", agent or "scripted"))
    if isinstance(agent, dict):
        out = {n: agent.get(n) or make_agent("scripted", built.contexts[n]) for n in names}
        return out, "custom"
    out = {n: make_agent("scripted", built.contexts[n]) for n in names}
    out[built.learner] = agent
    return out, getattr(agent, "name", type(agent).__name__)


def run_episode(
    scenario: str | Path, policy: str | Path, seed: int = 0, agent: str | Agent | dict[str, Agent] | None = None,
    size: int | None = None,
) -> EpisodeResult:
    """Run one episode and score it.

    Args:
        scenario: a shipped scenario name or a path to a scenario file.
        policy: a shipped profile name or a path to a profile file.
        seed: the episode seed.
        agent: an agent name (applies to every agent identity), an agent object (the
            learner), or ``{identity: agent}``; ``None`` runs the scenario's scripted plans.
        size: overrides the scenario's estate size.

    >>> r = run_episode("delegated_admin", "allow_all", seed=0)
    >>> r.scores["task_success"], r.scores["violations_attempted"]
    (True, 0)
    """
    engine, label = make_engine(scenario, policy, seed, agent, size)
    audit = engine.run()
    meta = audit.header
    return EpisodeResult(meta["scenario"], meta["profile"], seed, label, metrics.compute(audit), audit)
