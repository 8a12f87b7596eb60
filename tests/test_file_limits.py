"""Reading untrusted files is bounded: size, file kind, nesting, aliases, keys, numbers, text; messages stay short."""

import os
import threading
import time

import pytest

from simenv import files
from simenv.errors import MAX_MESSAGE, MAX_PROBLEMS, SpecError, clip, quote


def _problem(fn, *args):
    with pytest.raises(SpecError) as e:
        fn(*args)
    return e.value


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    done = []
    t = threading.Thread(target=lambda: done.append(_problem(files.read_text, fifo)), daemon=True)
    t.start()
    t.join(5)
    assert done, "reading a FIFO blocked"
    assert "not a regular file (a FIFO)" in done[0].render()


def test_devices_folders_and_large_files_are_refused(tmp_path):
    t0 = time.perf_counter()
    assert "a device" in _problem(files.read_text, "/dev/zero").render()
    assert time.perf_counter() - t0 < 1
    assert "a folder" in _problem(files.read_text, tmp_path).render()
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * files.MAX_FILE_BYTES + b"\n")
    assert f"larger than {files.MAX_FILE_BYTES} bytes" in _problem(files.read_text, big).render()
    ok = tmp_path / "ok.yaml"
    ok.write_bytes(b"a: " + b"x" * (files.MAX_FILE_BYTES - 10) + b"\n")
    assert len(files.read_text(ok)) == files.MAX_FILE_BYTES - 6


def test_aliases_count_as_copies_and_the_budget_names_the_line():
    levels = ["&a0 [" + ", ".join(["x"] * 10) + "]"] + [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 7)]
    e = _problem(files.parse_yaml, "a: 1\nb: [" + ", ".join(levels) + "]\n", "bomb.yaml")
    assert e.problems[0][0].startswith("line 2, column ") and f"more than {files.MAX_NODES} nodes" in e.problems[0][1]
    small = "a: &x [1, 2, 3]\nb: *x\nc: [*x, *x]\n"
    assert files.parse_yaml(small, "ok.yaml") == {"a": [1, 2, 3], "b": [1, 2, 3], "c": [[1, 2, 3], [1, 2, 3]]}
    assert "refers to a node that contains it" in _problem(files.parse_yaml, "a: &r [1, *r]\n", "r.yaml").render()


def test_nesting_is_bounded_with_the_line():
    ok = "a: " + "[" * (files.MAX_DEPTH - 2) + "]" * (files.MAX_DEPTH - 2) + "\n"
    files.parse_yaml(ok, "ok.yaml")
    for deep in ("[" * 5000 + "]" * 5000, "{a: " * 700 + "1" + "}" * 700):
        e = _problem(files.parse_yaml, "a: " + deep + "\n", "deep.yaml")
        assert e.problems[0][0].startswith("line 1,") and f"nested more than {files.MAX_DEPTH}" in e.problems[0][1]


@pytest.mark.parametrize("text, words", [
    ("? [a, b]\n: 1\n", "a list used as a key"),
    ("{[a]: 1}\n", "a list used as a key"),
    ("? {a: 1}\n: 1\n", "a dict used as a key"),
    ("a: 1\na: 2\n", "duplicate key 'a' (first at line 1)"),
    ("a: " + "9" * 5000 + "\n", "an integer of 5000 digits is too large"),
    ('a: "x\\ud800"\n', "a lone surrogate ('\\ud800') is not Unicode text"),
    ('"\\udfff": 1\n', "a lone surrogate"),
    ("a: !!binary aGk=\n", "the YAML tag !!binary is not supported"),
    ("a: !!set {x}\n", "the YAML tag !!set is not supported"),
    ("a: !!timestamp 2001-12-14\n", "the YAML tag !!timestamp is not supported"),
    ("a: !!python/object:os.system x\n", "could not determine a constructor"),
])
def test_yaml_that_parses_into_trouble_is_refused_with_the_line(text, words):
    e = _problem(files.parse_yaml, text, "t.yaml")
    assert e.problems[0][0].startswith("line ") and words in e.problems[0][1], e.render()


def test_a_date_stays_text():
    assert files.parse_yaml("a: 2024-01-01\nb: 2001-12-14 21:59:43.10 -5\n", "d.yaml") == {
        "a": "2024-01-01", "b": "2001-12-14 21:59:43.10 -5"}


def test_non_finite_numbers_are_refused_with_their_field():
    data = files.parse_yaml("a: {b: [1, .inf]}\nc: .nan\nd: 1.0e+400\ne: 1.5\n", "n.yaml")
    assert sorted(f for f, _ in files.non_finite(data)) == ["a.b[1]", "c", "d"]
    from simenv.scenario.schema import ScenarioSpec

    e = _problem(files.validate, ScenarioSpec, data, "n.yaml")
    assert all("is not a finite number" in m for _, m in e.problems)


def test_messages_stay_short_and_on_one_line():
    assert len(quote(list(range(10**6)))) <= 120
    assert quote(10**5000) == "<an integer of 16610 bits>"
    assert quote("a\nb\ud800") == "'a\\nb\\ud800'"
    assert clip("x" * 10**6, 50) == "x" * 47 + "..."
    assert clip("a\nb\x1b[2J\u202e") == "a\\nb\\x1b[2J\\u202e"
    e = SpecError("f.yaml", [(f"k{i}\nz", "m" * 10_000) for i in range(100)])
    lines = e.render().split("\n")
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == f"f.yaml: <more>: {100 - MAX_PROBLEMS} more problems not shown"
    assert lines[0].startswith("f.yaml: k0\\nz: ") and all(len(x) < MAX_MESSAGE + 300 for x in lines)
    assert len(e.problems) == 100


def test_the_cache_keys_on_content_not_text(tmp_path):
    seen = []

    def loader(path, text):
        seen.append(text)
        return len(text)

    load = files.cached(loader, size=2)
    p = tmp_path / "f.yaml"
    for content in ("a", "bb", "a", "ccc", "a", "bb"):
        p.write_text(content)
        assert load(p) == len(content)
    assert seen == ["a", "bb", "ccc", "bb"]  # least recently used first out: "ccc" evicted "bb", not "a"
