"""simenv view without a browser: bench --audit, the trail index, re-running an unrecorded episode, bad arguments."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simenv.bench.runner import run_matrix
from simenv.bench.shards import audit_path
from simenv.sim.audit import Audit
from simenv.view.diff import align
from simenv.view.trail import PAGE, Trail

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("viewdata") / "results"
    df = run_matrix(["scope_creep", "delegated_admin"], ["static_rbac", "zero_standing"], 2, executor="serial", out=out,
                    audit=True)
    return out, df.reset_index(drop=True)


def test_bench_audit_keeps_each_episodes_log_and_its_fingerprint_is_the_rows(sweep):
    out, df = sweep
    for r in df.itertuples():
        log = Audit.from_jsonl(audit_path(out, r.scenario, r.policy, r.agent, r.seed))
        assert log.fingerprint() == r.fingerprint
        assert (log.header.scenario, log.header.profile, log.header.seed) == (r.scenario, r.policy, r.seed)


def test_the_trail_index_pages_a_long_log_and_reads_records_back(tmp_path, sweep):
    out, _ = sweep
    one = audit_path(out, "scope_creep", "zero_standing", "scripted", 0).read_text().splitlines()
    body = [json.loads(x) for x in one[1:-1]]
    lines = [one[0]]
    while len(lines) < 3 * PAGE + 7:  # a log longer than three pages, renumbered
        for d in body:
            lines.append(json.dumps({**d, "seq": len(lines)}))
    lines.append(json.dumps({**json.loads(one[-1]), "seq": len(lines)}))
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    t = Trail(path=path)
    assert len(t) == len(lines)
    page = t.page(PAGE, PAGE)
    assert [r["seq"] for r in page] == list(range(PAGE, 2 * PAGE))
    assert len(t.page(0, 10 * PAGE)) == PAGE  # never more than a page
    last = t.page(len(t) - 3, PAGE)
    assert [r["kind"] for r in last][-1] == "end"
    seq = next(i for i, x in enumerate(lines) if json.loads(x)["kind"] == "call")
    assert t.record(seq) == json.loads(lines[seq])


def test_a_log_cut_short_is_drawn_as_far_as_it_goes(tmp_path, sweep):
    out, _ = sweep
    whole = audit_path(out, "scope_creep", "static_rbac", "scripted", 0).read_text().splitlines()
    full = Trail(path=audit_path(out, "scope_creep", "static_rbac", "scripted", 0)).summary()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(whole[:-3]) + "\n")  # the end record and two before it are gone (a run killed mid-way)
    s = Trail(path=cut).summary()
    last = max(json.loads(x).get("tick") or 0 for x in whole[:-3])
    assert s["end"] is None and full["end"] is not None and s["last_tick"] == last
    assert len(s["exposure"]) == last + 1 < len(full["exposure"])  # to the last tick recorded, not the horizon
    assert s["exposure"] == full["exposure"][: last + 1]  # what it did record, charged as the finished log charges it
    live = [b for b in s["credentials"] if b["how"] == "live when the log stops"]
    assert live and all(b["end"] == last + 1 for b in live if b["expires_at"] is None)
    assert len(Trail(path=cut).page(0, PAGE)) == len(whole) - 3


def test_an_unrecorded_episode_is_re_run_to_the_same_log(sweep, tmp_path):
    from simenv.view.server import Viewer

    out, df = sweep
    i = int(df[(df["scenario"] == "scope_creep") & (df["policy"] == "zero_standing") & (df["seed"] == 1)].index[0])
    recorded = audit_path(out, "scope_creep", "zero_standing", "scripted", 1)
    text = recorded.read_text()
    recorded.unlink()
    try:
        v = Viewer(out)
        ep = v.episode(i)
        assert ep["source"] == "re-run (fingerprint matches)"
        rows = v.trail(i).page(0, PAGE)
        assert [r["seq"] for r in rows] == list(range(len(text.splitlines())))
    finally:
        recorded.write_text(text)


def test_diff_aligns_two_profiles_calls_and_finds_the_first_differing_decision(sweep):
    out, _ = sweep
    a = Trail(path=audit_path(out, "scope_creep", "zero_standing", "scripted", 0)).calls()
    b = Trail(path=audit_path(out, "scope_creep", "static_rbac", "scripted", 0)).calls()
    d = align(a, b)
    first = d["rows"][d["first"]]
    assert (first["a"] is None or first["b"] is None
            or (first["a"]["text"].split(" · ")[1] != first["b"]["text"].split(" · ")[1]))
    assert all(r["same"] for r in d["rows"][: d["first"]])
    same = align(a, a)
    assert same["first"] is None and same["differing"] == 0


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simenv", "view", *args, "--no-browser"], capture_output=True, text=True,
                          cwd=cwd, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


CRAFTED = {  # a log is data from anywhere: each edit of a good log, and what the one line says
    "end_tick_text": (lambda d: {**d, "tick": "x"} if d["kind"] == "end" else d, "tick x is not a tick"),
    "huge_tick": (lambda d: {**d, "tick": 10**12} if d["kind"] == "call" else d, "is not a tick of an episode"),
    "huge_horizon": (lambda d: {**d, "exposure_horizon": 10**12} if d["kind"] == "episode" else d, "exposure_horizon"),
    "text_horizon": (lambda d: {**d, "exposure_horizon": "soon"} if d["kind"] == "episode" else d, "exposure_horizon"),
    "no_credential_id": (lambda d: {k: v for k, v in d.items() if k != "credential"} if d["kind"] == "credential" else d,
                         "malformed"),
    "seq_text": (lambda d: {**d, "seq": "one"} if d["kind"] == "call" else d, "malformed"),
}


@pytest.mark.parametrize("case", ["missing", "empty_dir", "not_jsonl", "bad_line", "transcript", *CRAFTED])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, case, sweep):
    out, _ = sweep
    target = tmp_path / case
    if case in CRAFTED:
        good = audit_path(out, "scope_creep", "static_rbac", "scripted", 0).read_text().splitlines()
        target.write_text("\n".join(json.dumps(CRAFTED[case][0](json.loads(x))) for x in good) + "\n")
    elif case == "empty_dir":
        target.mkdir()
    elif case == "not_jsonl":
        target.write_text("hello, not a log\n")
    elif case == "bad_line":
        good = audit_path(out, "scope_creep", "static_rbac", "scripted", 0).read_text().splitlines()
        target.write_text("\n".join([*good[:3], "{broken", *good[3:]]) + "\n")
    elif case == "transcript":
        target.write_text(json.dumps({"type": "header", "scenario": "x"}) + "\n")
    r = run(str(target), cwd=tmp_path)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simenv: ") and str(target) in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not r.stdout
    if case == "bad_line":
        assert "line 4" in lines[0]
    if case in CRAFTED:
        assert CRAFTED[case][1] in lines[0], lines[0]


def test_a_port_that_is_taken_is_one_line_and_exit_2(tmp_path, sweep):
    import socket

    out, _ = sweep
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run(str(out), "--port", str(s.getsockname()[1]), cwd=tmp_path)
    assert r.returncode == 2 and "--port" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
