"""What a user of ``simenv bench`` sees when something is wrong: one line that says what to do, the right exit
code, no traceback, and no results lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import simenv_cli

from simenv import files

SMALL = ["--scenarios", "delegated_admin", "--policies", "allow_all", "--seeds", "1", "--executor", "serial"]


def one_line_error(r: subprocess.CompletedProcess, code: int, *words: str) -> str:
    out = r.stderr + r.stdout
    assert r.returncode == code, (r.returncode, out)
    assert "Traceback" not in out, out
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 or lines[0].startswith("usage:"), r.stderr  # argparse prints its usage line first
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    return r.stderr


@pytest.mark.parametrize("args,words", [
    (["--policies", "statc_rbac"], ["unknown profile 'statc_rbac'", "did you mean 'static_rbac'"]),
    (["--scenarios", "scope_crep"], ["unknown scenario 'scope_crep'", "did you mean 'scope_creep'"]),
    (["--agent", "orcale"], ["unknown agent 'orcale'", "did you mean 'oracle'"]),
    (["--policies", "missing/profile.yaml"], ["missing/profile.yaml", "no such file"]),
    (["--scenarios", "all,missing.yaml"], ["missing.yaml"]),
    (["--jobs", "0"], ["--jobs", "must be at least 1"]),
    (["--seeds", "many"], ["--seeds", "not a whole number"]),
    (["--executor", "threads"], ["unknown executor 'threads'"]),
])
def test_a_bad_argument_is_one_line_exit_2_and_writes_nothing(args, words, tmp_path):
    out = tmp_path / "out"
    r = simenv_cli("bench", *SMALL, *args, "--out", str(out))
    one_line_error(r, 2, *words)
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "results"
    f.write_text("not a folder")
    one_line_error(simenv_cli("bench", *SMALL, "--out", str(f)), 2, "is a file")
    assert f.read_text() == "not a folder"


def test_an_unreachable_dask_scheduler_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    r = simenv_cli("bench", *SMALL[:-2], "--executor", "dask://127.0.0.1:9", "--out", str(tmp_path / "o"))
    one_line_error(r, 2, "cannot reach the Dask scheduler")
    assert not (tmp_path / "o").exists()


def test_a_used_folder_needs_resume_or_force_and_keeps_its_results(tmp_path):
    out = tmp_path / "out"
    assert simenv_cli("bench", *SMALL, "--out", str(out), "--no-report").returncode == 0
    before = pd.read_parquet(out / "episodes.parquet")
    one_line_error(simenv_cli("bench", *SMALL, "--out", str(out)), 2, "already holds results", "--resume", "--force")
    other = ["--scenarios", "scope_creep", *SMALL[2:]]
    one_line_error(simenv_cli("bench", *other, "--out", str(out), "--resume"), 2, "holds another sweep")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "episodes.parquet"), before)
    assert simenv_cli("bench", *SMALL, "--out", str(out), "--resume", "--no-report").returncode == 0
    r = simenv_cli("bench", *other, "--out", str(out), "--force", "--no-report")
    assert r.returncode == 0 and set(pd.read_parquet(out / "episodes.parquet")["scenario"]) == {"scope_creep"}


RAISING = '''
class Raising:
    name = "raising"
    def reset(self, identity, tool_schemas, rng):
        pass
    def act(self, obs):
        raise RuntimeError("agent blew up")
'''


def test_a_sweep_whose_episodes_failed_exits_1_after_writing_them(tmp_path):
    (tmp_path / "myagents.py").write_text(RAISING)
    out = tmp_path / "out"
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    r = simenv_cli("bench", *SMALL, "--agent", "myagents:Raising", "--out", str(out), env={"PYTHONPATH": path})
    assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert "RuntimeError: agent blew up" in r.stderr and "1 episode(s) failed" in r.stderr
    saved = pd.read_parquet(out / "episodes.parquet")
    assert len(saved) == 1 and saved["error"].str.contains("agent blew up").all()
    assert (out / "report.html").exists()


def test_ctrl_c_exits_130_keeps_chunks_and_prints_the_resume_command(tmp_path):
    out = tmp_path / "out"
    args = ["bench", "--scenarios", "all", "--policies", "allow_all,static_rbac", "--seeds", "6",
            "--executor", "serial", "--chunk-size", "1", "--out", str(out), "--no-report"]
    p = subprocess.Popen([sys.executable, "-m", "simenv", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    shards = out / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(shards.glob("part-*.jsonl")) if shards.exists() else []) < 3:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    assert "resume with: simenv bench" in stderr and "--resume" in stderr
    kept = len(list(shards.glob("part-*.jsonl")))
    assert kept >= 3
    r = simenv_cli(*args, "--resume")
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(out / "episodes.parquet")) == len(files.list_shipped("scenarios")) * 2 * 6
