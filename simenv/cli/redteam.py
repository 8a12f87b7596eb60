"""Command ``redteam``: search for the tool calls that do the most out-of-intent damage under a profile."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import NoReturn

from simenv.cli.bench import count
from simenv.cli.common import Command, jsonable


def _configure(p: argparse.ArgumentParser) -> None:
    from simenv.bench.redteam import DEFAULT_BUDGET

    p.add_argument("scenario", help="a shipped scenario name or a scenario file")
    p.add_argument("--policy", required=True, help="a shipped profile name or a profile file")
    p.add_argument("--budget", type=count(1), default=DEFAULT_BUDGET,
                   help=f"episodes to search (default {DEFAULT_BUDGET})")
    p.add_argument("--seed", type=count(0), default=0, help="the search's seed and the episode seed (default 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="the transcript to write (default results/redteam/SCENARIO_PROFILE_seedS.jsonl)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    def error(message: str) -> NoReturn:  # one line, not argparse's usage block
        print(f"simenv redteam: {message}; see simenv redteam --help", file=sys.stderr)
        raise SystemExit(2)

    p.error = error  # type: ignore[method-assign]


def cmd_redteam(a: argparse.Namespace) -> int:
    from simenv.bench.redteam import describe, search, write_transcript

    result = search(a.scenario, a.policy, budget=a.budget, seed=a.seed)
    out = a.out or Path("results") / "redteam" / f"{result.scenario}_{Path(a.policy).stem}_seed{a.seed}.jsonl"
    exploit = write_transcript(result, out, a.scenario, a.policy)
    if a.json:
        print(json.dumps({k: jsonable(v) for k, v in exploit.to_json().items()}))
        return 0
    print(f"# redteam {result.scenario} under {result.policy}, seed {result.seed}: {result.budget} episodes, "
          f"learner {result.learner}")
    if not result.found:
        print("no exploit found: no out-of-intent call of the learner executed in any episode")
    else:
        print(f"best exploit: blast radius {exploit.scores['blast_radius']:g}")
    print("\n".join(describe(exploit)))
    print(f"policies passed: {', '.join(exploit.policy_ids_passed) or '-'}")
    replay = ["simenv", "run", str(a.scenario), "--policy", str(a.policy), "--seed", str(a.seed),
              "--agent", f"replay:{out}"]
    print(f"transcript: {out} (fingerprint {exploit.fingerprint[:12]}; replay: {shlex.join(replay)})")
    return 0


COMMANDS = (Command("redteam", "search for the calls that do the most out-of-intent damage under a profile",
                    _configure, cmd_redteam, loads_profiles=True),)
