"""``run_matrix``: every scenario × profile × seed, on any executor, resumable.

Episodes go out in chunks, and at most ``max_in_flight`` chunks are submitted at once; a
finished chunk is written as a shard before the next is submitted, so a killed sweep loses
at most the chunks that were running. ``resume=True`` runs only the keys no shard holds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

from simenv.bench import shards
from simenv.bench.executors import open_executor
from simenv.bench.tasks import EXECUTOR_ERROR, Task, chunked, describe, error_row, matrix, refs, run_chunk


def show_progress(progress: bool | None) -> bool:
    """Whether to draw a progress bar: forced by ``progress``, else only on a terminal outside CI."""
    if progress is not None:
        return progress
    if os.environ.get("CI"):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()


def chunk_size_for(n_tasks: int, workers: int) -> int:
    """About eight chunks per worker, between 1 and 64 episodes each."""
    return max(1, min(64, n_tasks // max(1, workers * 8)))


def run_tasks(tasks: Sequence[Task], executor: Executor, *, agent: Any = None, size: int | None = None,
              chunk_size: int = 8, max_in_flight: int = 4, sink=None, progress: bool = False) -> list[dict[str, Any]]:
    """Run ``tasks`` in chunks on ``executor``, at most ``max_in_flight`` chunks at a time.

    Each finished chunk's rows go to ``sink`` (if any) as soon as it completes. A chunk whose
    future fails (a worker died, the agent did not pickle) becomes error rows prefixed
    ``executor:``, which a resumed run retries.
    """
    from tqdm.auto import tqdm

    queue = iter(chunked(tasks, chunk_size))
    pending: dict[Future, list[Task]] = {}
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(tasks), unit="ep", disable=not progress, dynamic_ncols=True)

    def fill() -> None:
        while len(pending) < max(1, max_in_flight):
            chunk = next(queue, None)
            if chunk is None:
                return
            pending[executor.submit(run_chunk, chunk, agent, size)] = chunk

    try:
        fill()
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                chunk = pending.pop(fut)
                try:
                    got = fut.result()
                except Exception as e:  # noqa: BLE001 - the sweep goes on; the rows say why
                    got = [error_row(t, EXECUTOR_ERROR + describe(e)) for t in chunk]
                if sink is not None:
                    sink(got)
                rows.extend(got)
                bar.update(len(got))
            fill()
    finally:
        for fut in pending:
            fut.cancel()
        bar.close()
    return rows


def run_matrix(scenarios: str | Sequence[str | Path] = "all", policies: str | Sequence[str | Path] = "all",
               seeds: int | Iterable[int] = 20, agent: Any = None, size: int | None = None, *,
               executor: str | Executor | None = "local", jobs: int | None = None, out: str | Path | None = None,
               resume: bool = False, chunk_size: int | None = None, max_in_flight: int | None = None,
               progress: bool | None = None):
    """Run every scenario × profile × seed and return one row per episode.

    Args:
        scenarios: ``"all"``, ``"a,b"``, or a list of shipped names and scenario file paths.
        policies: ``"all"``, ``"x,y"``, or a list of shipped names and profile file paths (a
            row's ``policy`` is the profile's ``name``).
        seeds: ``N`` (seeds ``0..N-1``) or the seeds themselves.
        agent: an agent name for every agent identity, an agent object, or ``None`` for the
            scenarios' scripted plans (see :func:`simenv.run_episode`).
        size: overrides every scenario's estate size.
        executor: ``"local"`` (loky processes), ``"serial"``, ``"dask://HOST:PORT"``, or any
            :class:`concurrent.futures.Executor`.
        jobs: parallel workers (default: every CPU).
        out: a results folder; shards, ``episodes.parquet`` and ``summary.csv`` go there.
        resume: with ``out``, run only the episodes no shard holds yet.
        chunk_size: episodes per chunk (default: about eight chunks per worker).
        max_in_flight: chunks submitted at once (default: twice the workers).
        progress: draw a progress bar (default: on a terminal, not in CI).

    Returns:
        A pandas DataFrame: scenario, policy, seed, agent, every score, error (``None`` when
        the episode ran), wall_s (wall time; never part of a determinism check).

    >>> df = run_matrix("delegated_admin", "allow_all,deny_all", seeds=2, executor="serial")
    >>> df[["policy", "seed", "task_success"]].values.tolist()
    [['allow_all', 0, True], ['allow_all', 1, True], ['deny_all', 0, False], ['deny_all', 1, False]]
    """
    from simenv.bench.stats import summarize

    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    srefs, prefs = refs(scenarios, "scenarios"), refs(policies, "policies")
    tasks = matrix(srefs, prefs, seed_list, agent)
    order = [t.key for t in tasks]
    writer, previous = None, []
    if out is not None:
        out = Path(out)
        if not resume and (out / shards.SHARDS).exists():
            for p in (out / shards.SHARDS).glob("part-*.jsonl"):
                p.unlink()
        writer = shards.ShardWriter(out)
        label = tasks[0].agent if tasks else None
        shards.write_manifest(out, {"scenarios": srefs, "policies": prefs, "seeds": seed_list, "agent": label,
                                    "size": size})
        if resume:
            previous = shards.read_shards(out)
            done = shards.done_keys(previous)
            tasks = [t for t in tasks if t.key not in done]
    with open_executor(executor, jobs) as (ex, workers):
        rows = run_tasks(tasks, ex, agent=agent, size=size,
                         chunk_size=chunk_size or chunk_size_for(len(tasks), workers),
                         max_in_flight=max_in_flight or 2 * workers,
                         sink=writer.write if writer else None, progress=show_progress(progress))
    wanted = set(order)
    df = shards.frame([r for r in [*previous, *rows] if shards.row_key(r) in wanted], order)
    if out is not None:
        shards.write_results(out, df, summarize(df))
    return df
