"""The Python API: run one episode, get its scores and its audit log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simenv import metrics
from simenv.sim.audit import Audit
from simenv.sim.factory import AgentArg, make_episode


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


def run_episode(scenario: str | Path, policy: str | Path, seed: int = 0, agent: AgentArg = None,
                size: int | None = None) -> EpisodeResult:
    """Run one episode and score it.

    Args:
        scenario: a shipped scenario name or a path to a scenario file.
        policy: a shipped profile name or a path to a profile file.
        seed: the episode seed.
        agent: an agent name (applies to every agent identity; ``"package.module:Class"`` names an
            outside agent class), an agent object (the learner), or ``{identity: agent}``;
            ``None`` runs the scenario's scripted plans.
        size: overrides the scenario's estate size.

    >>> r = run_episode("delegated_admin", "allow_all", seed=0)
    >>> r.scores["task_success"], r.scores["violations_attempted"]
    (True, 0)
    """
    engine, label = make_episode(scenario, policy, seed, agent, size)
    audit = engine.run()
    head = audit.header
    return EpisodeResult(head.scenario, head.profile, seed, label, metrics.compute(audit), audit)


def record_transcript(scenario: str | Path, policy: str | Path, seed: int, preset: str, out: Path) -> str:
    """Run one episode with the LLM-stub behind the LLM adapter; write the transcript; return the fingerprint.

    The transcript's last line records the fingerprint, so that ``--agent replay:PATH`` can be
    checked against it. No network: the LLM-stub (``preset``) plays the model.
    """
    import json

    from simenv.agents.llm import LLMAgent, stub_model
    from simenv.agents.llm_stub import PRESETS
    from simenv.errors import UnknownNameError
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    if preset not in PRESETS:
        raise UnknownNameError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    spec, path = load_scenario(scenario)
    built = build(spec, seed, path)
    out = Path(out)
    out.unlink(missing_ok=True)
    agent = LLMAgent(stub_model(built.contexts[built.learner], preset, seed), record=out,
                     meta={"scenario": spec.name, "policy": str(policy), "seed": seed, "model": f"llm_stub:{preset}"})
    res = run_episode(scenario, policy, seed=seed, agent=agent)
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "result", "fingerprint": res.scores["fingerprint"]}, sort_keys=True) + "\n")
    return res.scores["fingerprint"]
