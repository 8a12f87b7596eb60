"""Pin every score of every shipped scenario × profile × seeds 0–2, scripted and LLM-stub agents.

The pinned file guards against unintended score changes: ``tests/test_pinned_scores.py``
re-runs each case and compares every score except the fingerprint (which changes with the
record format). When a change of a score's meaning is intended, regenerate the file and say
so in the commit::

    python tests/pin_scores.py            # rewrites tests/data/pinned_scores.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINNED = HERE / "data" / "pinned_scores.json"
SEEDS = (0, 1, 2)
AGENTS = ("scripted", "llm_stub")
IGNORED = ("fingerprint",)
UNPINNED = {"intent_agt": "it decides as intent_cedar does: tests/test_agt.py checks its scores against intent_cedar's pins"}
"""Shipped profiles left out of the pins, and why."""


def cases() -> list[tuple[str, str, int, str]]:
    from simenv import files

    return [(s, p, seed, a) for s in files.list_shipped("scenarios") for p in files.list_shipped("policies")
            if p not in UNPINNED for a in AGENTS for seed in SEEDS]


def scores(scenario: str, policy: str, seed: int, agent: str) -> dict:
    from simenv import run_episode

    got = run_episode(scenario, policy, seed=seed, agent=agent).scores
    out = {}
    for k, v in got.items():
        if k in IGNORED:
            continue
        if isinstance(v, float):
            v = None if not math.isfinite(v) else round(v, 6)
        out[k] = v
    return out


def key(case: tuple[str, str, int, str]) -> str:
    return "/".join(map(str, case))


def main() -> int:
    doc = {key(c): scores(*c) for c in cases()}
    columns = sorted({k for v in doc.values() for k in v})
    PINNED.parent.mkdir(parents=True, exist_ok=True)
    with open(PINNED, "w", encoding="utf-8") as f:
        f.write('{"columns": ' + json.dumps(columns) + ',\n"rows": {\n')
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps([v.get(c) for c in columns])}" for k, v in doc.items()))
        f.write("\n}}\n")
    print(f"wrote {PINNED}: {len(doc)} cases")
    return 0


def load() -> dict[str, dict]:
    """The pinned scores, ``{case key: {score: value}}``."""
    doc = json.loads(PINNED.read_text(encoding="utf-8"))
    return {k: dict(zip(doc["columns"], row, strict=True)) for k, row in doc["rows"].items()}


if __name__ == "__main__":
    sys.exit(main())
