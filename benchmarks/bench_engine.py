"""Speed and memory figures of the engine (run by hand; not part of the test suite).

    python benchmarks/bench_engine.py            # all figures
    python benchmarks/bench_engine.py --quick    # smaller estates

Prints medians over repeated runs:
* µs per engine step (one agent call mediated end to end) under each baseline profile,
  with a garbage-free scripted agent on scope_creep;
* seconds and peak memory to generate estates of 1k, 10k and 100k identities.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from simenv.sim.factory import make_episode
from simenv.types import ToolCall
from simenv.world.generator import generate


def step_us(policy: str, n: int = 4000) -> float:
    """Median µs per mediated call over 5 rounds of ``n`` calls."""
    rounds = []
    bob = {"table": "payments", "identity": "bob"}
    calls = [ToolCall("db_query", {"table": "payments"}), ToolCall("db_grant_access", bob),
             ToolCall("db_query", {"table": "audit-log"}), ToolCall("db_revoke_access", bob)]
    for _ in range(5):
        engine, _ = make_episode("scope_creep", policy, 0)
        st = engine.states[0]
        engine.open_ticket(st)
        t0 = time.perf_counter()
        for i in range(n):
            engine.handle(st, calls[i % 4])
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(rounds)


def gen(size: int, rounds: int = 3) -> tuple[float, float]:
    """Median seconds (timed without tracing) and peak MiB (traced apart) to generate an estate of ``size`` identities."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        generate(size, np.random.default_rng(0), 0, 0)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()  # tracing slows allocation several-fold: memory is measured on a run of its own
    generate(size, np.random.default_rng(0), 0, 0)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    for policy in ("allow_all", "static_rbac", "deny_all"):
        print(f"step  {policy:<12} {step_us(policy, 1000 if a.quick else 4000):8.1f} µs/call (median of 5)")
    for size in (1_000, 10_000) if a.quick else (1_000, 10_000, 100_000):
        dt, peak = gen(size)
        print(f"estate {size:>7} identities  {dt:6.2f} s (median of 3)  peak {peak:7.1f} MiB (traced)")


if __name__ == "__main__":
    main()
