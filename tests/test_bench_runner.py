"""The matrix runner: executors agree, failing episodes become rows, shards are atomic, resume."""

import os
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd
import pytest

from simenv import files
from simenv.bench import shards, stats
from simenv.bench.executors import SerialExecutor, dask_address
from simenv.bench.runner import SweepFailed, SweepInterrupted, run_matrix
from simenv.bench.tasks import run_chunk
from simenv.errors import SimenvError, SpecError
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


@pytest.mark.parametrize("pool", ["fork", "loky", "local"])
def test_each_local_pool_gives_the_same_rows_as_serial(serial_rows, pool):
    local = run_matrix(SCEN, POLS, 3, executor=pool, jobs=2, chunk_size=2, max_in_flight=2)
    assert key_rows(local) == key_rows(serial_rows)


def test_local_forks_only_a_process_with_one_thread(monkeypatch):
    """A fork copies one thread; a lock another thread held would stay held in every worker: then loky's fresh
    interpreters. What a forked worker runs is pickled with cloudpickle: a lambda reaches it."""
    import threading

    import simenv
    from simenv.bench import executors

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    with executors.open_executor("local", 2) as (ex, _):
        assert ex.method == "fork"
        assert ex.submit(lambda x: x + 1, 41).result() == 42  # a lambda: cloudpickle, not plain pickle
    monkeypatch.setattr(simenv, "_REGO_LOADED_LATE", True)  # forked workers would leak as the parent does
    with executors.open_executor("local", 2) as (ex, _):
        assert ex.method == "loky"
    monkeypatch.setattr(simenv, "_REGO_LOADED_LATE", False)
    monkeypatch.setattr(threading, "active_count", lambda: 3)
    with executors.open_executor("local", 2) as (ex, _):
        assert ex.method == "loky"
    with executors.open_executor("fork", 2) as (ex, _):  # asked for by name: forked all the same
        assert ex.method == "fork"
        pids = {ex.submit(os.getpid).result() for _ in range(4)}
        assert os.getpid() not in pids
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)  # joined (and reaped) as the pool closed


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


def test_a_broken_scenario_file_is_refused_before_anything_runs(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("this_is_not_a_field: 1\n")
    ran = []
    with pytest.raises(SpecError) as e:
        run_matrix([str(bad), "delegated_admin"], "allow_all", 2, executor=_Counting(ran), out=tmp_path / "out")
    assert "broken.yaml" in str(e.value) and not ran and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kw,words", [
    ({"scenarios": "scope_crep"}, "did you mean 'scope_creep'"),
    ({"policies": "statc_rbac"}, "did you mean 'static_rbac'"),
    ({"agent": "llm_stub:carefull"}, "did you mean 'llm_stub:careful'"),
    ({"scenarios": "nowhere.yaml"}, "no such file"),
    ({"jobs": 0}, "jobs must be at least 1"),
    ({"executor": "threads"}, "unknown executor"),
])
def test_bad_names_and_options_are_one_line_errors_before_anything_runs(kw, words):
    args = {"scenarios": "delegated_admin", "policies": "allow_all", "executor": "serial", **kw}
    with pytest.raises(SimenvError) as e:
        run_matrix(args.pop("scenarios"), args.pop("policies"), 1, **args)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_all_may_be_listed_with_a_file(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text((files.shipped_dir("policies") / "static_rbac.yaml").read_text().replace("name: static_rbac",
                                                                                          "name: mine"))
    df = run_matrix("delegated_admin", f"all,{mine}", 1, executor="serial")
    assert set(df["policy"]) == {*files.list_shipped("policies"), "mine"}


class Raising:
    name = "raising"

    def reset(self, identity, tool_schemas, rng):
        pass

    def act(self, obs):
        raise RuntimeError("agent blew up")


def test_an_agent_that_raises_fails_the_sweep_after_writing_its_rows(tmp_path):
    with pytest.raises(SweepFailed) as e:
        run_matrix(["delegated_admin"], "allow_all", 2, agent=Raising(), executor="serial", out=tmp_path)
    assert "2 of 2 episodes failed" in str(e.value) and "RuntimeError: agent blew up" in str(e.value)
    saved = pd.read_parquet(tmp_path / "episodes.parquet")
    assert len(saved) == 2 and saved["error"].str.contains("RuntimeError: agent blew up").all()
    df = run_matrix(["delegated_admin"], "allow_all", 2, agent=Raising(), executor="serial", errors="row")
    assert len(df) == 2 and set(df["agent"]) == {"raising"}


def test_a_failed_chunk_runs_again_alone_and_a_second_failure_is_a_row():
    class Flaky(SerialExecutor):
        """The second submission fails, as if its worker died; ``bad`` episodes fail every time."""

        def __init__(self, bad=()):
            self.calls, self.bad = 0, bad

        def submit(self, fn, /, *args, **kwargs):
            self.calls += 1
            if self.calls == 2 or any(t.seed in self.bad for t in args[0]):
                return super().submit(lambda: (_ for _ in ()).throw(OSError("worker lost")))
            return super().submit(fn, *args, **kwargs)

    df = run_matrix(SCEN, "allow_all", 2, executor=Flaky(), chunk_size=2, errors="row")
    assert len(df) == 4 and df["error"].isna().all()  # the lost chunk's two episodes ran again, alone
    df = run_matrix(SCEN, "allow_all", 3, executor=Flaky(bad=(1,)), chunk_size=3, errors="row")
    errors = df.set_index(["scenario", "seed"])["error"]
    assert errors.notna().sum() == 2 and errors.xs(1, level="seed").notna().all()
    assert errors.dropna().str.startswith("executor: failed twice, the second time on its own: OSError").all()


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
    full = run_matrix(SCEN, POLS, 2, executor="serial", out=tmp_path, chunk_size=4)
    parts = sorted((tmp_path / "shards").glob("part-*.jsonl"))
    for p in parts[1:]:  # as if the sweep had been killed after its first chunk
        p.unlink()
    ran = []
    resumed = run_matrix(SCEN, POLS, 2, executor=_Counting(ran), out=tmp_path, resume=True, chunk_size=1)
    assert len(ran) == 2 * 3 * 2 - 4  # only what the lost shards held
    assert key_rows(resumed) == key_rows(full)


def test_a_used_results_folder_needs_resume_or_force(tmp_path):
    run_matrix(SCEN, "allow_all", 1, executor="serial", out=tmp_path)
    with pytest.raises(SimenvError) as e:
        run_matrix(SCEN, "allow_all", 1, executor="serial", out=tmp_path)
    assert "already holds results" in str(e.value) and "--resume" in str(e.value) and "--force" in str(e.value)
    with pytest.raises(SimenvError) as e:  # resume finishes the same sweep only
        run_matrix(SCEN, "deny_all", 1, executor="serial", out=tmp_path, resume=True)
    assert "holds another sweep" in str(e.value) and "policies" in str(e.value)
    df = run_matrix(SCEN, "deny_all", 1, executor="serial", out=tmp_path, force=True)
    assert set(pd.read_parquet(tmp_path / "episodes.parquet")["policy"]) == {"deny_all"} == set(df["policy"])
    assert len(list((tmp_path / "shards").glob("part-*.jsonl"))) >= 1
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(SimenvError, match="is a file"):
        run_matrix(SCEN, "allow_all", 1, executor="serial", out=afile)


class _Interrupting(SerialExecutor):
    """Finishes two chunks, then the user presses Ctrl-C."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, /, *args, **kwargs):
        self.n += 1
        if self.n > 2:
            raise KeyboardInterrupt
        return super().submit(fn, *args, **kwargs)


def test_ctrl_c_keeps_the_finished_chunks_and_resume_finishes(tmp_path):
    with pytest.raises(SweepInterrupted) as e:
        run_matrix(SCEN, POLS, 2, executor=_Interrupting(), out=tmp_path, chunk_size=1, max_in_flight=1)
    assert e.value.done == 2 and e.value.total == 12
    assert len(list((tmp_path / "shards").glob("part-*.jsonl"))) == 2
    ran = []
    run_matrix(SCEN, POLS, 2, executor=_Counting(ran), out=tmp_path, resume=True)
    assert len(ran) == 10


def test_a_ctrl_c_that_lands_as_the_serial_future_settles_reaches_the_sweep(tmp_path, monkeypatch):
    """A Ctrl-C raised after the call returned, while its future takes the result, is the caller's: the sweep
    stops as interrupted (before, the finished future was handed the interrupt too, and raised InvalidStateError)."""
    settle = Future.set_result

    def interrupted_on_the_way(self, result):
        settle(self, result)
        raise KeyboardInterrupt

    monkeypatch.setattr(Future, "set_result", interrupted_on_the_way)
    with pytest.raises(KeyboardInterrupt):
        SerialExecutor().submit(int, "1")
    with pytest.raises(SweepInterrupted) as e:
        run_matrix(SCEN, "allow_all", 2, executor="serial", out=tmp_path, chunk_size=1)
    assert e.value.done == 0 and e.value.total == 4


def test_an_unreachable_dask_scheduler_is_one_line_and_makes_no_folder(tmp_path):
    pytest.importorskip("distributed")
    from simenv.bench import executors

    out = tmp_path / "out"
    old = executors.DASK_TIMEOUT_S
    executors.DASK_TIMEOUT_S = 2
    try:
        with pytest.raises(SimenvError) as e:
            run_matrix("delegated_admin", "allow_all", 1, executor="dask://127.0.0.1:9", out=out)
    finally:
        executors.DASK_TIMEOUT_S = old
    assert "cannot reach the Dask scheduler" in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


class _Counting(SerialExecutor):
    def __init__(self, log):
        self.log = log

    def submit(self, fn, /, *args, **kwargs):
        if fn is run_chunk:  # episodes (the executor also gets each profile's summary)
            self.log.extend(args[0])
        return super().submit(fn, *args, **kwargs)


def test_two_profiles_of_one_name_are_refused(tmp_path):
    impostor = tmp_path / "pr.yaml"
    impostor.write_text((files.shipped_dir("policies") / "allow_all.yaml").read_text().replace("name: allow_all",
                                                                                            "name: static_rbac"))
    with pytest.raises(SimenvError) as e:
        run_matrix("delegated_admin", f"static_rbac,{impostor}", 1, executor="serial")
    assert "both the profile named 'static_rbac'" in str(e.value) and "\n" not in str(e.value)
    assert set(run_matrix("delegated_admin", "all,static_rbac", 1, executor="serial")["policy"]) == set(
        files.list_shipped("policies"))  # the same file twice is one profile


class _Summaries(SerialExecutor):
    """Runs everything at once; counts the profile summaries submitted, and may fail them."""

    def __init__(self, fail: bool = False):
        self.summaries, self.fail = 0, fail

    def submit(self, fn, /, *args, **kwargs):
        if fn is stats.summarize_profile:
            self.summaries += 1
            if self.fail:
                raise RuntimeError("the pool is broken")
        return super().submit(fn, *args, **kwargs)


def test_each_profile_is_summarized_on_the_executor_once_its_episodes_are_in(tmp_path, monkeypatch):
    alone = run_matrix(SCEN, POLS, 3, executor="serial", out=tmp_path / "serial")
    expected = pd.read_csv(tmp_path / "serial" / shards.SUMMARY)
    here = []  # summaries the parent computed itself
    real = stats.summarize_profile
    monkeypatch.setattr(stats, "summarize_profile", lambda *a: (here.append(1), real(*a))[1])
    ex = _Summaries()
    df = run_matrix(SCEN, POLS, 3, executor=ex, jobs=2, out=tmp_path / "early", chunk_size=2)
    assert key_rows(df) == key_rows(alone)
    # one per profile, started by the sweep, each used as it came; the last one in two shares, one per worker
    assert ex.summaries == len(POLS.split(",")) + 1
    assert len(here) == ex.summaries
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "early" / shards.SUMMARY), expected)
    broken = _Summaries(fail=True)  # a pool that takes no summary: the parent computes them, the same
    run_matrix(SCEN, POLS, 3, executor=broken, jobs=2, out=tmp_path / "broken", chunk_size=2)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "broken" / shards.SUMMARY), expected)


@pytest.mark.parametrize("parts", [1, 2, 3, 40])
def test_a_summary_shared_among_workers_is_the_summary_of_one(parts):
    df = run_matrix(SCEN, "allow_all,zero_standing", 4, executor="serial")
    whole = stats.summarize(df)
    with ThreadPoolExecutor(3) as ex:
        started = {k: stats.submit_split(ex, g, parts) for k, g in df.groupby(["policy", "agent"], sort=False)}
        pd.testing.assert_frame_equal(stats.summarize(df, started=started), whole)
        broken = _Summaries(fail=True)
        assert stats.submit_split(broken, df[df["policy"] == "allow_all"], parts) is None

    class SecondShareFails(SerialExecutor):
        def __init__(self):
            self.n = 0

        def submit(self, fn, /, *args, **kwargs):
            self.n += 1
            return super().submit(fn if self.n != 2 else _dies, *args, **kwargs)

    key = ("allow_all", "scripted")
    joined = stats.submit_split(SecondShareFails(), df[df["policy"] == "allow_all"], max(2, parts))
    with pytest.raises(RuntimeError):
        joined.result()
    pd.testing.assert_frame_equal(stats.summarize(df, started={key: joined}), whole)  # a failed share: done here


def _dies(*args):
    raise RuntimeError("a worker died")


def test_a_summary_of_other_rows_is_not_used():
    df = run_matrix(SCEN, "allow_all", 3, executor="serial")
    first = df[df["seed"] < 2]
    with ThreadPoolExecutor(1) as ex:  # a part started on fewer rows than the frame has: computed again
        stale = {("allow_all", "scripted"): ex.submit(stats.summarize_profile, first)}
        got = stats.summarize(df, started=stale)
    pd.testing.assert_frame_equal(got, stats.summarize(df))
    assert not got.equals(stats.summarize(first))
