"""Benchmarks: scenario × profile × seed matrices, executors, results, statistics, report, regression.

Modules (each one job): :mod:`~simenv.bench.tasks` (the matrix and the worker-side episode
runner), :mod:`~simenv.bench.executors` (serial, loky, Dask), :mod:`~simenv.bench.shards`
(atomic shards, consolidated results), :mod:`~simenv.bench.runner` (:func:`run_matrix`),
:mod:`~simenv.bench.stats` (mean, IQM, stratified bootstrap, paired comparisons),
:mod:`~simenv.bench.timeline` (exposure per tick), :mod:`~simenv.bench.plots` (the only
importer of matplotlib), :mod:`~simenv.bench.report`, :mod:`~simenv.bench.regress`,
:mod:`~simenv.bench.replay`, :mod:`~simenv.bench.redteam` (the red-team learner), and :mod:`~simenv.bench.commands` (the CLI).

Importing this package is light; :func:`run_matrix` imports pandas and pyarrow when called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_matrix"]


def __getattr__(name: str) -> Any:
    if name == "run_matrix":
        from simenv.bench.runner import run_matrix

        return run_matrix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
