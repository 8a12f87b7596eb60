"""kill -9 of a running `simenv bench`: no worker survives it, and --resume finishes with the same rows.

The resumed sweep must give exactly the fingerprints of an uninterrupted one (run here, in this
process, after whatever other tests ran before).
"""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil

from simenv.bench.runner import run_matrix

ARGS = ["--scenarios", "delegated_admin,key_export", "--policies", "allow_all,static_rbac", "--seeds", "20",
        "--size", "2000", "--chunk-size", "2", "--no-report"]
COLS = ["scenario", "policy", "seed", "agent", "fingerprint", "blast_radius", "exposure", "task_success"]


def bench(out, *extra, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "simenv", "bench", *ARGS, "--out", str(out), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, **kw)


def alive(pids):
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def in_group(pgid):
    found = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p.pid)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            pass
    return found


def test_kill_9_leaves_no_worker_and_resume_completes(tmp_path):
    out = tmp_path / "res"
    proc = bench(out, "--executor", "local", "--jobs", "2", start_new_session=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline:
        workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        if len(list((out / "shards").glob("part-*.jsonl"))) >= 1 and workers:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    assert workers, "the bench never started workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "episodes.parquet").exists(), "the run finished before it could be killed"
    deadline = time.monotonic() + 20
    while (alive(workers) or in_group(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(workers) and not in_group(proc.pid)

    resumed = bench(out, "--executor", "local", "--jobs", "2", "--resume")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    got = pd.read_parquet(out / "episodes.parquet")
    want = run_matrix("delegated_admin,key_export", "allow_all,static_rbac", 20, size=2000,
                      executor="serial")
    assert len(got) == len(want) == 80 and got["error"].isna().all()
    key = ["scenario", "policy", "seed"]
    a = got[COLS].sort_values(key).astype(str).reset_index(drop=True)
    b = want[COLS].sort_values(key).astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
