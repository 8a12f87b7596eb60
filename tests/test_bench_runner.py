"""The matrix runner: executors agree, failing episodes become rows, shards are atomic, resume."""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from simenv import files
from simenv.bench import shards
from simenv.bench.executors import SerialExecutor, dask_address
from simenv.bench.runner import run_matrix
from simenv.metrics import SCORE_NAMES

SCEN = ["delegated_admin", "scope_creep"]
POLS = "allow_all,deny_all,static_rbac"
KEYS = ["scenario", "policy", "seed", "fingerprint"]


def key_rows(df: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, df[KEYS].astype(str).values))


@pytest.fixture(scope="module")
def serial_rows():
    return run_matrix(SCEN, POLS, 3, executor="serial")


def test_rows_have_identity_every_score_and_error(serial_rows):
    df = serial_rows
    assert len(df) == 2 * 3 * 3
    assert list(df.columns[:4]) == ["scenario", "policy", "seed", "agent"]
    assert set(SCORE_NAMES) <= set(df.columns) and "error" in df.columns
    assert df["error"].isna().all() and set(df["agent"]) == {"scripted"}


def test_local_loky_gives_the_same_rows_as_serial(serial_rows):
    local = run_matrix(SCEN, POLS, 3, executor="local", jobs=2, chunk_size=2, max_in_flight=2)
    assert key_rows(local) == key_rows(serial_rows)


def test_any_concurrent_executor_gives_the_same_rows(serial_rows):
    with ThreadPoolExecutor(2) as ex:
        threaded = run_matrix(SCEN, POLS, 3, executor=ex, chunk_size=1, max_in_flight=3)
    assert key_rows(threaded) == key_rows(serial_rows)


def test_dask_localcluster_gives_the_same_rows(serial_rows):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://")
        got = run_matrix(SCEN, POLS, 3, executor="dask://" + addr[len("tcp://"):], chunk_size=3)
    assert key_rows(got) == key_rows(serial_rows)


def test_dask_address():
    assert dask_address("dask://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    assert dask_address("dask://tls://h:1") == "tls://h:1"


def test_a_broken_scenario_file_becomes_rows_with_its_error(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("this_is_not_a_field: 1\n")
    df = run_matrix([str(bad), "delegated_admin"], "allow_all", 2, executor="serial")
    assert len(df) == 4
    broken = df[df["scenario"] == "broken"]
    assert len(broken) == 2 and broken["error"].str.contains("broken.yaml").all()
    assert broken["fingerprint"].isna().all()
    assert df[df["scenario"] == "delegated_admin"]["error"].isna().all()


class Raising:
    name = "raising"

    def reset(self, identity, tool_schemas, rng):
        pass

    def act(self, obs):
        raise RuntimeError("agent blew up")


def test_an_agent_that_raises_becomes_error_rows():
    df = run_matrix(["delegated_admin"], "allow_all", 2, agent=Raising(), executor="serial")
    assert len(df) == 2 and set(df["agent"]) == {"raising"}
    assert df["error"].str.contains("RuntimeError: agent blew up").all()


def test_a_failing_chunk_becomes_rows_and_the_sweep_goes_on():
    class Flaky(SerialExecutor):
        calls = 0

        def submit(self, fn, /, *args, **kwargs):
            Flaky.calls += 1
            if Flaky.calls == 2:
                return super().submit(lambda: (_ for _ in ()).throw(OSError("worker lost")))
            return super().submit(fn, *args, **kwargs)

    df = run_matrix(SCEN, "allow_all", 2, executor=Flaky(), chunk_size=1)
    assert len(df) == 4
    assert df["error"].notna().sum() == 1 and df["error"].dropna().iloc[0].startswith("executor: OSError")


def test_profile_file_rows_carry_the_profile_name(tmp_path):
    src = files.shipped_dir("policies") / "static_rbac.yaml"
    mine = tmp_path / "renamed_copy.yaml"
    mine.write_text(src.read_text())
    df = run_matrix(["scope_creep"], [str(mine)], 2, executor="serial")
    assert set(df["policy"]) == {"static_rbac"}


def test_shards_are_atomic_and_results_consolidated(tmp_path, monkeypatch):
    synced = []
    real = shards.os.fsync
    monkeypatch.setattr(shards.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / ".part-000000.jsonl.999.tmp").write_text('{"half": ')
    df = run_matrix(SCEN, "allow_all", 3, executor="serial", out=tmp_path, chunk_size=2)
    parts = sorted((tmp_path / "shards").glob("part-*.jsonl"))
    assert len(parts) == 3 and not list((tmp_path / "shards").glob("*.tmp"))
    assert len(synced) >= 3
    saved = pd.read_parquet(tmp_path / "episodes.parquet")
    assert key_rows(saved) == key_rows(df)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"mean", "mean_lo", "mean_hi", "iqm", "iqm_lo", "iqm_hi"} <= set(summary.columns)


def test_resume_runs_only_what_is_missing(tmp_path):
    full = run_matrix(SCEN, POLS, 2, executor="serial")
    run_matrix(SCEN, "allow_all", 2, executor="serial", out=tmp_path)
    before = len(list((tmp_path / "shards").glob("part-*.jsonl")))
    ran = []
    resumed = run_matrix(SCEN, POLS, 2, executor=_Counting(ran), out=tmp_path, resume=True, chunk_size=1)
    assert len(ran) == 2 * 2 * 2  # only deny_all and static_rbac episodes ran
    assert len(list((tmp_path / "shards").glob("part-*.jsonl"))) == before + len(ran)
    assert key_rows(resumed) == key_rows(full)


class _Counting(SerialExecutor):
    def __init__(self, log):
        self.log = log

    def submit(self, fn, /, *args, **kwargs):
        self.log.extend(args[0])
        return super().submit(fn, *args, **kwargs)
