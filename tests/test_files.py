"""Scenario and profile files: strict schema, file:field errors, YAML traps, no tracebacks."""

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
