"""Wall time of the main job, ``simenv bench`` with its defaults (run by hand; not part of the test suite).

    python benchmarks/bench_main.py            # the default sweep, 3 rounds
    python benchmarks/bench_main.py --quick    # 1 seed, 1 round

Each round is a fresh process writing into a fresh folder, first with the report (``simenv bench``, what the
README's first command runs) and then without it (``--no-report``), side by side, so that the report's share
is a ratio measured in the same run. Prints the median seconds of each, episodes per second, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simenv", "bench", *args, "--out", f"{d}/results"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "CI": "1"})
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=None)
    a = p.parse_args()
    extra = ["--seeds", "1"] if a.quick else []
    rounds = a.rounds or (1 if a.quick else 3)
    from simenv import files

    n = len(files.list_shipped("scenarios")) * len(files.list_shipped("policies")) * (1 if a.quick else 20)
    full, bare = [], []
    for _ in range(rounds):
        full.append(timed(extra))
        bare.append(timed([*extra, "--no-report"]))
    f, b = statistics.median(full), statistics.median(bare)
    ratio = statistics.median(x / y for x, y in zip(full, bare, strict=True))
    print(f"simenv bench{' ' + ' '.join(extra) if extra else ''}: {n} episodes, {os.cpu_count()} CPUs, "
          f"medians of {rounds} round(s)")
    print(f"  with the report      {f:7.1f} s   ({n / f:6.1f} episodes/s)")
    print(f"  --no-report          {b:7.1f} s   ({n / b:6.1f} episodes/s)")
    print(f"  ratio (pair by pair) {ratio:7.2f}×")


if __name__ == "__main__":
    main()
