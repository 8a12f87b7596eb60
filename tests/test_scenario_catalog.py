"""Broken copies of every shipped scenario are rejected by ``simenv validate``: exit 2, file and field, no traceback.

Each shipped file yields copies with one fault each: wrong types, unknown keys (top level and
nested), dangling references, bad framework tags, YAML traps (``id: 012345``, ``NO``, ``1.10``,
duplicate keys, tabs), an empty file, a non-mapping. All copies go to one ``simenv validate``
call, which reports every bad file.
"""

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS, simenv_cli

from simenv import files

SENTINEL = "TRAPSENTINEL"


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=10**6, allow_unicode=True)


def _first(items, pred=lambda x: True):
    return next(((i, x) for i, x in enumerate(items or []) if pred(x)), (None, None))


def _data_breaks(d: dict) -> list[tuple[str, callable, str, str]]:
    """(label, mutation of a copy, expected field, expected words) for the parsed file ``d``."""
    t0 = d["tickets"][0]
    out = [
        # unknown keys, top level and nested
        ("unknown-top", lambda c: c.update(bogus_key=1), "bogus_key", "unknown field"),
        ("unknown-estate", lambda c: c.setdefault("estate", {}).update(bogus_key=1), "estate.bogus_key", "unknown field"),
        ("unknown-tags", lambda c: c.setdefault("tags", {}).update(bogus_key=[]), "tags.bogus_key", "unknown field"),
        ("unknown-identity", lambda c: c["identities"][0].update(bogus_key=1), "identities[0].bogus_key", "unknown field"),
        ("unknown-ticket", lambda c: c["tickets"][0].update(bogus_key=1), "tickets[0].bogus_key", "unknown field"),
        ("unknown-scope", lambda c: c["tickets"][0]["scope"].update(bogus_key=1), "tickets[0].scope.bogus_key",
         "unknown field"),
        # wrong types
        ("type-max-ticks", lambda c: c.update(max_ticks="forty"), "max_ticks", "integer"),
        ("type-overreach", lambda c: c.update(overreach="yes"), "overreach", "boolean"),
        ("type-size", lambda c: c.setdefault("estate", {}).update(size="big"), "estate.size", "integer"),
        ("type-kind", lambda c: c["identities"][0].update(kind=3), "identities[0].kind", "Input should be"),
        ("type-trust-tier", lambda c: c["identities"][0].update(trust_tier=1.5), "identities[0].trust_tier", "integer"),
        ("type-identities", lambda c: c.update(identities={"a": 1}), "identities", "list"),
        ("type-text", lambda c: c["tickets"][0].update(text=42), "tickets[0].text", "string"),
        ("type-intent", lambda c: c["tickets"][0].update(intent="all"), "tickets[0].intent", "list"),
        ("type-opens-at", lambda c: c["tickets"][0].update(opens_at=-1), "tickets[0].opens_at", "greater than"),
        ("type-tags", lambda c: c.setdefault("tags", {}).update(asi="ASI01"), "tags.asi", "list"),
        ("enum-system", lambda c: c["tickets"][0]["scope"].update(systems=["mainframe"]), "tickets[0].scope.systems[0]",
         "idp"),
        # bad framework ids
        ("tag-asi", lambda c: c.setdefault("tags", {}).update(asi=["ASI03", "ASI11"]), "tags.asi[1]",
         "unknown OWASP ASI id 'ASI11'"),
        ("tag-nhi", lambda c: c.setdefault("tags", {}).update(nhi=["NHI01"]), "tags.nhi[0]", "unknown OWASP NHI id"),
        ("tag-maestro", lambda c: c.setdefault("tags", {}).update(maestro=["L8"]), "tags.maestro[0]", "MAESTRO"),
        ("tag-nist", lambda c: c.setdefault("tags", {}).update(nist=["GOVERN-1.6"]), "tags.nist[0]", "malformed NIST"),
        # dangling references
        ("ref-assignee", lambda c: c["tickets"][0].update(assignee="ghost"), "tickets[0].assignee", "unknown identity"),
        ("ref-ticket-owner", lambda c: c["tickets"][0].update(owner="ghost"), "tickets[0].owner", "unknown identity"),
        ("ref-parent", lambda c: c["tickets"][0].update(parent="T-GHOST"), "tickets[0].parent", "unknown ticket"),
        ("ref-grant-identity", lambda c: c.setdefault("grants", []).append(
            {"identity": "ghost", "resource": c["identities"][0]["name"]}), f"grants[{len(d.get('grants') or [])}].identity",
         "unknown identity"),
        ("ref-grant-resource", lambda c: c.setdefault("grants", []).append(
            {"identity": c["identities"][0]["name"], "resource": "ghost-res"}),
         f"grants[{len(d.get('grants') or [])}].resource", "unknown resource"),
        ("dup-identity", lambda c: c["identities"].append(copy.deepcopy(c["identities"][0])),
         f"identities[{len(d['identities'])}].name", "duplicate"),
    ]
    n_res = len(d.get("resources") or [])
    gi, group = _first(d.get("resources"), lambda r: r.get("type") == "group")
    if group is not None:
        j = len(group.get("roles") or [])
        out.append(("ref-group-role", lambda c: c["resources"][gi].setdefault("roles", []).append("ghost-role"),
                    f"resources[{gi}].roles[{j}]", "unknown resource 'ghost-role'"))
        out.append(("ref-group-role-kind", lambda c: c["resources"][gi].setdefault("roles", []).append(group["name"]),
                    f"resources[{gi}].roles[{j}]", "not a role"))
    else:
        out.append(("ref-group-role", lambda c: c.setdefault("resources", []).append(
            {"name": "broken-group", "type": "group", "system": "idp", "roles": ["ghost-role"]}),
            f"resources[{n_res}].roles[0]", "unknown resource 'ghost-role'"))
    ri, role = _first(d.get("resources"), lambda r: r.get("permissions"))
    if role is not None:
        out.append(("ref-permission", lambda c: c["resources"][ri]["permissions"][0].update(resources=["ghost-res"]),
                    f"resources[{ri}].permissions[0].resources[0]", "unknown resource 'ghost-res'"))
    else:
        out.append(("ref-permission", lambda c: c.setdefault("resources", []).append(
            {"name": "broken-role", "type": "role", "system": "idp",
             "permissions": [{"system": "idp", "risks": ["read"], "resources": ["ghost-res"]}]}),
            f"resources[{n_res}].permissions[0].resources[0]", "unknown resource 'ghost-res'"))
    ai, agent = _first(d["identities"], lambda i: i.get("kind") == "agent")
    if agent is not None:
        out.append(("ref-agent-owner", lambda c: c["identities"][ai].update(owner="ghost"), f"identities[{ai}].owner",
                    "unknown identity"))
    if n_res:
        out.append(("unknown-resource", lambda c: c["resources"][0].update(bogus_key=1), "resources[0].bogus_key",
                    "unknown field"))
        out.append(("type-sensitivity", lambda c: c["resources"][0].update(sensitivity="high"),
                    "resources[0].sensitivity", "number"))
    if t0.get("intent"):
        out.append(("unknown-intent", lambda c: c["tickets"][0]["intent"][0].update(bogus_key=1),
                    "tickets[0].intent[0].bogus_key", "unknown field"))
    if t0.get("done_when") and "grant" in t0["done_when"][0]:
        out.append(("ref-done-when", lambda c: c["tickets"][0]["done_when"][0]["grant"].update(resource="ghost-res"),
                    "tickets[0].done_when[0].grant.resource", "unknown resource"))
    if d.get("agents"):
        out.append(("unknown-agent", lambda c: c["agents"][0].update(bogus_key=1), "agents[0].bogus_key", "unknown field"))
        out.append(("ref-plans-ticket", lambda c: c["agents"][0].setdefault("plans", {}).update({"T-GHOST": []}),
                    "agents[0].plans.T-GHOST", "unknown ticket"))
    if d.get("events"):
        out.append(("unknown-event", lambda c: c["events"][0].update(bogus_key=1), "events[0].bogus_key", "unknown field"))
        out.append(("ref-event-agent", lambda c: c["events"][0].update(agent="ghost"), "events[0].agent",
                    "unknown identity"))
    return out


def _trap(d: dict, set_sentinel, raw: str) -> str:
    """The file with one value written as the raw YAML token ``raw``."""
    c = copy.deepcopy(d)
    set_sentinel(c)
    text = _dump(c)
    assert text.count(SENTINEL) == 1
    return text.replace(SENTINEL, raw)


def _text_breaks(d: dict) -> list[tuple[str, str, str, str]]:
    """(label, file text, expected field, expected words): YAML traps and files that are no scenario at all."""
    plain = _dump(d)
    indented = plain.index("\n  ")
    return [
        ("trap-octal-id", _trap(d, lambda c: c["tickets"][0].update(id=SENTINEL), "012345"), "tickets[0].id", "quote it"),
        ("trap-no", _trap(d, lambda c: c["identities"][0].update(name=SENTINEL), "NO"), "identities[0].name",
         "as a boolean"),
        ("trap-version", _trap(d, lambda c: c.update(name=SENTINEL), "1.10"), "name", "as a number"),
        ("trap-yes", _trap(d, lambda c: c.setdefault("estate", {}).update(trust_domain=SENTINEL), "yes"),
         "estate.trust_domain", "boolean"),
        ("trap-enum-no", _trap(d, lambda c: c["tickets"][0]["scope"].update(systems=[SENTINEL]), "NO"),
         "tickets[0].scope.systems[0]", "quote it"),
        ("trap-dup-key", plain + "name: again\n", "line", "duplicate key 'name'"),
        ("trap-dup-nested", _trap(d, lambda c: c["tickets"][0].update(scope=SENTINEL),
                                  "{systems: [idp], systems: [db], risks: [read]}"), "line", "duplicate key 'systems'"),
        ("trap-tab", plain[:indented] + "\n\t" + plain[indented + 3:], "line", "YAML"),
        ("trap-unclosed", _trap(d, lambda c: c.update(name=SENTINEL), "[unclosed"), "line", "YAML"),
        ("empty", "", "<root>", "an empty file"),
        ("comment-only", "# nothing here\n", "<root>", "an empty file"),
        ("list", "- a\n- b\n", "<root>", "got a list"),
        ("scalar", "just some text\n", "<root>", "got a str"),
    ]


def _copies(name: str, folder: Path) -> list[tuple[Path, str, str]]:
    """Write every broken copy of scenario ``name``; (path, expected field, expected words) for each."""
    d = files.load_yaml(files.shipped_dir("scenarios") / f"{name}.yaml")
    out = []
    for label, fn, field, words in _data_breaks(d):
        c = copy.deepcopy(d)
        fn(c)
        path = folder / f"{name}__{label}.yaml"
        path.write_text(_dump(c))
        out.append((path, field, words))
    for label, text, field, words in _text_breaks(d):
        path = folder / f"{name}__{label}.yaml"
        path.write_text(text)
        out.append((path, field, words))
    bad_utf8 = folder / f"{name}__not-utf8.yaml"
    bad_utf8.write_bytes(b"name: caf\xe9\n")
    out.append((bad_utf8, "<root>", "not UTF-8"))
    return out


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """Every broken copy of every shipped scenario, validated in one ``simenv validate`` call."""
    folder = tmp_path_factory.mktemp("broken")
    estates = files.shipped_dir("scenarios") / "estates"
    if estates.is_dir():  # a scenario may name an estate file beside it
        shutil.copytree(estates, folder / "estates")
    cases = {name: _copies(name, folder) for name in SCENARIOS}
    paths = [str(p) for cs in cases.values() for p, _, _ in cs]
    r = simenv_cli("validate", *paths)
    lines: dict[str, list[tuple[str, str]]] = {}
    for line in r.stderr.splitlines():
        file, _, rest = line.partition(": ")
        field, _, msg = rest.partition(": ")
        lines.setdefault(Path(file).name, []).append((field, msg))
    return cases, r, lines


def test_one_validate_call_rejects_every_copy_with_exit_2_and_no_traceback(validated):
    cases, r, lines = validated
    assert r.returncode == 2, r.stdout[-2000:]
    assert "Traceback" not in r.stderr + r.stdout
    assert "ok " not in r.stdout, [x for x in r.stdout.splitlines() if x.startswith("ok")][:5]
    assert set(lines) >= {p.name for cs in cases.values() for p, _, _ in cs}


@pytest.mark.parametrize("name", SCENARIOS)
def test_broken_copies_name_the_file_and_the_field(name, validated):
    cases, r, lines = validated
    wrong = []
    for path, field, words in cases[name]:
        got = lines.get(path.name, [])
        if not any(field in f and words in m for f, m in got):
            wrong.append(f"{path.name}: want field {field!r} with {words!r}; got {got}")
    assert not wrong, "\n".join(wrong)


def test_every_copy_is_written_for_every_scenario(validated):
    cases, _, _ = validated
    assert set(cases) == set(SCENARIOS)
    for name, cs in cases.items():
        assert len(cs) >= 40, (name, len(cs))


def test_shipped_scenarios_validate():
    paths = sorted(str(p) for p in files.shipped_dir("scenarios").glob("*.yaml"))
    r = simenv_cli("validate", *paths)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.count("ok ") == len(paths)
