"""Executors: where chunks of episodes run.

* ``serial``: in this process (:class:`SerialExecutor`);
* ``local`` (the default): loky's reusable process pool, which pickles with cloudpickle so
  that agents defined in a notebook cell still reach the workers;
* ``dask://HOST:PORT``: a Dask distributed scheduler, through ``Client.get_executor()``;
* any :class:`concurrent.futures.Executor` passed from Python.

No worker outlives its parent: each loky worker runs :func:`watch_parent`, a daemon thread
that ends the worker as soon as its parent process is gone (even after ``kill -9``, when no
clean shutdown can happen); idle workers also exit after loky's idle timeout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from simenv.errors import SimenvError

POLL_S = 0.5
IDLE_TIMEOUT_S = 30
DASK_TIMEOUT_S = 10


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        return fut


def watch_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """Start a daemon thread that exits this process when ``parent_pid`` is no longer its parent."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(poll_s)

    threading.Thread(target=watch, name="simenv-parent-watch", daemon=True).start()


def default_jobs() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def loky_executor(jobs: int) -> Any:
    """The loky reusable executor with ``jobs`` workers that watch their parent."""
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=jobs, timeout=IDLE_TIMEOUT_S,
                                 initializer=watch_parent, initargs=(os.getpid(),), env=worker_env())


def worker_env() -> dict[str, str]:
    """What a loky worker's environment adds: rego-cpp's library preloaded, where regopy is installed.

    loky's bootstrap imports numpy before a worker imports simenv, too late for ``simenv._load_rego_first``:
    without it, every Rego query of the worker leaks memory.
    """
    import ctypes

    import simenv

    lib = simenv._rego_library()
    if lib is None or not sys.platform.startswith("linux") or " " in lib or ":" in lib:  # LD_PRELOAD splits on both
        return {}
    try:
        ctypes.CDLL(lib)  # only a library that loads here is preloaded there (else each worker's loader complains)
    except OSError:
        return {}
    return {"LD_PRELOAD": " ".join(x for x in (lib, os.environ.get("LD_PRELOAD", "")) if x)}


class RenewingExecutor(Executor):
    """loky's reusable process pool, replaced by a fresh one when a dying worker has broken it.

    A worker that crashes (a segfault in a native library, the kernel's OOM killer, ``kill -9``) breaks the pool:
    loky fails every future in flight and refuses new work. The next :meth:`submit` then starts a new pool, so the
    sweep goes on; the runner retries the episodes that were in flight, each on its own.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.inner = loky_executor(jobs)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        from joblib.externals.loky.process_executor import BrokenProcessPool

        try:
            return self.inner.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self.inner = loky_executor(self.jobs)
            return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False, kill_workers: bool = False) -> None:
        self.inner.shutdown(wait=wait, kill_workers=kill_workers)


def dask_address(spec: str) -> str:
    """``dask://HOST:PORT`` → ``tcp://HOST:PORT`` (other schemes pass through: ``dask://tls://...``)."""
    rest = spec[len("dask://"):]
    if not rest:
        raise SimenvError(f"executor {spec!r}: expected dask://HOST:PORT")
    return rest if "://" in rest else f"tcp://{rest}"


@contextlib.contextmanager
def open_executor(spec: str | Executor | None, jobs: int | None = None) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, parallelism)`` for an executor spec; close what was opened here.

    Args:
        spec: ``"local"`` (or ``None``), ``"serial"``, ``"dask://HOST:PORT"``, or an executor.
        jobs: workers for ``local``; ``None`` uses every CPU.
    """
    if jobs is not None and jobs < 1:
        raise SimenvError(f"jobs must be at least 1, not {jobs}")
    if isinstance(spec, Executor):
        yield spec, max(1, jobs or getattr(spec, "_max_workers", None) or default_jobs())
        return
    spec = spec or "local"
    if spec == "serial":
        yield SerialExecutor(), 1
    elif spec == "local":
        n = max(1, jobs or default_jobs())
        ex = RenewingExecutor(n)
        try:
            yield ex, n
        except BaseException:  # Ctrl-C or a crash: stop the workers now, do not leave them running
            ex.shutdown(wait=False, kill_workers=True)
            raise
    elif spec.startswith("dask://"):
        client = dask_client(spec)
        try:
            n = jobs or max(1, sum(client.nthreads().values()))
            yield client.get_executor(), n
        finally:
            client.close()
    else:
        raise SimenvError(f"unknown executor {spec!r}; use local, serial or dask://HOST:PORT")


def dask_client(spec: str, timeout_s: float | None = None) -> Any:
    """A connected ``distributed.Client``, or a one-line :class:`SimenvError` that says how to get one."""
    import logging

    from distributed import Client

    timeout_s = DASK_TIMEOUT_S if timeout_s is None else timeout_s
    address = dask_address(spec)
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # its retries are the same news, many times over
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as e:
        why = " ".join(str(e).split())[:160]
        raise SimenvError(f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s ({why}); start one "
                          f"with `dask scheduler`, or check the address") from None
    finally:
        quiet.setLevel(level)
