"""simenv replay treats a log as data from anywhere: it checks it, and it never lets the log decide which files
are opened or which code is imported."""

import json

import pytest
from conftest import simenv_cli

from simenv.bench.replay import replay
from simenv.errors import SimenvError


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "run.jsonl"
    r = simenv_cli("run", "scope_creep", "--policy", "static_rbac", "--seed", "2", "--audit", str(path))
    assert r.returncode == 0, r.stderr
    return path


def crafted(log, tmp_path, **header):
    lines = log.read_text().splitlines()
    head = {**json.loads(lines[0]), **header}
    path = tmp_path / "crafted.jsonl"
    path.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    return path


@pytest.mark.parametrize("header,words", [
    ({"scenario": "/etc/passwd"}, "not a shipped one; pass --scenario FILE"),
    ({"scenario": "../../secrets.yaml"}, "not a shipped one"),
    ({"profile": "/dev/zero"}, "not a shipped one; pass --policy FILE"),
    ({"profile": "mine"}, "not a shipped one"),
    ({"agent": "replay:/etc/shadow"}, "not a registered agent name"),
    ({"agent": "os:system"}, "not a registered agent name"),
    ({"seed": "x"}, "is not a seed"),
    ({"seed": -1}, "is not a seed"),
    ({"seed": 2**70}, "is not a seed"),
    ({"size": 10**12}, "is not an estate size"),
    ({"size": [1]}, "is not an estate size"),
    ({"scenario": {"a": 1}}, "is not a name"),
    ({"kind": "nonsense"}, "unknown kind"),
])
def test_a_crafted_header_is_one_line_and_opens_nothing(log, tmp_path, header, words):
    path = crafted(log, tmp_path, **header)
    with pytest.raises(SimenvError, match=words.replace("(", r"\(")):
        replay(path)
    r = simenv_cli("replay", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "root:" not in r.stderr + r.stdout


@pytest.mark.parametrize("body", [b"\xff\xfe not text\n", b"[1, 2]\n", b'{"kind": "episode", "seq": NaN}\n',
                                  b"[" * 100_000 + b"\n", b"{\n"])
def test_a_malformed_log_is_one_line(tmp_path, body):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(body)
    r = simenv_cli("replay", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert str(path) in r.stderr


def test_a_log_of_own_files_replays_with_the_files_named(log, tmp_path):
    from simenv import files

    mine = tmp_path / "mine.yaml"
    mine.write_text((files.shipped_dir("policies") / "static_rbac.yaml").read_text().replace("name: static_rbac",
                                                                                            "name: mine"))
    path = tmp_path / "mine.jsonl"
    assert simenv_cli("run", "scope_creep", "--policy", str(mine), "--seed", "2", "--audit", str(path)).returncode == 0
    r = simenv_cli("replay", str(path))
    assert r.returncode == 2 and "pass --policy FILE" in r.stderr
    r = simenv_cli("replay", str(path), "--policy", str(mine))
    assert r.returncode == 0 and "match" in r.stdout


def test_a_transcript_or_a_foreign_log_says_what_to_pass_instead(tmp_path):
    transcript = tmp_path / "t.jsonl"
    r = simenv_cli("record", "scope_creep", "--policy", "static_rbac", "--seed", "2", "--out", str(transcript))
    assert r.returncode == 0, r.stderr
    r = simenv_cli("replay", str(transcript))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "a transcript written by simenv record" in r.stderr and f"--agent replay:{transcript}" in r.stderr
    other = tmp_path / "other.jsonl"
    other.write_text('{"event": "login"}\n')
    r = simenv_cli("replay", str(other))
    assert r.returncode == 2 and "no record kind, so this is not an audit log" in r.stderr, r.stderr


def test_a_log_cut_short_is_a_mismatch_that_says_so(log, tmp_path):
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(log.read_text().splitlines()[:-2]) + "\n")
    r = simenv_cli("replay", str(cut))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "MISMATCH" in r.stdout and "no end record" in r.stdout, r.stdout
    whole = replay(log)
    assert whole.ok and not whole.cut_short and replay(cut).cut_short
