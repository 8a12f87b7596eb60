"""The Rego sandbox: a policy may call only the allowlisted built-ins, however it spells the call.

Every refused built-in is tried, through every spelling that reaches it in rego-cpp; the refusal
is one ``file: line L, column C`` line. A planted environment variable never reaches any output
of validate, run or bench, even from a policy that tries to publish it.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import simenv_cli

from simenv.errors import SpecError
from simenv.governance import rego_sandbox
from simenv.governance.rego import RegoAuthorizer
from tests.test_policy_engines import request

ROOT = Path(__file__).resolve().parent.parent
HEAD = "package simenv\nimport rego.v1\n"
SECRET = "s3cr3t-5f1d2c9a-CI-TOKEN"

# every built-in regopy 1.5.2 offers that is not on the allowlist, and the families OPA has that rego-cpp lacks
REFUSED = {
    "opa.runtime": "opa.runtime()",
    "time.now_ns": "time.now_ns()",
    "time.add_date": "time.add_date(0, 1, 1, 1)",
    "time.clock": "time.clock(0)",
    "time.date": "time.date(0)",
    "time.diff": "time.diff(0, 1)",
    "time.format": "time.format(0)",
    "time.parse_duration_ns": 'time.parse_duration_ns("1h")',
    "time.parse_ns": 'time.parse_ns("2006-01-02", "2024-05-06")',
    "time.parse_rfc3339_ns": 'time.parse_rfc3339_ns("2024-01-01T00:00:00Z")',
    "time.weekday": "time.weekday(0)",
    "rand.intn": 'rand.intn("a", 10)',
    "uuid.rfc4122": 'uuid.rfc4122("a")',
    "uuid.parse": 'uuid.parse("a")',
    "io.jwt.decode": 'io.jwt.decode("a.b.c")',
    "io.jwt.decode_verify": 'io.jwt.decode_verify("a.b.c", {})',
    "io.jwt.encode_sign": "io.jwt.encode_sign({}, {}, {})",
    "io.jwt.encode_sign_raw": 'io.jwt.encode_sign_raw("{}", "{}", "{}")',
    "crypto.x509.parse_certificates": 'crypto.x509.parse_certificates("a")',
    "crypto.x509.parse_and_verify_certificates": 'crypto.x509.parse_and_verify_certificates("a")',
    "crypto.x509.parse_certificate_request": 'crypto.x509.parse_certificate_request("a")',
    "crypto.x509.parse_keypair": 'crypto.x509.parse_keypair("a", "b")',
    "crypto.x509.parse_rsa_private_key": 'crypto.x509.parse_rsa_private_key("a")',
    "crypto.parse_private_keys": 'crypto.parse_private_keys("a")',
    "print": 'print("x")',
    "json.unmarshal": 'json.unmarshal("1")',
    "yaml.marshal": "yaml.marshal(1)",
    "yaml.unmarshal": 'yaml.unmarshal("1")',
    "yaml.is_valid": 'yaml.is_valid("1")',
    "replace": 'replace("a", "b", "c")',
    "strings.replace_n": 'strings.replace_n({"a": "b"}, "a")',
    "regex.split": 'regex.split("a", "b")',
    "object.subset": "object.subset({}, {})",
    "numbers.range": "numbers.range(1, 2)",
    "numbers.range_step": "numbers.range_step(1, 5, 2)",
    "http.send": "http.send({})",
    "net.lookup_ip_addr": 'net.lookup_ip_addr("example.com")',
    "net.cidr_contains": 'net.cidr_contains("10.0.0.0/8", "10.0.0.1")',
    "providers.aws.sign_req": "providers.aws.sign_req({}, {}, 0)",
    "trace": 'trace("x")',
    "rego.parse_module": 'rego.parse_module("a", "package a")',
}


def policy(expr: str, extra: str = "") -> str:
    """A policy that allows everything and puts ``expr`` into its reasons (line 3 holds ``expr``)."""
    return HEAD + f'decision := {{"effect": "allow", "policy_ids": ["p"], "reasons": [sprintf("%v", [{expr}])]}}\n' + extra


def refusal(text: str) -> str:
    with pytest.raises(SpecError) as e:
        RegoAuthorizer.from_text(text, "evil.rego")
    msg = e.value.render()
    assert "Traceback" not in msg
    return msg


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_refused_builtin_is_a_one_line_error_naming_it_and_its_line(name):
    msg = refusal(policy(REFUSED[name]))
    assert len(msg.splitlines()) == 1, msg
    assert msg.startswith("evil.rego: line 3, column 81: Rego: "), msg
    root = name.split(".")[0]
    if root in ("uuid", "io", "providers"):  # refused before compiling: rego-cpp aborts on unknown names there
        assert f"'{root}' names a namespace of built-ins that simenv refuses" in msg, msg
    else:
        assert f"built-in {name} is not allowed: {rego_sandbox.why(name)}; remove it" in msg, msg
        assert "rego_capabilities.json" in msg


def test_the_allowlist_and_the_refused_names_are_disjoint_and_every_allowed_name_exists_in_regopy():
    regopy = pytest.importorskip("regopy")
    allowed = rego_sandbox.allowed()
    assert not allowed & set(REFUSED)
    interp = regopy.Interpreter()
    assert all(interp.is_builtin(n) for n in allowed), sorted(n for n in allowed if not interp.is_builtin(n))
    assert {"count", "sprintf", "internal.member_2", "is_string", "concat", "startswith"} <= allowed


EVASIONS = {
    "an import alias": ("import opa.runtime as r\n", "r()"),
    "a bracket reference": ("", 'opa["runtime"]()'),
    "a spaced dot": ("", "opa . runtime()"),
    "a helper function": ("f(x) := opa.runtime() if { x }\n", "f(true)"),
    "a helper rule": ("env := opa.runtime().env\n", "env"),
    "an unused rule": ("unused := opa.runtime()\n", '"nothing"'),
    "a comprehension": ("", "[v | some v in opa.runtime().env]"),
    "walk": ("", '[v | walk(opa.runtime(), [p, v]); is_string(v)]'),
    "a template string": ("", '$"{opa.runtime().env}"'),
    "every": ("ok if { every k in [1] { opa.runtime() } }\n", "ok"),
    "a with override": ("g if { time.now_ns() > 0 }\nh if { g with time.now_ns as 5 }\n", "h"),
    "an else branch": ('k := 1 if { false } else := opa.runtime()\n', "k"),
    "a default rule": ("default d := opa.runtime()\n", "d"),
    "a future keywords import": ("import future.keywords\n", "opa.runtime()"),
}


@pytest.mark.parametrize("how", sorted(EVASIONS))
def test_a_refused_builtin_is_found_however_it_is_spelled(how):
    head, expr = EVASIONS[how]
    text = HEAD + head + f'decision := {{"effect": "allow", "policy_ids": ["p"], "reasons": [sprintf("%v", [{expr}])]}}\n'
    msg = refusal(text)
    assert "built-in opa.runtime is not allowed" in msg or "built-in time.now_ns is not allowed" in msg, msg
    assert ": line " in msg, msg


def test_names_in_strings_comments_and_input_fields_are_not_calls():
    text = HEAD + '# opa.runtime() time.now_ns() uuid.rfc4122("x")\n' + (
        'note := "opa.runtime() and time.now_ns()"\nraw := `uuid.rfc4122("a")`\n'
        'decision := {"effect": "allow", "policy_ids": ["p"], "reasons": [note, raw, $"{input.opa.runtime} time.now_ns()"]}\n')
    authz = RegoAuthorizer.from_text(text, "fine.rego")
    assert authz.authorize(request(action={"name": "db_query"})).policy_ids == ("p",)


@pytest.mark.parametrize("call,takes", [("count()", 1), ("walk()", 1), ('upper()', 1), ('concat(",")', 2)])
def test_a_builtin_called_without_its_arguments_is_refused(call, takes):
    # rego-cpp segfaults when such a call is evaluated (see test_policy_crashes)
    msg = refusal(policy(call))
    assert f"is called with {len(call.split(',')) - 1 if ',' in call else 0} argument(s) but takes {takes}" in msg, msg


def test_the_shipped_policy_and_the_allowed_builtins_load():
    assert RegoAuthorizer(ROOT / "policies" / "rego" / "intent.rego")
    text = policy('[count([1]), upper("a"), concat(",", ["a"]), startswith("ab", "a"), 1 in {1}, '
                  'object.get({}, "a", 0), json.marshal({}), crypto.sha256("a"), $"{1 + 2}", sum([1]), '
                  'regex.match("^a", "ab"), glob.match("a*", [], "ab"), base64.encode("x"), is_string("a")]')
    dec = RegoAuthorizer.from_text(text, "fine.rego").authorize(request(action={"name": "db_query"}))
    sha = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    assert dec.reasons == (f'[1, "A", "a", true, true, 0, "{{}}", "{sha}", "3", 1, true, true, "eA==", true]',), dec


# --------------------------------------------------------------------------- a planted secret reaches no output
LEAKY = {
    "env.rego": policy("opa.runtime().env"),
    "env_alias.rego": HEAD + "import opa.runtime as r\n" + (
        'decision := {"effect": "allow", "policy_ids": [r().env.SIMENV_TEST_SECRET], "reasons": []}\n'),
    "env_b64.rego": policy('base64.encode(json.marshal(opa["runtime"]().env))'),
}


def _leaks(text: str) -> list[str]:
    encoded = base64.b64encode(SECRET.encode()).decode()
    return [w for w in (SECRET, encoded[:16], SECRET[::-1]) if w in text]


def _files_text(folder: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.parametrize("leaky", sorted(LEAKY))
def test_a_policy_that_publishes_the_environment_is_refused_everywhere_and_the_secret_reaches_no_output(leaky, tmp_path):
    (tmp_path / "rego").mkdir()
    (tmp_path / "rego" / "leak.rego").write_text(LEAKY[leaky])
    prof = tmp_path / "leak.yaml"
    prof.write_text("name: leak\ncredentials: {mode: jit}\nauthorizer: {engine: rego, policy: rego/leak.rego}\n")
    env = {"SIMENV_TEST_SECRET": SECRET}
    out = tmp_path / "results"
    runs = [simenv_cli("validate", str(tmp_path / "rego" / "leak.rego"), str(prof), env=env),
            simenv_cli("run", "delegated_admin", "--policy", str(prof), "--audit", str(out / "audit.jsonl"), env=env),
            simenv_cli("bench", "--scenarios", "delegated_admin", "--policies", str(prof), "--seeds", "1",
                       "--executor", "serial", "--out", str(out / "bench"), env=env),
            simenv_cli("test", str(tmp_path / "rego" / "leak.rego"), str(ROOT / "policies" / "cases" / "intent_cases.yaml"),
                       env=env)]
    for r in runs:
        text = r.stdout + r.stderr
        assert r.returncode == 2, (r.args, text)
        assert "Traceback" not in text, text
        assert "is not allowed" in text, text
        assert not _leaks(text), text
    assert not out.exists() or not _leaks(_files_text(out))


def test_a_run_and_a_bench_under_an_allowed_policy_never_show_the_environment(tmp_path):
    env = {"SIMENV_TEST_SECRET": SECRET}
    out = tmp_path / "results"
    run = simenv_cli("run", "delegated_admin", "--policy", "intent_rego", "--audit", str(out / "audit.jsonl"), env=env)
    bench = simenv_cli("bench", "--scenarios", "delegated_admin", "--policies", "intent_rego", "--seeds", "2",
                       "--executor", "serial", "--out", str(out / "bench"), env=env)
    assert run.returncode == 0 and bench.returncode == 0, (run.stderr, bench.stderr)
    assert (out / "audit.jsonl").stat().st_size > 0 and (out / "bench" / "episodes.parquet").exists()
    assert (out / "bench" / "report.html").exists()
    assert not _leaks(run.stdout + run.stderr + bench.stdout + bench.stderr + _files_text(out))


def test_the_sandbox_is_checked_once_per_policy_text():
    from simenv.governance import rego

    text = policy('"once"')
    RegoAuthorizer.from_text(text, "a.rego")
    assert rego._vetted[text] == ()
    rego._vetted[text] = (("line 1, column 1", "remembered"),)  # the second load reads the verdict, not the plan
    try:
        with pytest.raises(SpecError, match="remembered"):
            RegoAuthorizer.from_text(text, "a.rego")
    finally:
        del rego._vetted[text]


def test_validate_prints_no_malformed_decision_holding_the_environment(tmp_path):
    p = tmp_path / "m.rego"
    p.write_text(HEAD + 'decision := {"effect": "maybe", "env": opa.runtime().env}\n')
    r = simenv_cli("validate", str(p), env={"SIMENV_TEST_SECRET": SECRET})
    assert r.returncode == 2 and "opa.runtime is not allowed" in r.stderr and not _leaks(r.stdout + r.stderr)


def test_json_round_trip_of_the_capabilities_file():
    caps = json.loads((ROOT / "simenv" / "governance" / "rego_capabilities.json").read_text())
    assert [b["name"] for b in caps["builtins"]] == sorted(b["name"] for b in caps["builtins"])
    assert sys.version_info >= (3, 11)  # importlib.resources.files reads it from the installed package too
    assert subprocess.run([sys.executable, "-c", "from simenv.governance.rego_sandbox import allowed; print(len(allowed()))"],
                          capture_output=True, text=True).stdout.strip() == str(len(caps["builtins"]))
