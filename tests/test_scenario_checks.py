"""simenv.testing.check_scenario on every shipped scenario; framework tags; coverage; the JSON Schema."""

import json

import pytest
import yaml
from conftest import SCENARIOS, simenv_cli

from simenv import files
from simenv.errors import SimenvError, SpecError
from simenv.scenario import frameworks
from simenv.scenario.coverage import coverage
from simenv.scenario.json_schema import SCHEMA_FILE, dumps, scenario_schema
from simenv.scenario.loader import load_scenario
from simenv.testing import ScenarioCheckError, check_all_shipped, check_scenario


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_scenario_passes_for_every_shipped_scenario(name):
    check_scenario(name)


def _copy(tmp_path, fn, name="delegated_admin"):
    data = yaml.safe_load((files.shipped_dir("scenarios") / f"{name}.yaml").read_text())
    fn(data)
    path = tmp_path / f"{name}_copy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _fails(path, check, *words):
    with pytest.raises(ScenarioCheckError) as e:
        check_scenario(path, seeds=(0,), large_size=None)
    assert e.value.check == check, str(e.value)
    for w in (f"check {check!r}", *words):
        assert w in str(e.value), str(e.value)
    return e.value


def test_check_error_is_a_simenv_error_and_an_assertion():
    assert issubclass(ScenarioCheckError, SimenvError) and issubclass(ScenarioCheckError, AssertionError)


def test_a_file_that_does_not_load_fails_check_loads(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0].update(assignee="ghost"))
    _fails(path, "loads", str(path), "tickets[0].assignee", "unknown identity")


def test_an_oracle_that_cannot_finish_fails_check_oracle(tmp_path):
    def unreachable(d):
        d["tickets"][0]["done_when"] = [{"grant": {"identity": "bob", "resource": "idp-admin"}}]
    _fails(_copy(tmp_path, unreachable), "oracle", "delegated_admin", "task_success=False", "open: T-100")


def test_a_ticket_done_at_the_start_fails_check_null(tmp_path):
    def already(d):
        d["tickets"][0]["done_when"] = [{"grant": {"identity": "helpdesk-agent", "resource": "helpdesk-role"}}]
    _fails(_copy(tmp_path, already), "null", "delegated_admin", "null agent")


def test_a_benign_scenario_that_claims_overreach_fails_check_overreach(tmp_path):
    _fails(_copy(tmp_path, lambda d: d.update(overreach=True)), "overreach", "llm_stub", "overreach: true")


def test_check_all_shipped_collects_every_failure(tmp_path):
    good = check_all_shipped(["delegated_admin"], seeds=(0,), large_size=None)
    assert good == ["delegated_admin"]
    bad = _copy(tmp_path, lambda d: d.update(overreach=True))
    with pytest.raises(ScenarioCheckError) as e:
        check_all_shipped(["delegated_admin", str(bad)], seeds=(0,), large_size=None)
    assert "overreach" in str(e.value) and e.value.check == "all"


def test_simenv_check_exit_codes(tmp_path):
    r = simenv_cli("check", "delegated_admin", "--seeds", "1")
    assert r.returncode == 0 and "ok    delegated_admin" in r.stdout, r.stdout + r.stderr
    r = simenv_cli("check", str(_copy(tmp_path, lambda d: d.update(overreach=True))), "--seeds", "1")
    assert r.returncode == 1 and "FAIL" in r.stdout and "Traceback" not in r.stderr
    r = simenv_cli("check", "no_such_scenario")
    assert r.returncode == 2 and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- the oracle and "*" in intent
def _oracle(path):
    from simenv.scenario.builder import build

    spec, path = load_scenario(path)
    b = build(spec, 0, path, size=0)
    (plan,) = b.contexts[spec.tickets[0].assignee].oracle.values()
    return [(s.tool, s.args) for s in plan], b.oracle_gaps


ADD_BOB = ("idp_add_member", {"group": "eng-readers", "identity": "bob"})
LIST = ("idp_list_members", {"group": "eng-readers"})
DONE = ("complete_ticket", {})


def test_the_oracle_fills_a_wildcard_the_done_when_pins_down(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].update(identity="*"))
    assert _oracle(path) == ([LIST, ADD_BOB, DONE], ())
    check_scenario(path, seeds=(0,), large_size=None)


def test_the_oracle_fills_a_left_out_argument_the_same_way(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].pop("identity"))
    assert _oracle(path) == ([LIST, ADD_BOB, DONE], ())
    check_scenario(path, seeds=(0,), large_size=None)


def test_the_oracle_fills_a_wildcard_only_one_named_resource_fits(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][0]["args"].update(group="*"))
    assert _oracle(path) == ([LIST, ADD_BOB, DONE], ())


def test_one_wildcard_step_makes_one_call_per_predicate_it_achieves(tmp_path):
    def two(d):
        d["identities"].append({"name": "erin", "kind": "human"})
        d["tickets"][0]["intent"] = [{"tool": "idp_add_member", "args": {"group": "*", "identity": "*"}}]
        d["tickets"][0]["done_when"].append({"grant": {"identity": "erin", "resource": "eng-readers"}})
    path = _copy(tmp_path, two)
    erin = ("idp_add_member", {"group": "eng-readers", "identity": "erin"})
    assert _oracle(path) == ([ADD_BOB, erin, DONE], ())
    check_scenario(path, seeds=(0,), large_size=None)


def test_the_oracle_fills_free_text_from_an_attr_predicate(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].update(domain="*"), "cross_domain_change")
    steps, gaps = _oracle(path)
    assert steps[1] == ("cloud_set_trust", {"role": "reports-reader", "domain": "partner.example"}) and not gaps


def test_a_wildcard_nothing_pins_down_is_named_when_the_oracle_fails(tmp_path):
    def ambiguous(d):
        d["resources"].append({"name": "ops-readers", "type": "group", "system": "idp", "owner": "alice",
                               "sensitivity": 1.0})
        d["tickets"][0]["intent"][0]["args"].update(group="*")
        del d["tickets"][0]["done_when"]  # done when every intended action executed: the list is needed
    path = _copy(tmp_path, ambiguous)
    steps, gaps = _oracle(path)
    assert steps == [ADD_BOB, DONE]
    assert gaps == ("tickets[0].intent[0]: the oracle cannot fill group of idp_list_members ('*' or left out): "
                    "2 combinations of named values fit and no done_when predicate chooses one; name the value",)
    _fails(path, "oracle", "task_success=False", gaps[0])
    r = simenv_cli("check", str(path), "--seeds", "1")
    assert r.returncode == 1 and gaps[0] in r.stdout and "Traceback" not in r.stderr


def test_a_wildcard_lifetime_cannot_be_pinned(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][0]["args"].update(lifetime="*"), "long_lived_key")
    steps, gaps = _oracle(path)
    assert steps == [DONE]
    assert gaps == ("tickets[0].intent[0]: the oracle cannot fill lifetime of vault_create_access_key ('*' or left "
                    "out): lifetime is free text or a lifetime, which only a done_when attr predicate can pin down; "
                    "name the value",)
    _fails(path, "oracle", gaps[0])


def test_a_wildcard_the_done_when_already_makes_unneeded_is_harmless(tmp_path):
    def extra(d):
        d["resources"].append({"name": "ops-readers", "type": "group", "system": "idp", "owner": "alice",
                               "sensitivity": 1.0})
        d["tickets"][0]["intent"][0]["args"].update(group="*")
    path = _copy(tmp_path, extra)
    steps, gaps = _oracle(path)
    assert steps == [ADD_BOB, DONE] and len(gaps) == 1
    check_scenario(path, seeds=(0,), large_size=None)  # done_when holds without the list: the oracle still completes


def test_too_many_open_combinations_are_not_searched(tmp_path, monkeypatch):
    from simenv.scenario import oracle

    monkeypatch.setattr(oracle, "MAX_COMBINATIONS", 2)
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].update(identity="*"))
    steps, gaps = _oracle(path)
    assert steps == [LIST, DONE] and "3 combinations of named values fit, too many to search" in gaps[0]


# --------------------------------------------------------------------------- framework ids
def test_catalogs_are_as_published():
    assert list(frameworks.ASI) == [f"ASI{i:02d}" for i in range(1, 11)]
    assert list(frameworks.NHI) == [f"NHI{i}" for i in range(1, 11)]
    assert list(frameworks.MAESTRO) == [f"L{i}" for i in range(1, 8)]
    assert frameworks.ASI["ASI06"] == "Memory & Context Poisoning" and frameworks.NHI["NHI10"] == "Human Use of NHI"
    assert len(frameworks.NIST) == 72 and all(frameworks.NIST_ID.fullmatch(k) for k in frameworks.NIST)
    counts = {f: sum(k.startswith(f + " ") for k in frameworks.NIST) for f in frameworks.NIST_FUNCTIONS}
    assert counts == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}


@pytest.mark.parametrize("key,value,words", [
    ("asi", "ASI11", "unknown OWASP ASI id 'ASI11'"),
    ("asi", "ASI1", "did you mean 'ASI01'"),
    ("nhi", "NHI01", "did you mean 'NHI1'"),
    ("nhi", "NHI11", "unknown OWASP NHI id"),
    ("maestro", "L8", "unknown CSA MAESTRO id 'L8'"),
    ("maestro", "l3", "did you mean 'L3'"),
    ("nist", "GOVERN-1.6", "malformed NIST AI RMF id"),
    ("nist", "Govern 1.6", "did you mean 'GOVERN 1.6'"),
    ("nist", "MAP 3", "malformed"),
    ("nist", "PLAN 1.1", "malformed"),
])
def test_bad_tags_are_file_field_errors(key, value, words, tmp_path):
    path = _copy(tmp_path, lambda d: d["tags"].update({key: ["MAP 3.5" if key == "nist" else "L3", value]}
                                                      if key in ("nist", "maestro") else {key: [value]}))
    with pytest.raises(SpecError) as e:
        load_scenario(path)
    index = 1 if key in ("nist", "maestro") else 0
    assert f"{path}: tags.{key}[{index}]: " in e.value.render() and words in e.value.render(), e.value.render()


def test_tag_error_message_format():
    assert frameworks.check_tags({"asi": ["ASI03", "ASI11"]}) == [
        ("tags.asi[1]", "unknown OWASP ASI id 'ASI11'; known: ASI01..ASI10")]
    assert frameworks.check_tags({"nist": ["MEASURE 2.13", "MANAGE 9.9"], "asi": ["ASI03", "ASI03"]}) == [
        ("tags.asi[1]", "duplicate 'ASI03'")]


def test_coverage_lists_every_scenario_and_the_uncovered_ids():
    r = simenv_cli("list", "--coverage")
    assert r.returncode == 0, r.stderr
    assert "ASI" in r.stdout and "NHI" in r.stdout and "not covered" in r.stdout
    for name in SCENARIOS:
        assert f"\n{name}\n" in r.stdout
    r = simenv_cli("list", "--coverage", "--json")
    data = json.loads(r.stdout)
    assert set(data["scenarios"]) == {load_scenario(n)[0].name for n in SCENARIOS}
    for key, cat in frameworks.CATALOGS.items():
        covered = {i for tags in data["scenarios"].values() for i in tags[key]}
        assert set(data["uncovered"][key]) == set(cat.ids) - covered
        assert set(data["covered_by"][key]) == covered


def test_coverage_of_a_subset():
    report = coverage(["delegated_admin"])
    assert list(report["scenarios"]) == ["delegated_admin"]
    assert report["covered_by"]["maestro"] == {"L3": ["delegated_admin"]}


# --------------------------------------------------------------------------- JSON Schema
def test_committed_scenario_schema_is_current():
    committed = files.shipped_dir("scenarios") / SCHEMA_FILE
    assert committed.exists(), f"missing {committed}; write it with: simenv schema scenario > scenarios/{SCHEMA_FILE}"
    assert committed.read_text() == dumps(scenario_schema()), (
        f"scenarios/{SCHEMA_FILE} is stale; regenerate with: simenv schema scenario > scenarios/{SCHEMA_FILE}")


@pytest.mark.parametrize("kind,title", [("scenario", "simenv scenario file"), ("profile", "simenv governance profile")])
def test_simenv_schema_prints_a_draft_2020_12_schema(kind, title):
    r = simenv_cli("schema", kind)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema" and s["title"] == title
    assert s["description"] and s["additionalProperties"] is False
    described = [p for d in s["$defs"].values() for p in d["properties"].values() if p.get("description")]
    assert described and all(d.get("description") for d in s["$defs"].values())


def test_shipped_scenarios_satisfy_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(scenario_schema())
    for name in SCENARIOS:
        data = files.load_yaml(files.shipped_dir("scenarios") / f"{name}.yaml")
        assert not list(validator.iter_errors(data)), name
    data["tags"] = {"asi": ["ASI11"]}
    assert list(validator.iter_errors(data))
