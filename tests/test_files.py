"""Scenario and profile files: strict schema, file:field errors, YAML traps, no tracebacks."""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS, simenv_cli

from simenv import files
from simenv.errors import SpecError
from simenv.governance.profile import load_profile
from simenv.scenario.loader import load_scenario


def shipped(name, kind="scenarios"):
    return (files.shipped_dir(kind) / f"{name}.yaml").read_text()


def test_every_shipped_file_validates():
    paths = sorted(str(p) for p in files.shipped_dir("scenarios").glob("*.yaml"))
    paths += sorted(str(p) for p in files.shipped_dir("policies").glob("*.yaml"))
    r = simenv_cli("validate", *paths)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok ") == len(paths)


def test_every_scenario_opens_with_its_story():
    for name in SCENARIOS:
        text = shipped(name)
        assert text.startswith(f"# {name}"), name
        head = text.split("\nname:")[0].lower()
        assert "story" in head and "safe path" in head and "tags" in head, name


def _mutate(text, fn):
    data = yaml.safe_load(text)
    fn(data)
    return yaml.safe_dump(data, sort_keys=False)


BREAKS = {
    "unknown key": (lambda d: d.update(bogus_field=1), "bogus_field", "unknown field"),
    "wrong type": (lambda d: d.update(max_ticks="forty"), "max_ticks", "integer"),
    "wrong nested type": (lambda d: d["tickets"][0].update(opens_at=[1]), "tickets[0].opens_at", "integer"),
    "dangling assignee": (lambda d: d["tickets"][0].update(assignee="ghost"), "tickets[0].assignee", "unknown identity"),
    "dangling grant": (lambda d: d.setdefault("grants", []).append({"identity": "ghost", "resource": "x"}),
                       "grants[", "unknown"),
    "unknown tool": (lambda d: d["tickets"][0]["intent"].append({"tool": "sudo", "args": {}}), "intent", "unknown tool"),
    "bad enum": (lambda d: d["tickets"][0]["scope"].update(systems=["mainframe"]), "tickets[0].scope.systems[0]", "idp"),
}


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_broken_copies_are_rejected_with_file_and_field(name, kind, tmp_path):
    fn, field, words = BREAKS[kind]
    path = tmp_path / f"{name}_broken.yaml"
    estates = Path(files.shipped_dir("scenarios")) / "estates"
    if estates.is_dir():  # a scenario may name an estate file beside it
        shutil.copytree(estates, tmp_path / "estates", dirs_exist_ok=True)
    path.write_text(_mutate(shipped(name), fn))
    with pytest.raises(SpecError) as e:
        load_scenario(path)
    msg = e.value.render()
    assert str(path) in msg and field in msg and words in msg, msg
    r = simenv_cli("validate", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout and path.name in r.stderr


TRAPS = [
    ("id: T-100", "id: 012345", "tickets[0].id", "quote it"),
    ("name: bob", "name: NO", "identities[1].name", "boolean"),
    ("name: delegated_admin", "name: 1.10", "name", "number"),
    ("max_ticks: 30", "max_ticks: 30\nmax_ticks: 31", "line", "duplicate key"),
    ("trust_domain: corp.example", "trust_domain: [unclosed", "line", "YAML"),
]


@pytest.mark.parametrize("old,new,field,words", TRAPS)
def test_yaml_traps(old, new, field, words, tmp_path):
    text = shipped("delegated_admin")
    assert old in text
    path = tmp_path / "trap.yaml"
    path.write_text(text.replace(old, new, 1))
    r = simenv_cli("validate", str(path))
    out = r.stderr
    assert r.returncode == 2 and "Traceback" not in out, out
    assert "trap.yaml" in out and field in out and words in out, out


@pytest.mark.parametrize("content,field", [
    ("", "<root>"),
    ("- a\n- b\n", "<root>"),
    ("name: x\ncredentials: {mode: teleport}\nauthorizer: {engine: rbac}\n", "credentials.mode"),
    ("name: x\ncredentials: {mode: none}\nauthorizer: {engine: magic}\n", "authorizer.engine"),
    ("name: x\ncredentials: {mode: none, ttl: 0}\nauthorizer: {engine: rbac}\n", "credentials.ttl"),
])
def test_broken_profiles(content, field, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(content)
    with pytest.raises(SpecError) as e:
        if "credentials" in content:
            load_profile(path)
        else:
            load_scenario(path)
    assert field in e.value.render()


def test_unknown_names_exit_2_without_traceback():
    for args in (["run", "no_such_scenario", "--policy", "allow_all"], ["run", "scope_creep", "--policy", "nope"],
                 ["run", "scope_creep", "--policy", "allow_all", "--agent", "nobody"], ["validate", "/no/such.yaml"]):
        r = simenv_cli(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.strip()


def _profile_naming(tmp_path, policy: str):
    prof = tmp_path / "prof" / "pr.yaml"
    prof.parent.mkdir(exist_ok=True)
    prof.write_text(f"name: pr\ncredentials: {{mode: jit}}\nauthorizer: {{engine: native, policy: {policy!r}}}\n")
    return prof


@pytest.mark.parametrize("policy,words", [
    ("/etc/passwd", "absolute path"),
    ("~/rules.yaml", "absolute path"),
    ("../outside.yaml", "leaves the profile's folder"),
    ("sub/../../outside.yaml", "leaves the profile's folder"),
    ("link.yaml", "symlink out of the profile's folder"),
    ("fifo.yaml", "not a regular file"),
    ("big.yaml", "more than the 524,288"),
    ("missing.yaml", "no such file"),
])
def test_a_profile_names_only_small_regular_files_inside_its_own_folder(tmp_path, policy, words):
    import os

    (tmp_path / "outside.yaml").write_text("default: allow\nrules: []\n")
    prof = _profile_naming(tmp_path, policy)
    os.symlink(tmp_path / "outside.yaml", prof.parent / "link.yaml")
    os.mkfifo(prof.parent / "fifo.yaml")
    (prof.parent / "big.yaml").write_text("#" * (files.MAX_FILE_BYTES + 1))
    with pytest.raises(SpecError) as e:
        load_profile(prof)
    text = e.value.render()
    assert "authorizer.policy" in text and words in text and "\n" not in text.strip(), text
    assert "root:" not in text  # nothing of a file outside the tree is ever read or echoed
    r = simenv_cli("validate", str(prof))
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_a_symlink_inside_the_profile_folder_is_fine(tmp_path):
    import os

    prof = _profile_naming(tmp_path, "rules/intent.yaml")
    (prof.parent / "real").mkdir()
    (prof.parent / "real" / "intent.yaml").write_text(shipped("rules/intent", "policies"))
    os.symlink(prof.parent / "real", prof.parent / "rules")
    assert load_profile(prof)[0].name == "pr"


def test_a_bare_name_is_always_the_shipped_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "allow_all").write_text("name: allow_all\ncredentials: {mode: none}\nauthorizer: {engine: deny_all}\n")
    assert files.resolve("allow_all", "policies") == files.shipped_dir("policies") / "allow_all.yaml"
    assert load_profile("allow_all")[0].authorizer.engine == "allow_all"
    assert files.resolve("./allow_all", "policies").resolve() == (tmp_path / "allow_all").resolve()


def test_resolve_names_a_folder_a_missing_file_and_an_unknown_name_in_one_line(tmp_path):
    from simenv.errors import UnknownNameError

    (tmp_path / "prof").mkdir()
    (tmp_path / "p.yaml").write_text("name: p\n")
    assert files.resolve(tmp_path / "p.yaml", "policies") == tmp_path / "p.yaml"
    for ref, words in ((tmp_path / "prof", "is a folder, not a profile file"), (tmp_path / "no.yaml", "no such file"),
                       (tmp_path / "p.yaml" / "x.yaml", "no such file"),  # under a file, not a folder
                       ("allow_al", "unknown profile 'allow_al'; did you mean 'allow_all'?"),
                       ("a\x00b", "unknown profile")):
        with pytest.raises(UnknownNameError, match=re.escape(words)):
            files.resolve(ref, "policies")
