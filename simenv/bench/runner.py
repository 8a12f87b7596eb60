"""``run_matrix``: every scenario × profile × seed, on any executor, resumable, checked before it starts.

Everything is resolved and validated before an episode runs: every scenario, profile and agent
name (an unknown one is a one-line error with a suggestion), the executor, and the results
folder (a folder that holds another sweep is refused unless ``force``; ``resume`` finishes the
*same* sweep only). Episodes go out in chunks, and at most ``max_in_flight`` chunks are
submitted at once; a finished chunk is written as a shard before the next is submitted, so a
killed or interrupted sweep loses at most the chunks that were running, and ``resume=True``
runs only the keys no shard holds. A sweep in which episodes failed raises
:class:`SweepFailed` after writing its results, unless ``errors="row"``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

from simenv.bench import shards
from simenv.bench.executors import open_executor
from simenv.bench.tasks import (
    EXECUTOR_ERROR,
    Task,
    check_agent,
    chunked,
    describe,
    error_row,
    matrix,
    refs,
    run_chunk,
)
from simenv.errors import SimenvError

OUTPUTS = (shards.SHARDS, shards.MANIFEST, shards.EPISODES, shards.SUMMARY, "comparisons.csv", "report.html", "plots",
           shards.AUDIT)
"""What a sweep writes into its results folder (and ``force`` removes)."""


class SweepFailed(SimenvError):
    """Some episodes of a sweep failed; its results (error rows included) were written first.

    Attributes:
        frame: every row, the failed ones with their ``error``.
        failed: the failed rows.
    """

    def __init__(self, frame: Any, out: Path | None):
        self.frame = frame
        self.failed = frame[frame["error"].notna()] if "error" in frame.columns else frame.iloc[:0]
        where = f"; every row is in {out}/episodes.parquet" if out is not None else ""
        first = "; ".join(f"{r.scenario}/{r.policy}/seed {r.seed}: {r.error}" for r in self.failed.head(3).itertuples())
        super().__init__(f"{len(self.failed)} of {len(frame)} episodes failed{where}. First: {first}")


class SweepInterrupted(SimenvError):
    """The sweep was interrupted (Ctrl-C); the finished chunks are kept as shards."""

    def __init__(self, done: int, total: int, out: Path | None):
        self.done, self.total, self.out = done, total, out
        kept = f"; the finished ones are kept in {out}/{shards.SHARDS}" if out is not None else ""
        super().__init__(f"interrupted after {done} of {total} episodes{kept}")


def show_progress(progress: bool | None) -> bool:
    """Whether to draw a progress bar: forced by ``progress``, else only on a terminal outside CI."""
    if progress is not None:
        return progress
    if os.environ.get("CI"):
        return False
    return sys.stderr.isatty()


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar on stderr: the notebook widget where ipywidgets is installed, the text bar otherwise."""
    from tqdm.std import tqdm as text_bar

    bar: Any = text_bar
    if enabled and "ipykernel" in sys.modules:
        try:
            import ipywidgets  # noqa: F401 - only to know whether the widget bar can draw
            from tqdm.notebook import tqdm as widget_bar

            bar = widget_bar
        except ImportError:
            pass
    size = shutil.get_terminal_size((80, 24))  # a terminal that reports no size (0 x 0) would hide the bar
    # no monitor thread (tqdm starts one even for a disabled bar): a process with threads forks no workers
    bar = type("ProgressBar", (bar,), {"monitor_interval": 0})
    return bar(total=total, unit="ep", disable=not enabled, ncols=min(size.columns, 120), nrows=size.lines or 24,
               file=sys.stderr)


def chunk_size_for(n_tasks: int, workers: int) -> int:
    """About eight chunks per worker, between 1 and 64 episodes each."""
    return max(1, min(64, n_tasks // max(1, workers * 8)))


def run_tasks(tasks: Sequence[Task], executor: Executor, *, agent: Any = None, size: int | None = None,
              chunk_size: int = 8, max_in_flight: int = 4, sink=None, progress: bool = False,
              audit_dir: str | None = None) -> list[dict[str, Any]]:
    """Run ``tasks`` in chunks on ``executor``, at most ``max_in_flight`` chunks at a time.

    Each finished chunk's rows go to ``sink`` (if any) as soon as it completes. A chunk whose future fails (a worker
    died, and with it every chunk in flight; the agent did not pickle) is run again one episode at a time, with
    nothing else in flight, so that one crashing episode cannot take its neighbours with it; an episode that
    fails that way twice becomes an error row prefixed ``executor:``, which a resumed run retries. Ctrl-C cancels
    what has not started and raises :class:`SweepInterrupted`; the chunks already finished have gone to ``sink``.
    With ``audit_dir``, workers write each episode's audit log into that results folder.
    """
    queue = deque(chunked(tasks, chunk_size))
    alone: deque[list[Task]] = deque()  # episodes to rerun on their own after their chunk's future failed
    retried: set[tuple[str, str, int, str]] = set()
    pending: dict[Future, list[Task]] = {}
    rows: list[dict[str, Any]] = []
    bar = _progress_bar(len(tasks), progress)

    def fill() -> None:
        if alone:  # truly alone: once what is in flight has finished, one episode at a time on the whole pool
            if not pending:
                chunk = alone.popleft()
                pending[executor.submit(run_chunk, chunk, agent, size, audit_dir)] = chunk
            return
        while len(pending) < max(1, max_in_flight) and queue:
            chunk = queue.popleft()
            pending[executor.submit(run_chunk, chunk, agent, size, audit_dir)] = chunk

    def failed(chunk: list[Task], e: BaseException) -> list[dict[str, Any]]:
        out = []
        for t in chunk:
            if t.key in retried:
                why = describe(e)
                out.append(error_row(t, f"{EXECUTOR_ERROR}failed twice, the second time on its own: {why[:300]}"))
            else:
                retried.add(t.key)
                alone.append([t])
        return out

    try:
        fill()
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                chunk = pending.pop(fut)
                try:
                    got = fut.result()
                except Exception as e:  # noqa: BLE001 - the sweep goes on; the episodes run again alone
                    got = failed(chunk, e)
                if got:
                    if sink is not None:
                        sink(got)
                    rows.extend(got)
                    bar.update(len(got))
            fill()
    except KeyboardInterrupt:
        raise SweepInterrupted(len(rows), len(tasks), None) from None
    finally:
        for fut in pending:
            fut.cancel()
        bar.close()
    return rows


def _manifest_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two sweeps' ``matrix.json``, readable, or ``""``."""
    parts = []
    for key in ("scenarios", "policies", "seeds", "agent", "size"):
        a, b = old.get(key), new.get(key)
        if key in ("scenarios", "policies"):
            a, b = sorted(a or {}), sorted(b or {})
        if a != b:
            parts.append(f"{key} {a} there, {b} now")
    return "; ".join(parts)


def _used(out: Path) -> bool:
    return out.is_dir() and ((out / shards.MANIFEST).exists() or (out / shards.EPISODES).exists()
                             or any((out / shards.SHARDS).glob("part-*.jsonl")))


def _check_out(out: Path, resume: bool, force: bool) -> None:
    """The checks of :func:`prepare_out` that change nothing, made before the executor starts."""
    if out.exists() and not out.is_dir():
        raise SimenvError(f"--out {out}: is a file; name a folder for the results")
    shards.check_inside(out, (*OUTPUTS, shards.LOCK))
    if _used(out) and not (resume or force):
        raise SimenvError(f"{out} already holds results; pass --resume to finish the same sweep, --force to replace "
                          f"them, or choose another --out")


def prepare_out(out: Path, manifest: dict[str, Any], resume: bool, force: bool) -> list[dict[str, Any]]:
    """Check the results folder before a sweep writes into it; return the rows a resumed sweep keeps."""
    _check_out(out, resume, force)
    used = _used(out)
    if used and force:
        try:
            for name in OUTPUTS:
                target = out / name
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        except OSError as e:
            raise shards.ResultsWriteError(f"--force: cannot clear {out}: {e.strerror or e}") from None
        return []
    if resume and used:
        diff = _manifest_diff(shards.read_manifest(out), manifest)
        if diff:
            raise SimenvError(f"--resume: {out} holds another sweep ({diff}); resume the same matrix, or pass --force "
                              f"to replace it")
        return shards.read_shards(out, set_aside=True)
    return []


class EarlySummaries:
    """Each profile's summary, started on the sweep's executor as soon as the profile's last episode is in.

    So the summaries (:func:`simenv.bench.stats.summarize_profile`) run beside the episodes still to come.
    ``add`` is a sink of :func:`run_tasks`; ``started`` goes to :func:`~simenv.bench.stats.summarize`, which
    uses a part only if it was computed on exactly the final frame's rows of its profile.
    """

    def __init__(self, executor: Executor, order: Sequence[tuple[str, str, int, str]], tasks: Sequence[Task],
                 previous: Sequence[dict[str, Any]], workers: int = 1):
        from simenv.bench.stats import summarize_profile

        self._summarize, self._executor, self._workers = summarize_profile, executor, workers
        self._order: dict[tuple[str, str], list[tuple[str, str, int, str]]] = {}
        for k in order:
            self._order.setdefault((k[1], k[3]), []).append(k)
        self._left: dict[tuple[str, str], int] = {}
        for t in tasks:
            self._left[(t.policy, t.agent)] = self._left.get((t.policy, t.agent), 0) + 1
        wanted = set(order)
        self._rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in previous:  # a resumed sweep's rows first: a row that comes in now replaces them (shards.frame)
            if shards.row_key(r) in wanted:
                self._rows.setdefault((r["policy"], r["agent"]), []).append(r)
        self.started: dict[tuple[str, str], Future | None] = {}

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        from simenv.bench.stats import submit_split, try_submit

        for r in rows:
            key = (r["policy"], r["agent"])
            self._rows.setdefault(key, []).append(r)
            self._left[key] = self._left.get(key, 0) - 1
            if self._left[key] == 0:
                frame = shards.frame(self._rows[key], self._order.get(key, []))
                if any(self._left.values()):
                    self.started[key] = try_submit(self._executor, self._summarize, frame)
                else:  # the last profile: nothing else is left to run beside it, so it is shared among the workers
                    self.started[key] = submit_split(self._executor, frame, self._workers)


def _sinks(*sinks: Any) -> Any:
    live = [s for s in sinks if s is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]

    def each(rows: Any) -> None:
        for sink in live:
            sink(rows)

    return each


def run_matrix(scenarios: str | Sequence[str | Path] = "all", policies: str | Sequence[str | Path] = "all",
               seeds: int | Iterable[int] = 20, agent: Any = None, size: int | None = None, *,
               executor: str | Executor | None = "local", jobs: int | None = None, out: str | Path | None = None,
               resume: bool = False, force: bool = False, errors: str = "raise", chunk_size: int | None = None,
               max_in_flight: int | None = None, progress: bool | None = None, audit: bool = False):
    """Run every scenario × profile × seed and return one row per episode.

    Args:
        scenarios: ``"all"``, ``"a,b"``, or a list of shipped names and scenario file paths.
        policies: ``"all"``, ``"x,y"``, or a list of shipped names and profile file paths (a
            row's ``policy`` is the profile's ``name``).
        seeds: ``N`` (seeds ``0..N-1``) or the seeds themselves.
        agent: an agent name for every agent identity, an agent object, or ``None`` for the
            scenarios' scripted plans (see :func:`simenv.run_episode`).
        size: overrides every scenario's estate size.
        executor: ``"local"`` (worker processes: forked where that is safe, else loky's), ``"fork"``, ``"loky"``,
            ``"serial"``, ``"dask://HOST:PORT"``, or any
            :class:`concurrent.futures.Executor`.
        jobs: parallel workers (default: every CPU).
        out: a results folder; shards, ``episodes.parquet`` and ``summary.csv`` go there.
        resume: with ``out``, finish the same sweep: run only the episodes no shard holds yet.
        force: with ``out``, replace whatever results the folder holds.
        errors: ``"raise"`` (default): raise :class:`SweepFailed` after writing the results
            when an episode failed; ``"row"``: keep failed episodes as rows with their ``error``.
        chunk_size: episodes per chunk (default: about eight chunks per worker).
        max_in_flight: chunks submitted at once (default: twice the workers).
        progress: draw a progress bar (default: on a terminal, not in CI).
        audit: with ``out``, also keep every episode's audit log as ``out/audit/SCENARIO/PROFILE/AGENT/SEED.jsonl``
            (what ``simenv view`` opens); workers write them, so a Dask cluster needs ``out`` on a shared disk.

    Returns:
        A pandas DataFrame: scenario, policy, seed, agent, every score, error (``None`` when
        the episode ran), wall_s (wall time; never part of a determinism check).

    Raises:
        SimenvError: before anything runs, for an unknown or invalid scenario, profile or agent,
            a bad executor or ``jobs``, or a results folder that holds another sweep.
        SweepFailed: after the results are written, when episodes failed (``errors="raise"``).
        SweepInterrupted: on Ctrl-C, with the finished chunks kept.

    >>> df = run_matrix("delegated_admin", "allow_all,deny_all", seeds=2, executor="serial")
    >>> df[["policy", "seed", "task_success"]].values.tolist()
    [['allow_all', 0, True], ['allow_all', 1, True], ['deny_all', 0, False], ['deny_all', 1, False]]
    """
    from simenv.bench.stats import summarize

    if errors not in ("raise", "row"):
        raise SimenvError(f"errors must be 'raise' or 'row', not {errors!r}")
    if audit and out is None:
        raise SimenvError("audit=True needs out: the audit logs are written into the results folder")
    if jobs is not None and jobs < 1:
        raise SimenvError(f"jobs must be at least 1, not {jobs}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise SimenvError("no seeds: give at least one")
    srefs, prefs = refs(scenarios, "scenarios"), refs(policies, "policies")
    check_agent(agent)
    tasks = matrix(srefs, prefs, seed_list, agent)
    order = [t.key for t in tasks]
    label = tasks[0].agent if tasks else None
    manifest = {"scenarios": srefs, "policies": prefs, "seeds": seed_list, "agent": label, "size": size}
    previous: list[dict[str, Any]] = []
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:  # refuse a used or unsafe folder before anything starts (checked again under the lock)
        _check_out(out_dir, resume, force)
    with open_executor(executor, jobs) as (ex, workers), \
            shards.locked(out_dir) if out_dir is not None else contextlib.nullcontext():
        writer = None
        if out_dir is not None:  # the folder is made only once the executor is up, and written under its lock
            previous = prepare_out(out_dir, manifest, resume, force)
            done = shards.done_keys(previous)
            tasks = [t for t in tasks if t.key not in done]
            writer = shards.ShardWriter(out_dir)
            shards.write_manifest(out_dir, manifest)
        early = None
        if out_dir is not None and workers > 1:  # profile by profile, so that each summary starts before the end
            rank = {p: i for i, p in enumerate(prefs)}
            tasks = sorted(tasks, key=lambda t: rank.get(t.policy, len(rank)))
            early = EarlySummaries(ex, order, tasks, previous, workers)
        try:
            rows = run_tasks(tasks, ex, agent=agent, size=size,
                             chunk_size=chunk_size or chunk_size_for(len(tasks), workers),
                             max_in_flight=max_in_flight or 2 * workers,
                             sink=_sinks(writer.write if writer else None, early.add if early else None),
                             progress=show_progress(progress),
                             audit_dir=str(out_dir) if audit and out_dir is not None else None)
        except SweepInterrupted as e:
            raise SweepInterrupted(len(previous) + e.done, len(order), out_dir) from None
        wanted = set(order)
        df = shards.frame([r for r in [*previous, *rows] if shards.row_key(r) in wanted], order)
        if out_dir is not None:
            shards.write_results(out_dir, df, summarize(df, executor=ex if workers > 1 else None,
                                                          started=early.started if early else None))
    if errors == "raise" and "error" in df.columns and df["error"].notna().any():
        raise SweepFailed(df, out_dir)
    return df
