"""What a user of ``simenv bench`` sees when something is wrong: one line that says what to do, the right exit
code, no traceback, and no results lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_second_sweep_on_a_folder_in_use_is_refused(tmp_path):
    from simenv.bench import shards
    from simenv.bench.runner import run_matrix
    from simenv.errors import SimenvError

    out = tmp_path / "out"
    with shards.locked(out):  # another sweep is writing here
        r = simenv_cli("bench", *SMALL, "--out", str(out))
        one_line_error(r, 2, "is in use by another sweep", f"process {os.getpid()}")
        with pytest.raises(SimenvError, match="in use by another sweep"):
            run_matrix("delegated_admin", "allow_all", 1, executor="serial", out=out, force=True)
    assert not (out / "episodes.parquet").exists()
    assert simenv_cli("bench", *SMALL, "--out", str(out), "--no-report").returncode == 0  # the lock died with it


def test_a_symlinked_output_is_refused_and_nothing_is_written_through_it(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "shards").symlink_to(elsewhere)
    for extra in ([], ["--force"], ["--resume"]):
        one_line_error(simenv_cli("bench", *SMALL, "--out", str(out), *extra), 2, "is a symlink")
    assert not any(elsewhere.iterdir())


def test_a_corrupt_shard_is_named_set_aside_and_redone(tmp_path):
    out = tmp_path / "out"
    args = ["--scenarios", "delegated_admin,scope_creep", "--policies", "allow_all", "--seeds", "2", "--executor",
            "serial", "--chunk-size", "1", "--no-report"]
    assert simenv_cli("bench", *args, "--out", str(out)).returncode == 0
    want = pd.read_parquet(out / "episodes.parquet")
    (out / "episodes.parquet").unlink()
    part = sorted((out / "shards").glob("part-*.jsonl"))[1]
    part.write_bytes(part.read_bytes()[:25])
    one_line_error(simenv_cli("report", str(out)), 2, part.name, "corrupt shard", "--resume")
    r = simenv_cli("bench", *args, "--out", str(out), "--resume")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert f"{part.name}: corrupt shard" in r.stderr and "set aside" in r.stderr
    assert (part.parent / (part.name + ".corrupt")).exists()
    got = pd.read_parquet(out / "episodes.parquet")
    cols = ["scenario", "policy", "seed", "fingerprint"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    (out / "matrix.json").write_text("{not json")
    one_line_error(simenv_cli("bench", *args, "--out", str(out), "--resume"), 2, "matrix.json", "--force")


def test_a_full_disk_is_one_line_and_resume_finishes(tmp_path):
    import resource

    out = tmp_path / "out"
    args = ["bench", "--scenarios", "delegated_admin,scope_creep", "--policies", "allow_all,static_rbac",
            "--seeds", "3", "--executor", "serial", "--chunk-size", "1", "--out", str(out)]

    def small_disk():  # files beyond 24 KiB cannot grow: EFBIG, as a full disk gives ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (24 * 1024, 24 * 1024))

    r = subprocess.run([sys.executable, "-m", "simenv", *args], capture_output=True, text=True, timeout=300,
                       preexec_fn=small_disk)
    one_line_error(r, 2, "cannot write", "--resume")
    kept = list((out / "shards").glob("part-*.jsonl"))
    assert kept  # the finished episodes are on disk
    r = simenv_cli(*args, "--resume")
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(out / "episodes.parquet")) == 12


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "out"
    assert simenv_cli("bench", *SMALL, "--out", str(out), "--no-report").returncode == 0
    return out


@pytest.mark.parametrize(("field", "value", "words"), [
    ("policies", ["allow_all"], "policies is not a table of names to files"),
    ("scenarios", {"delegated_admin": 7}, "scenarios is not a table"),
    ("seeds", "all", "seeds is not a list of integers"),
    ("seeds", [0, True], "seeds is not a list of integers"),
    ("agent", 5, "agent is not a name"),
    ("size", -1, "size is not an estate size"),
])
def test_a_crafted_matrix_json_is_one_line_for_report_view_and_resume(small_sweep, tmp_path, field, value, words):
    import json
    import shutil

    out = tmp_path / "out"
    shutil.copytree(small_sweep, out)
    doc = json.loads((out / "matrix.json").read_text())
    (out / "matrix.json").write_text(json.dumps({**doc, field: value}))
    for cmd in (["report", str(out)], ["bench", *SMALL, "--out", str(out), "--resume"],
                ["view", str(out), "--no-browser"]):
        one_line_error(simenv_cli(*cmd), 2, "matrix.json", words)


@pytest.mark.parametrize(("case", "words"), [("seed_text", "its seed column is not integers"),
                                             ("no_policy", "it has no policy column"),
                                             ("score_text", "its blast_radius column is not numbers"),
                                             ("agent_number", "its agent column is not text")])
def test_a_crafted_episodes_parquet_is_one_line_for_report_regress_and_view(small_sweep, tmp_path, case, words):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(small_sweep, out)
    df = pd.read_parquet(out / "episodes.parquet")
    df = {"seed_text": lambda: df.assign(seed=df["seed"].astype(str)), "no_policy": lambda: df.drop(columns=["policy"]),
          "score_text": lambda: df.assign(blast_radius="low"), "agent_number": lambda: df.assign(agent=7)}[case]()
    df.to_parquet(out / "episodes.parquet")
    baseline = Path(__file__).resolve().parents[1] / "benchmarks" / "baseline.json"
    for cmd in (["report", str(out)], ["regress", "--baseline", str(baseline), "--results", str(out)],
                ["view", str(out), "--no-browser"]):
        one_line_error(simenv_cli(*cmd), 2, "episodes.parquet", words, "--resume")
    if case == "seed_text":  # as the line says (once: the same rebuild for every case)
        assert simenv_cli("bench", *SMALL, "--out", str(out), "--resume", "--no-report").returncode == 0
        assert simenv_cli("report", str(out)).returncode == 0
