"""Policy files on the command line: validate (good and *_bad), simenv test, and an episode."""

from pathlib import Path

import pytest
import yaml
from conftest import simenv_cli

import simenv
from simenv.sim.records import CallRecord

ROOT = Path(__file__).resolve().parent.parent
POL = ROOT / "policies"
GOOD = [POL / "rules" / "intent.yaml", POL / "cedar" / "intent.cedar", POL / "rego" / "intent.rego"]
BAD = [POL / "rules" / "intent_bad.yaml", POL / "cedar" / "intent_bad.cedar", POL / "rego" / "intent_bad.rego"]
CASES = POL / "cases" / "intent_cases.yaml"


def test_validate_accepts_the_good_policy_files():
    r = simenv_cli("validate", *map(str, GOOD), str(CASES), str(POL / "cedar" / "simenv.cedarschema"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok  ") == 5


@pytest.mark.parametrize("bad", BAD, ids=lambda p: p.name)
def test_validate_rejects_each_bad_sibling(bad):
    r = simenv_cli("validate", str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{bad}: ") for line in lines), r.stderr


def test_validate_reports_what_is_wrong():
    out = {p.suffix: simenv_cli("validate", str(p)).stderr for p in BAD}
    assert "duplicate id 'intent.out_of_scope'" in out[".yaml"] and "context.chain_length" in out[".yaml"]
    assert "policy intent.chain_depth" in out[".cedar"] and "chain_length" in out[".cedar"]
    assert "line 7" in out[".rego"] and "unclosed" in out[".rego"]


def test_validate_a_cedar_parse_error_and_a_rego_policy_without_decision(tmp_path):
    c = tmp_path / "p.cedar"
    c.write_text('@id("x")\npermit (principal, action, resource) when { context.in_declared_scope }\n')
    g = tmp_path / "p.rego"
    g.write_text("package simenv\nimport rego.v1\nallow := true\n")
    r = simenv_cli("validate", str(c), str(g))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{c}: policy x (line 1): Cedar parse error: unexpected end of input" in r.stderr
    assert f"{g}: data.simenv.decision: data.simenv.decision is undefined" in r.stderr


@pytest.mark.parametrize("policy", GOOD, ids=lambda p: p.suffix)
def test_simenv_test_passes_the_shipped_cases(policy):
    r = simenv_cli("test", str(policy), str(CASES), "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    n = len(yaml.safe_load(CASES.read_text())["cases"])
    assert f"{n}/{n} passed" in r.stdout and r.stdout.count("PASS  ") == n


@pytest.mark.parametrize("policy", GOOD, ids=lambda p: p.suffix)
def test_simenv_test_fails_on_a_wrong_expectation(policy, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n"
                     "  - name: reads are allowed\n    request: {action: {name: db_query}}\n    expect: allow\n"
                     "  - name: wrong\n    request: {action: {name: db_grant_access}, context: {justification: T-1}}\n"
                     "    expect: allow\n"
                     "    policy_ids: [intent.allow_in_scope]\n")
    r = simenv_cli("test", str(policy), str(cases))
    assert r.returncode == 1
    assert "FAIL  wrong" in r.stdout and "reads are allowed" not in r.stdout
    assert "expected: allow [intent.allow_in_scope]" in r.stdout
    assert "got:      require_approval [intent.approval_high_risk]" in r.stdout
    assert "1/2 passed" in r.stdout


def test_simenv_test_bad_input_is_exit_2_with_file_and_field(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n"
                     "  - name: a\n    request: {action: {name: db_teleport}}\n    expect: allow\n"
                     "  - name: b\n    request: {action: {name: db_query}, context: {chain_depth: 2, chain: [x]}}\n"
                     "    expect: maybe\n"
                     "  - name: c\n    request: {action: {name: db_query, risk: write}, colour: red}\n    expect: deny\n")
    r = simenv_cli("test", str(GOOD[0]), str(cases))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = r.stderr
    assert f"{cases}: cases[0].request.action.name: unknown tool 'db_teleport'" in err
    assert f"{cases}: cases[1].expect:" in err
    assert f"{cases}: cases[2].request.colour: unknown field" in err
    r = simenv_cli("test", str(GOOD[0]), str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "missing.yaml" in r.stderr and "Traceback" not in r.stderr
    r = simenv_cli("test", str(BAD[1]), str(CASES))
    assert r.returncode == 2 and str(BAD[1]) in r.stderr and "Traceback" not in r.stderr
    r = simenv_cli("test", str(CASES), str(CASES))
    assert r.returncode == 2 and "rules" in r.stderr


@pytest.mark.parametrize("profile,policy", [("intent_cedar", "cedar/intent.cedar"), ("intent_rego", "rego/intent.rego"),
                                            ("zero_standing", "rules/intent.yaml")])
def test_simenv_test_takes_a_profile_and_tests_its_authorizer_policy(profile, policy):
    n = len(yaml.safe_load(CASES.read_text())["cases"])
    r = simenv_cli("test", str(POL / f"{profile}.yaml"), str(CASES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith(f"{POL / profile}.yaml ({policy.split('/')[0].replace('rules', 'native')}, "
                                     f"{POL / policy}): {n}/{n} passed")
    by_name = simenv_cli("test", profile, str(CASES))
    assert by_name.returncode == 0 and f"{n}/{n} passed" in by_name.stdout


def test_simenv_test_resolves_the_profiles_policy_relative_to_the_profile(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.cedar").write_text((POL / "cedar" / "intent.cedar").read_text())
    prof = tmp_path / "prof.yaml"
    prof.write_text("name: mine\ncredentials: {mode: jit}\nauthorizer: {engine: cedar, policy: sub/mine.cedar}\n")
    r = simenv_cli("test", str(prof), str(CASES))
    assert r.returncode == 0 and f"(cedar, {tmp_path / 'sub' / 'mine.cedar'})" in r.stdout, r.stdout + r.stderr
    wrong = tmp_path / "cases.yaml"
    wrong.write_text("cases:\n  - name: reads are denied\n    request: {action: {name: db_query}}\n    expect: deny\n")
    r = simenv_cli("test", str(prof), str(wrong))
    assert r.returncode == 1 and "FAIL  reads are denied" in r.stdout


def test_simenv_test_a_profile_without_a_policy_file_is_one_line_exit_2(tmp_path):
    r = simenv_cli("test", str(POL / "static_rbac.yaml"), str(CASES))
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [f"{POL / 'static_rbac.yaml'}: authorizer.policy: the profile's authorizer (engine "
                                     "'rbac') has no policy file to test; give simenv test a policy file, or a profile "
                                     "whose authorizer names one (engine native, cedar or rego with policy: FILE)"]
    r = simenv_cli("test", "no_such_profile", str(CASES))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "unknown profile 'no_such_profile'" in r.stderr
    broken = tmp_path / "broken.yaml"
    (tmp_path / BAD[1].name).write_text(BAD[1].read_text())
    broken.write_text(f"name: b\ncredentials: {{mode: jit}}\nauthorizer: {{engine: cedar, policy: {BAD[1].name}}}\n")
    r = simenv_cli("test", str(broken), str(CASES))
    assert r.returncode == 2 and BAD[1].name in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("engine,policy", [("native", GOOD[0]), ("cedar", GOOD[1]), ("rego", GOOD[2])])
def test_episode_denies_out_of_scope_calls_with_the_intent_policy(engine, policy, tmp_path):
    profile = tmp_path / f"intent_{engine}.yaml"
    (tmp_path / policy.name).write_text(policy.read_text())
    profile.write_text(f"name: intent_{engine}\ncredentials: {{mode: standing_broad}}\n"
                       f"authorizer: {{engine: {engine}, policy: {policy.name}}}\n")
    res = simenv.run_episode("scope_creep", str(profile), seed=1)
    calls = res.audit.of_kind(CallRecord)
    out_of_scope = [r for r in calls if r.in_scope is False]
    assert out_of_scope
    assert all(r.effect == "denied" and "intent.out_of_scope" in r.policy_ids for r in out_of_scope)
    assert res.scores["violations_executed"] == 0 and res.scores["audit_complete"]


def test_the_three_engines_give_the_same_episode(tmp_path):
    trails = []
    for engine, policy in (("native", GOOD[0]), ("cedar", GOOD[1]), ("rego", GOOD[2])):
        profile = tmp_path / f"{engine}.yaml"
        (tmp_path / policy.name).write_text(policy.read_text())
        profile.write_text(f"name: intent\ncredentials: {{mode: standing_broad}}\n"
                           f"authorizer: {{engine: {engine}, policy: {policy.name}}}\n")
        res = simenv.run_episode("scope_creep", str(profile), seed=3)
        trails.append(([(r.kind, getattr(r, "decision", None), tuple(getattr(r, "policy_ids", ()))) for r in res.audit.records],
                       res.scores["fingerprint"]))
    assert trails[0] == trails[1] == trails[2]


BAD_VALUES = [  # (YAML of one case's request, the field, words of the message)
    # a lone surrogate is refused as the YAML is read, where it stands
    ('{action: {name: db_query}, context: {justification: "ok \\ud800"}}', "line 3, column 66",
     "a lone surrogate ('\\ud800') is not Unicode text"),
    ('{action: {name: db_query}, context: {args: {table: "pay\\0ments"}}}', "cases[0].request.context.args.table",
     "NUL character"),
    ('{action: {name: db_query}, context: {args: {"\\udfff": x}}}', "line 3, column 58",
     "a lone surrogate ('\\udfff') is not Unicode text"),
    ('{action: {name: db_query}, resource: {name: "' + "r" * 10_001 + '"}}', "cases[0].request.resource.name",
     "the text is 10,001 characters; the limit is 10,000"),
    ("{action: {name: db_query}, context: {lifetime: 9223372036854775808}}", "cases[0].request.context.lifetime",
     "less than or equal to 9223372036854775807"),
    ("{action: {name: db_query}, context: {tick: -9223372036854775809}}", "cases[0].request.context.tick",
     "greater than or equal to -9223372036854775808"),
    ("{action: {name: db_query}, context: {credential: {ttl: 18446744073709551616}}}",
     "cases[0].request.context.credential.ttl", "less than or equal to"),
    ("{action: {name: db_query}, resource: {sensitivity: 7.99996}}", "cases[0].request.resource.sensitivity",
     "more than 4 decimal places, which Cedar's decimal keeps: write 8.0"),
    ("{action: {name: db_query}, resource: {sensitivity: 9.3e+14}}", "cases[0].request.resource.sensitivity",
     "less than or equal to 1000000000"),
    ("{action: {name: db_query}, resource: {sensitivity: .inf}}", "cases[0].request.resource.sensitivity", "finite"),
]


@pytest.mark.parametrize("req,where,words", BAD_VALUES, ids=[w + ":" + m[:12] for _, w, m in BAD_VALUES])
def test_a_case_no_engine_could_be_handed_unchanged_is_one_line_exit_2(req, where, words, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(f"cases:\n  - name: edge\n    request: {req}\n    expect: allow\n", encoding="utf-8")
    for r in (simenv_cli("test", str(GOOD[2]), str(cases)), simenv_cli("validate", str(cases))):
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{cases}: {where}: ") and words in lines[0], lines


def test_the_same_edge_cases_written_canonically_pass_in_every_engine(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: 7.9999 is below the stale-credential threshold\n"
        "    request: {action: {name: db_query}, resource: {sensitivity: 7.9999}, context: {credential: {kind: static}}}\n"
        "    expect: allow\n"
        "  - name: 8.0 is at it\n"
        "    request: {action: {name: db_query}, resource: {sensitivity: 8.0}, context: {credential: {kind: static}}}\n"
        "    expect: deny\n    policy_ids: [intent.stale_credential]\n"
        "  - name: the largest lifetime\n"
        "    request: {action: {name: vault_create_access_key}, context: {lifetime: 9223372036854775807, "
        "justification: T-1, approval: granted}}\n"
        "    expect: deny\n    policy_ids: [intent.long_lived_key]\n"
        '  - name: any Unicode text\n    request: {action: {name: db_query}, context: {justification: "日本 \\U0001F600 é"}}\n'
        "    expect: allow\n", encoding="utf-8")
    for policy in GOOD:
        r = simenv_cli("test", str(policy), str(cases))
        assert r.returncode == 0 and "4/4 passed" in r.stdout, (policy, r.stdout, r.stderr)
