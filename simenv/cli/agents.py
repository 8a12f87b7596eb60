"""Command ``record``: record an LLM-adapter transcript played by the LLM-stub (no network)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simenv.cli.common import Command


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario")
    p.add_argument("--policy", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="default", help="LLM-stub preset that plays the model")
    p.add_argument("--out", type=Path, required=True, help="the transcript (JSONL) to write")


def cmd_record(a: argparse.Namespace) -> int:
    from simenv.api import record_transcript

    fp = record_transcript(a.scenario, a.policy, a.seed, a.preset, a.out)
    print(f"{a.out}: fingerprint {fp}")
    return 0


COMMANDS = (Command("record", "record an LLM-adapter transcript played by the LLM-stub", _configure, cmd_record,
                    loads_profiles=True),)
