"""``simenv record``: record an LLM-adapter transcript driven by the LLM-stub (no network)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from simenv.cli import command


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario")
    p.add_argument("--policy", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="default", help="LLM-stub preset that plays the model")
    p.add_argument("--out", type=Path, required=True, help="the transcript (JSONL) to write")


def record(scenario: str, policy: str, seed: int, preset: str, out: Path) -> str:
    """Run one episode with the stub behind the LLM adapter; write the transcript; return the fingerprint."""
    from simenv.agents.llm import LLMAgent, stub_model
    from simenv.agents.llm_stub import PRESETS
    from simenv.api import run_episode
    from simenv.errors import UnknownNameError
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    if preset not in PRESETS:
        raise UnknownNameError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    spec, path = load_scenario(scenario)
    built = build(spec, seed, path)
    out.unlink(missing_ok=True)
    agent = LLMAgent(stub_model(built.contexts[built.learner], preset, seed), record=out,
                     meta={"scenario": spec.name, "policy": policy, "seed": seed, "model": f"llm_stub:{preset}"})
    res = run_episode(scenario, policy, seed=seed, agent=agent)
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "result", "fingerprint": res.scores["fingerprint"]}, sort_keys=True) + "\n")
    return res.scores["fingerprint"]


@command("record", "record an LLM-adapter transcript played by the LLM-stub", _configure)
def cmd_record(a: argparse.Namespace) -> int:
    fp = record(a.scenario, a.policy, a.seed, a.preset, a.out)
    print(f"{a.out}: fingerprint {fp}")
    return 0
