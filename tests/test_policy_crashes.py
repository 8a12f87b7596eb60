"""Policy files that kill cedarpy or regopy are refused before the engine sees them, and a crash at validate is an error.

Each crasher is first run against the real library in a child process (pytest itself must never
segfault), to show that the refusal guards against something real; then simenv must refuse it
in-process, from ``simenv validate``, ``simenv run`` and ``simenv bench``, with one
``file: field`` line and exit 2. A crash that no precheck knows is caught by the child process
``simenv validate`` compiles in.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import simenv_cli

from simenv.errors import SpecError
from simenv.governance import isolate, policy_text
from simenv.governance.cedar import CedarAuthorizer
from simenv.governance.native import NativeRules
from simenv.governance.rego import RegoAuthorizer

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "policies" / "cases" / "intent_cases.yaml"
CEDAR_HEAD = '@id("x")\npermit(principal, action, resource) when { '
REGO_HEAD = "package simenv\nimport rego.v1\n"


def cedar(expr: str) -> str:
    return CEDAR_HEAD + expr + " };\n"


def rego_eval(expr: str) -> str:
    return REGO_HEAD + f"decision := x if {{ x := {expr} }}\n"


# name -> (engine, policy text, the signal the raw library dies of, words of simenv's refusal)
CRASHERS = {
    "rego without a package line": ("rego", "x = a", signal.SIGSEGV, "must start with a package declaration"),
    "rego unknown uuid built-in": ("rego", "package simenv\nx := uuid.zzz(1)\n", signal.SIGABRT, "'uuid' names a namespace"),
    "rego unknown io built-in": ("rego", 'package simenv\nx := io["zzz"](1)\n', signal.SIGABRT, "'io' names a namespace"),
    "rego a built-in called without arguments": ("rego", rego_eval("count()"), signal.SIGSEGV, "called with 0 argument(s)"),
    "rego object.subset on arrays": ("rego", rego_eval("object.subset([], [])"), signal.SIGSEGV,
                                     "object.subset is not allowed"),
    "rego rand.intn of zero": ("rego", rego_eval('rand.intn("a", 0)'), signal.SIGFPE, "rand.intn is not allowed"),
    "rego json.unmarshal of deep text": ("rego", rego_eval('json.unmarshal("' + "[" * 5000 + "]" * 5000 + '")'),
                                         signal.SIGSEGV, "json.unmarshal is not allowed"),
    "rego brackets 51,200 deep": ("rego", "package simenv\nx := " + "(" * 51200 + "1" + ")" * 51200, signal.SIGSEGV,
                                  "the limit is 32,768"),
    "cedar parentheses 800 deep": ("cedar", cedar("(" * 800 + "true" + ")" * 800), signal.SIGSEGV, "nesting goes 801 deep"),
    "cedar arrays 800 deep": ("cedar", cedar("[" * 800 + "1" + "]" * 800 + " == [1]"), signal.SIGSEGV, "nesting goes 801 deep"),
}
RAW = {  # what the library does with the text, without simenv
    "rego": """
import regopy, sys
from regopy import rego_shared as c
r = regopy.Interpreter(); r.add_module("p.rego", open(sys.argv[1]).read())
b = r.build(None, ["simenv/decision"]); r.set_input(regopy.Input({}))
c.rego_output_string(c.rego_bundle_query_entrypoint(r._impl, b._impl, "simenv/decision"))
""",
    "cedar": "import cedarpy, sys; cedarpy.PolicySet.from_str(open(sys.argv[1]).read())",
}
SUFFIX = {"rego": ".rego", "cedar": ".cedar"}


def write(tmp_path: Path, name: str) -> Path:
    engine, text, _, _ = CRASHERS[name]
    p = tmp_path / ("crash" + SUFFIX[engine])
    p.write_text(text)
    return p


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_the_raw_library_really_dies_on_the_file(name, tmp_path):
    engine, _, sig, _ = CRASHERS[name]
    pytest.importorskip("regopy" if engine == "rego" else "cedarpy")
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(RAW[engine]), str(write(tmp_path, name))],
                       capture_output=True, timeout=300)
    assert r.returncode == -sig, (r.returncode, r.stderr[-300:])


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_simenv_refuses_the_file_in_process_before_the_engine_sees_it(name):
    engine, text, _, words = CRASHERS[name]
    cls = RegoAuthorizer if engine == "rego" else CedarAuthorizer
    with pytest.raises(SpecError) as e:
        cls.from_text(text, f"crash{SUFFIX[engine]}")
    msg = e.value.render()
    assert words in msg and len(msg.splitlines()) == 1, msg
    assert msg.startswith(f"crash{SUFFIX[engine]}: "), msg


def one_line(r: subprocess.CompletedProcess, *words: str) -> str:
    text = r.stdout + r.stderr
    assert r.returncode == 2, (r.returncode, text)
    assert "Traceback" not in text, text
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.mark.parametrize("name", ["rego without a package line", "cedar parentheses 800 deep",
                                  "rego a built-in called without arguments", "rego unknown uuid built-in"])
def test_validate_run_bench_and_test_refuse_a_crasher_with_one_line(name, tmp_path):
    engine, _, _, words = CRASHERS[name]
    p = write(tmp_path, name)
    prof = tmp_path / "crash.yaml"
    prof.write_text(f"name: crash\ncredentials: {{mode: jit}}\nauthorizer: {{engine: {engine}, policy: {p.name}}}\n")
    one_line(simenv_cli("validate", str(p)), str(p), words)
    one_line(simenv_cli("validate", str(prof)), str(p), words)
    one_line(simenv_cli("run", "delegated_admin", "--policy", str(prof)), str(p), words)
    one_line(simenv_cli("test", str(p), str(CASES)), str(p), words)
    out = tmp_path / "results"
    one_line(simenv_cli("bench", "--scenarios", "delegated_admin", "--policies", str(prof), "--seeds", "2", "--out", str(out)),
             str(p), words)
    assert not (out / "episodes.parquet").exists()


CRASHY = """
import ctypes


def crash(path):
    ctypes.string_at(0)


class Crash:
    def __init__(self, policy=None):
        ctypes.string_at(0)


def slow(path):
    import time
    time.sleep(30)
"""


def test_a_crash_no_precheck_knows_is_one_line_on_the_profiles_authorizer_policy(tmp_path, monkeypatch):
    (tmp_path / "crashy.py").write_text(CRASHY)
    (tmp_path / "ok.rego").write_text((ROOT / "policies" / "rego" / "intent.rego").read_text())
    prof = tmp_path / "crashy.yaml"
    prof.write_text('name: crashy\ncredentials: {mode: jit}\nauthorizer: {engine: "crashy:Crash", policy: ok.rego}\n')
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}"}
    refused = one_line(simenv_cli("validate", str(prof), env=env), f"{prof}: authorizer.engine: ", "--allow-plugins")
    assert "crashed" not in refused  # outside code is refused before any child imports it
    line = one_line(simenv_cli("validate", "--allow-plugins", str(prof), env=env), f"{prof}: authorizer.policy: ",
                    "crashed (SIGSEGV)")
    assert "the crashy:Crash engine, compiling ok.rego" in line and "simplify the policy" in line
    r = simenv_cli("validate", "--allow-plugins", str(ROOT / "policies" / "intent_rego.yaml"), str(prof), env=env)
    assert r.returncode == 2 and "ok  " in r.stdout and r.stderr.count("\n") == 1  # the other file is still checked


def test_a_child_that_dies_or_hangs_becomes_an_error_not_a_crash(tmp_path, monkeypatch):
    (tmp_path / "crashy.py").write_text(CRASHY)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{ROOT}")
    p = tmp_path / "x.rego"
    with pytest.raises(SpecError, match="crashed \\(SIGSEGV\\)") as e:
        isolate.check_in_child("crashy:crash", p, field="authorizer.policy")
    assert e.value.file == str(p) and e.value.problems[0][0] == "authorizer.policy"
    with pytest.raises(SpecError, match="no verdict"):
        isolate.check_in_child("crashy:missing", p)
    monkeypatch.setattr(isolate, "TIMEOUT", 1.0)  # last: a child merely starting on a loaded machine can take 1 s
    with pytest.raises(SpecError, match="took longer than 1 s"):
        isolate.check_in_child("crashy:slow", p)


def test_the_child_brings_back_the_engines_own_errors(tmp_path):
    bad = ROOT / "policies" / "rego" / "intent_bad.rego"
    with pytest.raises(SpecError) as e:
        isolate.check_in_child("simenv.governance.cases:load_authorizer", bad)
    assert e.value.file == str(bad) and any("unclosed" in m for _, m in e.value.problems)
    isolate.check_in_child("simenv.governance.cases:load_authorizer", ROOT / "policies" / "cedar" / "intent.cedar")


def test_the_size_limit_counts_bytes_and_padding_below_it_loads(tmp_path):
    body = (ROOT / "policies" / "rego" / "intent.rego").read_text()
    pad = policy_text.MAX_POLICY_BYTES - len(body.encode()) - 1
    ok = body + "#" * pad + "\n"
    assert len(ok.encode()) == policy_text.MAX_POLICY_BYTES
    RegoAuthorizer.from_text(ok, "big.rego")
    with pytest.raises(SpecError, match="the policy file is 32,769 bytes; the limit is 32,768"):
        RegoAuthorizer.from_text(ok + " ", "big.rego")
    with pytest.raises(SpecError, match="the limit is 32,768"):
        CedarAuthorizer.from_text("// é\n" * 6000, "big.cedar")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n" + "#" * policy_text.MAX_POLICY_BYTES + "\n")
    with pytest.raises(SpecError, match="the limit is 32,768"):
        NativeRules(rules)


@pytest.mark.parametrize("engine,text,where,depth", [
    ("rego", "package simenv\nx := " + "[" * 65 + "1" + "]" * 65, "line 2, column 70", 65),
    ("rego", "package simenv\nx := " + "-" * 65 + "1", "line 2, column 70", 65),
    ("rego", "package simenv\nx := " + '{"a": ' * 65 + "1" + "}" * 65, "line 2, column 390", 65),
    ("rego", 'package simenv\nx := $"' + "{ [" * 33 + "1" + "] }" * 33 + '"', "line 2, column 104", 66),  # template code
    ("cedar", cedar("if true then " * 65 + "true" + " else true" * 65), "line 2, column 863", 66),  # in when { }
    ("cedar", cedar("!" * 65 + "true"), "line 2, column 107", 66),
])
def test_nesting_past_the_limit_is_refused_where_it_goes_past(engine, text, where, depth):
    cls = RegoAuthorizer if engine == "rego" else CedarAuthorizer
    with pytest.raises(SpecError) as e:
        cls.from_text(text, "deep")
    assert e.value.problems == [(where, f"nesting goes {depth} deep, past the limit of 64 "
                                        "(brackets, if-expressions, runs of - or !): flatten the expression")]


def test_nesting_at_the_limit_and_brackets_in_strings_and_comments_are_fine():
    decision = 'decision := {"effect": "deny", "policy_ids": ["d"]}\n'
    RegoAuthorizer.from_text(REGO_HEAD + "x := " + "[" * 64 + "1" + "]" * 64 + "\n# " + "(" * 500 + "\n"
                             + 'y := "' + "{" * 500 + '"\n' + decision, "ok.rego")
    in_string = '@id("y")\npermit(principal, action, resource) when { "' + "(" * 900 + '" == "a" };\n'
    CedarAuthorizer.from_text(cedar("(" * 63 + "true" + ")" * 63) + "// " + "(" * 900 + "\n" + in_string, "ok.cedar")


def test_a_long_cedar_operator_chain_is_an_error_not_a_recursion_traceback():
    with pytest.raises(SpecError, match="chains too many operators"):
        CedarAuthorizer.from_text(cedar(" && ".join(["true"] * 2000)), "chain.cedar")
    CedarAuthorizer.from_text(cedar(" && ".join(["true"] * 100)), "chain.cedar")
