"""Fuzz ``simenv validate`` and ``simenv run`` with mutated files, in child processes that may crash.

Every case (a mutated file from :mod:`simenv.testing.mutate`, or a regression file) must either

* be **rejected**: ``simenv validate FILE`` exits 2, and every line it prints names the file and
  a field (``FILE: FIELD: message``), with no traceback; or
* **run**: ``validate`` exits 0, and ``simenv run`` on it (a scenario under a shipped profile; a
  profile, or the profile naming a policy file, on a shipped scenario) exits 0 with no traceback;

and neither may take more than ``timeout`` seconds, grow the process's memory by more than
``mem_mb``, or write more than a megabyte. Anything else is a failure, attributed to its case:
``traceback``, ``message`` (exit 2 without a file:field line, or a line too long),
``validate_ok_run_failed``, ``crash`` (the worker died: a segfault in an engine), ``hang``,
``memory``, ``output``.

Cases run in-process through the ``validate`` and ``run`` commands as ``simenv`` runs them
(:func:`simenv.cli.common.invoke`), in a few spawned worker processes, each reused until a case
kills it. The parent watches every worker: a worker that dies, overruns the timeout or grows past
``kill_mb`` is killed and replaced, and the case it was running is reported. A worker measures each case's peak memory by
resetting the kernel's high-water mark (``/proc/self/clear_refs``) before it.

The mutator is :mod:`simenv.testing.mutate`; this module is the command ``simenv fuzz`` (it lives in
the CLI layer because what it runs is the CLI)::

    simenv fuzz                                # the CI slice: seed 0, the first SLICE cases
    simenv fuzz --all                          # the whole corpus (FULL cases)
    simenv fuzz --files tests/data/fuzz/*/*    # regression files
    simenv fuzz --all --seed 3 --save /tmp/fuzz-failures   # another corpus; keep what fails
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simenv.cli.common import Command, build_parsers, invoke

if TYPE_CHECKING:
    from simenv.testing import mutate

SLICE = 194
"""Cases in the CI slice (two rounds of :func:`simenv.testing.mutate.plan`: every pair twice)."""
FULL = 679
"""Cases in the whole corpus (seven rounds)."""
TIMEOUT = 10.0
"""Seconds a case's validate, or each of its runs, may take."""
MEM_MB = 200.0
"""Megabytes a case may grow its process by (its peak over the resident size it started with)."""
KILL_MB = 1024.0
"""Megabytes of growth at which the parent kills a worker rather than wait for the case to end."""
OUTPUT_BYTES = 1 << 20
"""Bytes a case may print (its messages, and what native code writes to the worker's stdout and stderr)."""
MAX_LINE = 1000
MAX_LINES = 60
"""The longest error line, and the most lines, a rejected file may print."""
FAILURES = ("traceback", "message", "validate_ok_run_failed", "crash", "hang", "memory", "output")
"""Every kind of failure, in the order the summary lists them."""

DEFAULT_PROFILE = {"rules": "zero_standing", "cedar": "intent_cedar", "rego": "intent_rego"}
"""The shipped profile a policy regression file runs under (rewritten to name it)."""
DEFAULT_PARTNER = {"scenario": "jit_approval", "profile": "supply_chain_pipeline", "rules": "supply_chain_pipeline",
                   "cedar": "supply_chain_pipeline", "rego": "supply_chain_pipeline"}
"""What a regression file runs with: a profile for a scenario, a scenario otherwise."""


@dataclass(frozen=True)
class Job:
    """Case ``index`` of the corpus of ``seed``, or the regression file ``path`` (its folder names its target)."""

    seed: int = 0
    index: int = -1
    path: str | None = None

    @property
    def label(self) -> str:
        return self.path if self.path is not None else f"seed {self.seed} case {self.index}"


@dataclass
class Outcome:
    """What one case did."""

    job: Job
    name: str = ""
    target: str = ""
    kind: str = ""
    status: str = ""
    validate_rc: int | None = None
    run_rc: int | None = None
    detail: str = ""
    seconds: float = 0.0
    peak_mb: float | None = None
    rss_mb: float | None = None
    phase: str = ""
    messages: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in FAILURES


# --------------------------------------------------------------------------- building a case
def from_file(path: str | Path) -> mutate.Case:
    """A regression file as a case; its parent folder (``scenario``, ``profile``, ``rules``, ...) names its target."""
    from simenv.testing import mutate

    p = Path(path)
    target = p.parent.name
    if target not in mutate.TARGETS:
        raise ValueError(f"{p}: a regression file lives in a folder named after its target ({', '.join(mutate.TARGETS)})")
    return mutate.Case(-1, target, "regression", str(p), p.name, p.read_bytes(), DEFAULT_PARTNER[target],
                       DEFAULT_PROFILE.get(target))


RUN_PROFILES = ("zero_standing", "intent_cedar", "intent_rego")
"""Besides its partner, every valid scenario runs under these: native rules with approvals and monitors, Cedar, Rego."""
RUN_SCENARIOS = ("break_glass_access", "stolen_credential_replay")
"""Besides its partner, every valid profile or policy runs on these: approvals with a quorum, a stolen credential."""


def materialize(case: mutate.Case, root: Path) -> tuple[Path, list[list[str]]]:
    """Write ``case`` into a fresh copy of the shipped policies under ``root``; its path and each run's arguments."""
    import yaml

    from simenv import files

    policies = root / "policies"
    shutil.copytree(files.shipped_dir("policies"), policies)
    if case.target == "scenario":
        path = root / "scenarios" / case.filename
        runs = [[str(path), "--policy", p] for p in dict.fromkeys((case.partner, *RUN_PROFILES))]
    elif case.target == "profile":
        path = policies / case.filename
        runs = [[s, "--policy", str(path)] for s in dict.fromkeys((case.partner, *RUN_SCENARIOS))]
    else:
        path = policies / case.target / case.filename
        profile = case.profile or DEFAULT_PROFILE[case.target]
        doc = yaml.safe_load((policies / f"{profile}.yaml").read_text(encoding="utf-8"))
        doc["authorizer"]["policy"] = f"{case.target}/{case.filename}"
        prof = policies / f"{profile}.fuzz.yaml"
        prof.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        runs = [[s, "--policy", str(prof)] for s in dict.fromkeys((case.partner, *RUN_SCENARIOS))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.data)
    return path, [["run", *r, "--json"] for r in runs]


def message_problem(path: Path, stderr: str) -> str | None:
    """Why the error output of a rejected file is not one ``FILE: FIELD: message`` line per problem, or ``None``."""
    lines = [x for x in stderr.split("\n") if x]
    if not lines:
        return "exit 2 with no message"
    if len(lines) > MAX_LINES:
        return f"{len(lines)} lines of error (at most {MAX_LINES})"
    prefix = f"{path}: "
    for x in lines:
        if len(x) > MAX_LINE:
            return f"a line of {len(x)} characters (at most {MAX_LINE}): {x[:120]!r}..."
        if not x.startswith(prefix):
            return f"a line that does not name the file: {x[:200]!r}"
        rest = x[len(prefix):]
        where, sep, msg = rest.partition(": ")
        if not sep or not where.strip() or not msg.strip():
            return f"a line that names no field: {x[:200]!r}"
    return None


# --------------------------------------------------------------------------- the worker
def _status() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of this process, in kB (empty where /proc is unavailable)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+)", text, re.M)}


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def _parsers() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The parser of ``simenv validate`` and ``simenv run`` (the commands every case goes through)."""
    from simenv.cli import episodes

    p, _ = build_parsers(episodes.COMMANDS, "simenv", "")
    return p, {c.name: c for c in episodes.COMMANDS}


def _call(argv: list[str]) -> tuple[int | None, str, str, str]:
    """``simenv ARGV`` in this process: exit status (``None`` after an exception), stdout, stderr, traceback.

    The command runs as ``simenv`` runs it (:func:`simenv.cli.common.invoke`: the same command
    function and the same mapping of errors to exit statuses); an exception that escapes it is
    what the fuzzer looks for, and is returned as a traceback.
    """
    parser, cmds = _parsers()
    out, err = io.StringIO(), io.StringIO()
    tb = ""
    rc: int | None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            a = parser.parse_args(argv)
            rc = invoke(cmds[a.cmd], a)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 2
    except Exception:  # noqa: BLE001 - every exception that escapes the CLI is the finding
        rc, tb = None, traceback.format_exc(limit=8)
    return rc, out.getvalue(), err.getvalue(), tb


def execute(case: mutate.Case, root: Path, timeout: float = TIMEOUT, mem_mb: float = MEM_MB,
            notify: Callable[[str, str], None] = lambda name, phase: None, native: Callable[[], int] = lambda: 0,
            job: Job | None = None) -> Outcome:
    """Run one case in this process: validate, then run if valid; classify what happened."""
    out = Outcome(job or Job(), case.name, case.target, case.kind)
    gc.collect()
    measured = _reset_peak()
    before = _status().get("VmRSS", 0)
    notify(case.name, "validate")
    path, runs = materialize(case, root)
    t0 = time.perf_counter()
    rc, stdout, stderr, tb = _call(["validate", str(path)])
    out.seconds = time.perf_counter() - t0
    out.validate_rc, out.phase = rc, "validate"
    out.messages = stderr.split("\n")[:5]
    written = len(stdout) + len(stderr)
    if tb or "Traceback (most recent call last)" in stderr:
        out.status, out.detail = "traceback", (tb or stderr)[-2000:]
    elif rc == 2:
        why = message_problem(path, stderr)
        out.status, out.detail = ("message", why) if why else ("rejected", "")
    elif rc != 0:
        out.status, out.detail = "message", f"validate exited {rc}: {stderr[-500:]}"
    else:
        out.status = "ran"
        for argv in runs:
            label = f"run {argv[1]} --policy {Path(argv[3]).stem}"
            notify(case.name, label)
            t0 = time.perf_counter()
            rc, stdout, stderr, tb = _call(argv)
            out.seconds = max(out.seconds, time.perf_counter() - t0)
            out.run_rc, out.phase = rc, label
            written += len(stdout) + len(stderr)
            if tb or "Traceback (most recent call last)" in stderr:
                out.status, out.detail = "traceback", (tb or stderr)[-2000:]
            elif rc != 0:
                out.status, out.detail = "validate_ok_run_failed", f"run exited {rc}: {stderr[-500:]}"
                out.messages = stderr.split("\n")[:5]
            if out.failed:
                break
    peak = _status().get("VmHWM") if measured else None
    out.peak_mb = round(max(0, peak - before) / 1024, 1) if peak is not None else None
    out.rss_mb = round(_status().get("VmRSS", 0) / 1024, 1)
    written += native()
    if not out.failed:
        if out.seconds > timeout:
            out.status, out.detail = "hang", f"{out.phase} took {out.seconds:.1f} s"
        elif out.peak_mb is not None and out.peak_mb > mem_mb:
            out.status, out.detail = "memory", f"{out.phase} grew the process by {out.peak_mb:.0f} MB"
        elif written > OUTPUT_BYTES:
            out.status, out.detail = "output", f"{written} bytes of output"
    return out


def _warm_up() -> None:
    """Load every engine once, so that a case's memory does not count the engines' own."""
    for profile in ("zero_standing", "intent_cedar", "intent_rego"):
        _call(["run", "break_glass_access", "--policy", profile, "--json"])


def _worker(conn: Connection, timeout: float, mem_mb: float, headroom_mb: float) -> None:
    """A worker process: run the jobs it is sent, one at a time, and send back their outcomes."""
    import resource

    from simenv.testing import mutate

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    scratch = Path(tempfile.mkdtemp(prefix="simenv-fuzz-"))
    log = open(scratch / "native.log", "w+b")  # noqa: SIM115 - lives as long as the worker
    for fd in (1, 2):  # what the engines write outside Python goes here, not to the test's output
        os.dup2(log.fileno(), fd)

    def native() -> int:
        n = os.fstat(log.fileno()).st_size
        log.truncate(0)
        log.seek(0)
        return n

    try:
        _warm_up()
        native()
        try:  # a backstop under the parent's watch: an allocation far past the kill threshold fails here
            soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            data = int(Path("/proc/self/status").read_text().split("VmData:")[1].split()[0]) * 1024
            cap = data + int(headroom_mb * 2**20)
            if hard == resource.RLIM_INFINITY or cap < hard:
                resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
        except (OSError, ValueError, IndexError):
            pass
        conn.send(("ready", _status().get("VmRSS", 0)))
        while True:
            job: Job | None = conn.recv()
            if job is None:
                return
            conn.send(("phase", job.label, "generate"))
            root = scratch / "case"
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            try:
                case = from_file(job.path) if job.path is not None else mutate.case(job.seed, job.index)
            except Exception:  # noqa: BLE001 - a mutator bug is reported, not fatal
                conn.send(("done", Outcome(job, job.label, status="traceback", phase="generate",
                                           detail=traceback.format_exc(limit=6))))
                continue
            def notify(name: str, phase: str, case: mutate.Case = case) -> None:
                conn.send(("phase", name, phase, case.target, case.kind))

            res = execute(case, root, timeout, mem_mb, notify, native, job)
            conn.send(("done", res))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- the parent
def _rss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    m = re.search(r"^VmRSS:\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else 0


class _Slot:
    """One worker process, its pipe, and the job it is running."""

    def __init__(self, ctx: Any, timeout: float, mem_mb: float, kill_mb: float):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, timeout, mem_mb, kill_mb + 512), daemon=True)
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.pos = -1
        self.target = self.kind = ""
        self.name, self.phase, self.deadline, self.base_kb, self.case_kb = "", "", 0.0, 0, 0
        self.ready = False
        self.started = time.monotonic()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def run(jobs: Iterable[Job], workers: int = 2, timeout: float = TIMEOUT, mem_mb: float = MEM_MB,
        kill_mb: float = KILL_MB, progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every job in ``workers`` child processes; one :class:`Outcome` per job, in job order."""
    ctx = multiprocessing.get_context("spawn")
    order = list(jobs)
    todo = deque(range(len(order)))
    results: dict[int, Outcome] = {}
    grace = 2.0  # scheduling noise on shared machines: the worker's own clock classifies slowness
    startup = 120.0
    slots = [_Slot(ctx, timeout, mem_mb, kill_mb) for _ in range(max(1, min(workers, len(todo))))]

    def finish(slot: _Slot, out: Outcome) -> None:
        results[slot.pos] = out
        slot.job = None
        if progress:
            progress(out)

    def replace(i: int, status: str, detail: str) -> None:
        slot = slots[i]
        job = slot.job
        slot.kill()
        if job is not None:
            finish(slot, Outcome(job, slot.name or job.label, slot.target, slot.kind, status=status, phase=slot.phase,
                                 detail=detail, seconds=round(time.monotonic() - slot.started, 2)))
        slots[i] = _Slot(ctx, timeout, mem_mb, kill_mb)

    try:
        while len(results) < len(order):
            for slot in slots:
                if slot.ready and slot.job is None and todo:
                    slot.pos = todo.popleft()
                    slot.job = order[slot.pos]
                    slot.name, slot.phase = slot.job.label, "send"
                    slot.started = time.monotonic()
                    slot.deadline = slot.started + timeout + grace
                    slot.case_kb = _rss_kb(slot.proc.pid) or slot.base_kb
                    slot.conn.send(slot.job)
            live = [s.conn for s in slots]
            ready = wait(live, timeout=0.05)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if slot.conn in ready:
                    try:
                        msg = slot.conn.recv()
                    except (EOFError, OSError):
                        code = slot.proc.join(5) or slot.proc.exitcode
                        if not slot.ready:
                            raise RuntimeError(f"a fuzz worker died while starting (exit {code})") from None
                        replace(i, "crash", f"the worker died in {slot.phase} (exit status {slot.proc.exitcode})")
                        continue
                    if msg[0] == "ready":
                        slot.ready, slot.base_kb = True, msg[1]
                    elif msg[0] == "phase":
                        slot.name, slot.phase, slot.deadline = msg[1], msg[2], now + timeout + grace
                        slot.target, slot.kind = msg[3:5] if len(msg) > 3 else ("", "")
                    elif msg[0] == "done":
                        finish(slot, msg[1])
                    continue
                if not slot.ready:
                    if now - slot.started > startup:
                        raise RuntimeError("a fuzz worker did not start")
                    continue
                if slot.job is None:
                    continue
                if now > slot.deadline:
                    replace(i, "hang", f"{slot.phase} ran past {timeout:.0f} s")
                elif (_rss_kb(slot.proc.pid) - slot.case_kb) / 1024 > kill_mb:
                    replace(i, "memory", f"{slot.phase} grew the worker past {kill_mb:.0f} MB")
    finally:
        for slot in slots:
            with contextlib.suppress(Exception):
                slot.conn.send(None)
            slot.proc.join(2)
            slot.kill()
    return [results[i] for i in range(len(order))]


# --------------------------------------------------------------------------- reporting
def _worst(outcomes: Sequence[Outcome], key: Callable[[Outcome], float]) -> list[Any] | None:
    top = max(outcomes, key=key, default=None)
    return [round(key(top), 2), top.name] if top is not None else None


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Counts by status and exit codes, the slowest and the hungriest case, and every failure."""
    passing = [o for o in outcomes if not o.failed]
    timed = max(outcomes, key=lambda o: o.seconds, default=None)
    mem = max((o for o in outcomes if o.peak_mb is not None), key=lambda o: o.peak_mb or 0.0, default=None)
    return {
        "cases": len(outcomes),
        "status": dict(sorted(Counter(o.status for o in outcomes).items())),
        "validate_exit": dict(sorted(Counter(str(o.validate_rc) for o in outcomes).items())),
        "run_exit": dict(sorted(Counter(str(o.run_rc) for o in outcomes if o.run_rc is not None).items())),
        "kinds": dict(sorted(Counter(o.kind for o in outcomes).items())),
        "worst_seconds": [timed.seconds, timed.name] if timed else None,
        "worst_mb": [mem.peak_mb, mem.name] if mem else None,
        "worker_rss_mb": max((o.rss_mb for o in outcomes if o.rss_mb is not None), default=None),
        "worst_passing_seconds": _worst(passing, lambda o: o.seconds),
        "worst_passing_mb": _worst(passing, lambda o: o.peak_mb or 0.0),
        "failures": [{"case": o.name, "job": o.job.label, "status": o.status, "phase": o.phase, "detail": o.detail[-600:]}
                     for o in outcomes if o.failed],
    }


def save(outcomes: Sequence[Outcome], folder: Path) -> list[Path]:
    """Write every failing corpus case into ``folder/<target>/<name>.<ext>``, ready to keep as a regression file."""
    from simenv.testing import mutate

    written = []
    for o in outcomes:
        if o.failed and o.job.path is None:
            case = mutate.case(o.job.seed, o.job.index)
            dest = folder / case.target / f"{case.kind}-{Path(case.base).stem}-{case.index}{Path(case.filename).suffix}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(case.data)
            written.append(dest)
    return written


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cases", type=int, default=SLICE, help=f"how many corpus cases (default {SLICE}, the CI slice)")
    p.add_argument("--start", type=int, default=0, help="the first case's index")
    p.add_argument("--all", action="store_true", help=f"the whole corpus ({FULL} cases)")
    p.add_argument("--files", nargs="+", default=None, type=Path,
                   help="regression files instead of the corpus, each in a folder named after its target "
                        "(scenario, profile, rules, cedar, rego)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=TIMEOUT, help=f"seconds per step of a case (default {TIMEOUT:.0f})")
    p.add_argument("--save", type=Path, default=None, help="write each failing corpus case here, to keep as a regression")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def cmd_fuzz(a: argparse.Namespace) -> int:
    """Run a slice of the corpus (or all of it, or files); exit 1 if a case fails, 2 on a bad file argument."""
    from simenv.errors import SimenvError
    from simenv.testing import mutate

    if a.files is not None:
        for f in a.files:
            if f.parent.name not in mutate.TARGETS or not f.is_file():
                raise SimenvError(f"{f}: a regression file lives in a folder named after its target "
                                  f"({', '.join(mutate.TARGETS)})")
        jobs = [Job(path=str(f)) for f in a.files]
    else:
        n = FULL if a.all else a.cases
        jobs = [Job(a.seed, i) for i in range(a.start, a.start + n)]
    t0 = time.monotonic()

    def progress(o: Outcome) -> None:
        if o.failed and not a.json:
            last = o.detail.strip().splitlines()[-1] if o.detail.strip() else ""
            print(f"FAIL {o.status:<22} {o.name}: {last[:300]}", file=sys.stderr)

    outcomes = run(jobs, a.workers, a.timeout, progress=progress)
    s = summary(outcomes)
    s["wall_seconds"] = round(time.monotonic() - t0, 1)
    if a.save:
        s["saved"] = [str(x) for x in save(outcomes, a.save)]
    if a.json:
        print(json.dumps(s, indent=1))
    else:
        print(json.dumps({k: v for k, v in s.items() if k != "failures"}, indent=1))
        for f in s["failures"]:
            last = f["detail"].strip().splitlines()[-1:] or [""]
            print(f"{f['status']:<22} {f['case']} ({f['phase']}): {last[0][:300]}")
    return 1 if s["failures"] else 0


COMMANDS = (
    Command("fuzz", "run mutated copies of the shipped files (or regression files) through validate and run, "
                    "in child processes; exit 1 if a case crashes, hangs, blows memory or prints a traceback",
            _configure, cmd_fuzz),
)
