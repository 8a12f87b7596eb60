"""Imported AWS estates: the IAMVulnerable cross-check, the strict importer, paths, and the scenario on the estate.

The fixture ``tests/data/iamvulnerable/authorization-details.json`` is derived from Bishop Fox's
IAMVulnerable Terraform by ``tests/data/iamvulnerable/derive.py``, which also writes each
principal's label (``labels.json``): ``admin`` (its case is an escalation to admin), ``none`` (an
``fp*`` case, or a principal its case's method cannot escalate, with the reason), ``target``.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import simenv_cli

import simenv
from simenv.errors import SpecError
from simenv.estates import aws, estate
from simenv.estates.methods import METHODS

DATA = Path(__file__).parent / "data" / "iamvulnerable"
ROOT = Path(__file__).resolve().parent.parent
LABELS = json.loads((DATA / "labels.json").read_text())


@pytest.fixture(scope="module")
def est():
    return estate.from_account(aws.read(DATA / "authorization-details.json"), "test")


@pytest.fixture(scope="module")
def found(est):
    return estate.paths(est)


def test_every_labelled_escalation_is_found_and_no_fp_case_escalates(est, found):
    names = est.by_name()
    positives = [n for n, lab in LABELS.items() if lab["expect"] == "admin"]
    negatives = [n for n, lab in LABELS.items() if lab["expect"] == "none"]
    hit = [n for n in positives if names[n].admin or found.get(n, ([], False))[0]]
    false_pos = [n for n in negatives if names[n].admin or found.get(n, ([], False))[0]]
    recall = len(hit) / len(positives)
    flagged = [n for n in LABELS if n in found and found[n][0]]
    precision = (len(flagged) - len(false_pos)) / len(flagged)
    assert {LABELS[n]["folder"] for n in positives} == {"privesc-paths", "tool-testing"}
    assert len([n for n in positives if LABELS[n]["case"].startswith("fn")]) == 8
    assert len([n for n in negatives if LABELS[n]["case"].startswith("fp")]) == 10
    assert recall == 1.0, sorted(set(positives) - set(hit))
    assert not false_pos and precision == 1.0, false_pos


def test_each_case_escalates_by_its_own_method(found):
    """The first step of some path of each privescN case is method N of Rhino's list."""
    for name, lab in LABELS.items():
        case = lab["case"]
        if lab["expect"] != "admin" or not case.startswith("privesc") or not case[7:].split("-")[0].isdigit():
            continue
        n = int(case[7:].split("-")[0])
        firsts = {p[0].rhino for p in found[name][0]}
        assert n in firsts or n == 14 and any(p[0].pathfinding == "iam-012" for p in found[name][0]), (name, firsts)


def test_every_path_is_listed_not_only_the_first(found):
    paths, cut = found["role/privesc-AssumeRole-starting-role"]
    assert [[s.method for s in p] for p in paths] == [["sts:AssumeRole", "sts:AssumeRole"]]
    fn4 = found["user/fn4-exploitableNotAction-user"][0]
    assert len(fn4) > 1 and {p[0].method for p in fn4} >= {"iam:PutUserPolicy", "iam:AddUserToGroup"}
    for ps, _ in found.values():
        for p in ps:
            assert p[-1].to == "admin" or p[-1].to.endswith(("service-role", "ending-role", "sre-user", "sre-role"))
            assert all(a.to == b.src for a, b in zip(p, p[1:], strict=False))


def test_the_issues_methods_are_all_catalogued():
    ids = {m.id for m in METHODS}
    need = {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "ec2:RunInstances",
            "lambda:CreateFunction+InvokeFunction", "glue:CreateDevEndpoint", "cloudformation:CreateStack",
            "datapipeline:CreatePipeline", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
            "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy",
            "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:AddUserToGroup", "iam:UpdateAssumeRolePolicy",
            "sts:AssumeRole", "lambda:UpdateFunctionCode"}
    assert need <= ids
    assert sorted(m.rhino for m in METHODS if m.rhino) == list(range(1, 22))


def test_sensitivity_follows_the_rules_and_can_be_overridden():
    acct = aws.read(DATA / "authorization-details.json")
    e = estate.from_account(acct, "x", {"role/privesc-sre-role": 99.0})
    p = e.by_name()
    assert p["role/privesc-high-priv-service-role"].rule == "admin" and p["role/privesc-high-priv-service-role"].admin
    assert p["user/privesc4-CreateAccessKey-user"].rule == "escalates"
    assert p["user/fp1-allow-and-deny-user"].rule == "contained"
    assert p["role/privesc-sre-role"].sensitivity == 99.0 and p["role/privesc-sre-role"].rule == "override"
    with pytest.raises(SpecError):
        estate.from_account(acct, "x", {"role/ghost": 1.0})


def _export(tmp_path, mutate):
    d = json.loads((DATA / "authorization-details.json").read_text())
    mutate(d)
    f = tmp_path / "auth.json"
    f.write_text(json.dumps(d))
    return f


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["RoleDetailList"][0].update(Bogus=1), "RoleDetailList[0].Bogus"),
    (lambda d: d["Policies"][0]["PolicyVersionList"][0]["Document"]["Statement"][0].update(Foo=1),
     "Policies[0].PolicyVersionList[0].Document.Statement[0].Foo"),
    (lambda d: d["Policies"][1]["PolicyVersionList"][0]["Document"]["Statement"][0].update(
        Condition={"StringMaybe": {"aws:x": "1"}}), "Policies[1].PolicyVersionList[0].Document.Statement[0].Condition"),
    (lambda d: d["RoleDetailList"][0]["AssumeRolePolicyDocument"]["Statement"][0].update(Principal={"Alien": "x"}),
     "RoleDetailList[0].AssumeRolePolicyDocument.Statement[0].Principal.Alien"),
    (lambda d: d["UserDetailList"][1]["AttachedManagedPolicies"].append({"PolicyName": "x", "PolicyArn": "arn:x"}),
     "UserDetailList[1].AttachedManagedPolicies"),
    (lambda d: d.update(IsTruncated=True), "IsTruncated"),
])
def test_the_importer_names_the_json_path_of_an_unknown_shape(tmp_path, mutate, field):
    f = _export(tmp_path, mutate)
    r = simenv_cli("import", "aws-iam", str(f), "-o", str(tmp_path / "e.yaml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"{f}: {field}"), line
    assert not (tmp_path / "e.yaml").exists()


def test_import_then_paths_json_lists_every_path_with_method_ids(tmp_path):
    out = tmp_path / "estates" / "iamv.yaml"
    r = simenv_cli("import", "aws-iam", str(DATA / "authorization-details.json"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "87 principals" in r.stdout and "not modelled" in r.stdout
    r = simenv_cli("paths", str(out), "--to", "admin", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert not any(n.startswith(("user/fp", "role/fp")) for n in data)
    steps = data["user/privesc7-AttachUserPolicy-user"]
    assert steps == [[{"from": "user/privesc7-AttachUserPolicy-user", "to": "admin", "method": "iam:AttachUserPolicy",
                       "rhino": 7, "pathfinding": "iam-008"}]]
    text = simenv_cli("paths", str(out)).stdout
    assert "role/privesc-AssumeRole-starting-role -> role/privesc-AssumeRole-intermediate-role [sts:AssumeRole" in text


def test_the_shipped_estate_is_the_fixture_imported():
    shipped = estate.load(ROOT / "scenarios" / "estates" / "iamvulnerable.yaml")
    fresh = estate.from_account(aws.read(DATA / "authorization-details.json"),
                                estate.sha256((DATA / "authorization-details.json").read_text()))
    assert shipped.model_dump(exclude={"source"}) == fresh.model_dump(exclude={"source"})
    assert shipped.source.sha256 == fresh.source.sha256


def test_a_scenario_on_the_estate_reaches_admin_through_the_imported_edges():
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario
    from simenv.world.reach import Coverage, closure

    spec, path = load_scenario("imported_privesc")
    w = build(spec, 0, path).world
    role = w.ident_index["role/privesc9-AttachRolePolicy-role"]
    fp = w.ident_index["user/fp1-allow-and-deny-user"]
    reach = Coverage.of(w, closure(w, w.permissions(role))).to_json(w)
    assert "cloud" in reach["systems"]  # the AttachRolePolicy edge reaches aws-admin: the whole cloud
    assert "cloud" not in Coverage.of(w, closure(w, w.permissions(fp))).to_json(w)["systems"]


def test_imported_privesc_ranks_profiles_as_its_header_says():
    b = {p: np.mean([float(simenv.run_episode("imported_privesc", p, seed=s).scores["blast_radius"] or 0)
                     for s in range(3)]) for p in ("zero_standing", "jit", "intent_cedar", "intent_rego", "static_rbac")}
    assert all(b[p] == 0 for p in ("zero_standing", "jit", "intent_cedar", "intent_rego")), b
    assert b["static_rbac"] == 25.0, b
    assert "Expected ranking" in (ROOT / "scenarios" / "imported_privesc.yaml").read_text()


def test_a_scenario_naming_a_missing_estate_file_is_one_line_exit_2(tmp_path):
    text = (ROOT / "scenarios" / "imported_privesc.yaml").read_text().replace("estates/iamvulnerable.yaml",
                                                                              "estates/ghost.yaml")
    f = tmp_path / "s.yaml"
    f.write_text(text)
    r = simenv_cli("validate", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{f}: estate.file: no such file" in r.stderr


def test_editing_the_estate_file_loads_the_scenario_again(tmp_path):
    """The scenario cache is keyed on the estate file's content too, not only the scenario's."""
    from simenv.scenario.loader import load_scenario, shared_scenario

    (tmp_path / "estates").mkdir()
    scenario = tmp_path / "s.yaml"
    scenario.write_text((ROOT / "scenarios" / "imported_privesc.yaml").read_text())
    est_file = tmp_path / "estates" / "iamvulnerable.yaml"
    est_file.write_text(ESTATE_TEXT := (ROOT / "scenarios" / "estates" / "iamvulnerable.yaml").read_text())

    def weight(spec, name="creds:role/privesc9-AttachRolePolicy-role"):
        return next(r.sensitivity for r in spec.resources if r.name == name)

    first = shared_scenario(scenario)[0]
    assert shared_scenario(scenario)[0] is first  # unchanged files: the cached spec
    assert weight(first) == 15.0
    edited = ESTATE_TEXT.replace("arn: arn:aws:iam::111111111111:role/privesc9-AttachRolePolicy-role\n  kind: "
                                 "service_account\n  services: []\n  admin: false\n  sensitivity: 15.0",
                                 "arn: arn:aws:iam::111111111111:role/privesc9-AttachRolePolicy-role\n  kind: "
                                 "service_account\n  services: []\n  admin: false\n  sensitivity: 40.0")
    assert edited != ESTATE_TEXT
    est_file.write_text(edited)
    second = shared_scenario(scenario)[0]
    assert second is not first and weight(second) == 40.0
    assert weight(load_scenario(scenario)[0]) == 40.0
    est_file.unlink()
    with pytest.raises(SpecError, match="estate.file: no such file"):
        load_scenario(scenario)
