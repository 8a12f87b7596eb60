"""Executors: where chunks of episodes run.

* ``serial``: in this process (:class:`SerialExecutor`);
* ``local`` (the default): ``fork`` where that is safe (on Linux, in a process with no thread but its
  own: a command-line sweep), ``loky`` otherwise (a notebook's kernel runs threads);
* ``fork``: worker processes forked from this one (:func:`fork_pool`). They start with what this process
  has already imported and parsed (simenv, pandas, the scenario and profile files, the estate templates),
  where a fresh interpreter spends about 1 s of CPU on it (the main job: 0.86 of loky's wall time);
* ``loky``: loky's reusable process pool, whose workers are fresh interpreters and outlive one sweep
  (the next one reuses them);
* ``dask://HOST:PORT``: a Dask distributed scheduler, through ``Client.get_executor()``;
* any :class:`concurrent.futures.Executor` passed from Python.

Both pickle what they run with cloudpickle, so that agents defined in a notebook cell still reach the
workers. No worker outlives its parent: each worker runs :func:`watch_parent`, a daemon thread
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

POOLS = ("local", "fork", "loky")
"""The specs of a pool of worker processes on this machine."""
POLL_S = 0.5
IDLE_TIMEOUT_S = 30
DASK_TIMEOUT_S = 10


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        else:  # a Ctrl-C that lands once the call has returned reaches the caller itself, not the finished future
            fut.set_result(result)
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


def fork_safe() -> bool:
    """Whether this process may fork its workers: Linux, no Python thread but this one, rego-cpp mapped in time.

    A fork copies only the calling thread, so a lock another thread holds would stay held in every worker. A
    worker forked from a process that mapped libstdc++ before rego-cpp (``simenv._REGO_LOADED_LATE``) would leak
    on every Rego query as its parent does; loky's workers preload the library (:func:`worker_env`).
    """
    import simenv

    return sys.platform.startswith("linux") and threading.active_count() == 1 and not simenv._REGO_LOADED_LATE


def fork_pool(jobs: int) -> Executor:
    """A process pool of ``jobs`` workers forked from this process, each watching its parent."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=watch_parent, initargs=(os.getpid(),))


def _call_pickled(payload: bytes) -> Any:
    import pickle

    fn, args, kwargs = pickle.loads(payload)  # cloudpickle writes what plain pickle reads
    return fn(*args, **kwargs)


class RenewingExecutor(Executor):
    """A process pool (``fork`` or ``loky``), replaced by a fresh one when a dying worker has broken it.

    A worker that crashes (a segfault in a native library, the kernel's OOM killer, ``kill -9``) breaks the pool:
    it fails every future in flight and refuses new work. The next :meth:`submit` then starts a new pool, so the
    sweep goes on; the runner retries the episodes that were in flight, each on its own. A forked pool is renewed
    by fork only while :func:`fork_safe` (the broken pool's own threads may still be winding down), else by loky.
    """

    def __init__(self, jobs: int, method: str = "loky"):
        self.jobs = jobs
        self.inner = self._start(method)

    def _start(self, method: str) -> Any:
        self.method = method  # what the current pool is: set with it, here only
        return fork_pool(self.jobs) if method == "fork" else loky_executor(self.jobs)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        from concurrent.futures.process import BrokenProcessPool  # loky's is a subclass

        try:
            return self._submit(fn, args, kwargs)
        except BrokenProcessPool:
            self.inner = self._start("fork" if self.method == "fork" and fork_safe() else "loky")
            return self._submit(fn, args, kwargs)

    def _submit(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Future:
        if self.method != "fork":  # loky pickles with cloudpickle itself
            return self.inner.submit(fn, *args, **kwargs)
        import cloudpickle

        return self.inner.submit(_call_pickled, cloudpickle.dumps((fn, args, kwargs)))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False, kill_workers: bool = False) -> None:
        if self.method != "fork":
            self.inner.shutdown(wait=wait, kill_workers=kill_workers)
            return
        if kill_workers:
            for proc in list((getattr(self.inner, "_processes", None) or {}).values()):
                proc.kill()
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures or kill_workers)


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
        spec: ``"local"`` (or ``None``), ``"fork"``, ``"loky"``, ``"serial"``, ``"dask://HOST:PORT"``, or an
            executor.
        jobs: workers for ``local``, ``fork`` and ``loky``; ``None`` uses every CPU.
    """
    if jobs is not None and jobs < 1:
        raise SimenvError(f"jobs must be at least 1, not {jobs}")
    if isinstance(spec, Executor):
        yield spec, max(1, jobs or getattr(spec, "_max_workers", None) or default_jobs())
        return
    spec = spec or "local"
    if spec == "serial":
        yield SerialExecutor(), 1
    elif spec in POOLS:
        if spec == "fork" and not sys.platform.startswith("linux"):
            raise SimenvError("executor fork: worker processes are forked only on Linux; use local or loky")
        n = max(1, jobs or default_jobs())
        ex = RenewingExecutor(n, spec if spec != "local" else "fork" if fork_safe() else "loky")
        try:
            yield ex, n
        except BaseException:  # Ctrl-C or a crash: stop the workers now, do not leave them running
            ex.shutdown(wait=False, kill_workers=True)
            raise
        if ex.method == "fork":  # forked workers end with their pool (loky's wait for the next sweep)
            ex.shutdown()
    elif spec.startswith("dask://"):
        client = dask_client(spec)
        try:
            n = jobs or max(1, sum(client.nthreads().values()))
            yield client.get_executor(), n
        finally:
            client.close()
    else:
        raise SimenvError(f"unknown executor {spec!r}; use local, fork, loky, serial or dask://HOST:PORT")


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
