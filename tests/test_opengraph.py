"""``simenv export opengraph``: estates, scenarios and episodes as BloodHound OpenGraph JSON, checked against its schema.

The schemas in ``tests/data/opengraph/`` are SpecterOps' published ones (sources and commits in its README).
"""

import json
from pathlib import Path

import jsonschema
import pytest
import referencing
from conftest import simenv_cli
from referencing.jsonschema import DRAFT202012

from simenv.bench.opengraph import export
from simenv.estates import estate
from simenv.estates.opengraph import method_kind

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "data" / "opengraph"
ESTATE = ROOT / "scenarios" / "estates" / "iamvulnerable.yaml"
DOMAIN = "simenv:aws:111111111111"


@pytest.fixture(scope="module")
def validator():
    docs = {n: json.loads((SCHEMAS / n).read_text()) for n in ("opengraph.json", "node.json", "edge.json",
                                                              "metadata.json")}
    res = [(name, referencing.Resource.from_contents(d, default_specification=DRAFT202012)) for name, d in docs.items()]
    registry = referencing.Registry().with_resources(res + [(f"./{n}", r) for n, r in res])
    return jsonschema.Draft202012Validator(docs["opengraph.json"], registry=registry)


def check(validator, payload):
    """Valid against the schema, node ids unique, and every edge between two nodes of the payload."""
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(payload)]
    assert not errors, errors[:5]
    ids = [n["id"] for n in payload["graph"]["nodes"]]
    assert len(ids) == len(set(ids))
    known = set(ids)
    dangling = [e for e in payload["graph"]["edges"] if e["start"]["value"] not in known or e["end"]["value"] not in known]
    assert not dangling, dangling[:3]
    assert all(k.startswith("Simenv") for n in payload["graph"]["nodes"] for k in n["kinds"])
    assert all(e["kind"].startswith("Simenv") for e in payload["graph"]["edges"])
    return {n["id"]: n for n in payload["graph"]["nodes"]}, {(e["kind"], e["start"]["value"], e["end"]["value"]): e
                                                            for e in payload["graph"]["edges"]}


def test_the_validator_refuses_what_opengraph_refuses(validator):
    bad = {"graph": {"nodes": [{"id": "n", "kinds": ["SimenvX"], "properties": {"nested": {"a": 1}}}],
                     "edges": [{"kind": "has-dash", "start": {"value": "n"}, "end": {"value": "n"}}]},
           "extra": 1}
    assert len(list(validator.iter_errors(bad))) == 3


def test_every_escalation_path_of_iamvulnerable_is_edges_of_the_estate_export(validator):
    est = estate.load(ESTATE)
    nodes, edges = check(validator, export(ESTATE))
    assert sum(n["kinds"][0] in ("SimenvHuman", "SimenvServiceAccount") for n in nodes.values()) == len(est.principals)
    assert nodes[f"{DOMAIN}:identity:user/privesc7-AttachUserPolicy-user"]["properties"]["arn"].endswith(
        ":user/privesc7-AttachUserPolicy-user")
    found = estate.paths(est)
    assert found
    steps = 0
    for paths, _ in found.values():
        for path in paths:
            for s in path:
                end = f"{DOMAIN}:resource:aws-admin" if s.to == "admin" else f"{DOMAIN}:identity:{s.to}"
                e = edges[(method_kind(s.method), f"{DOMAIN}:identity:{s.src}", end)]
                p = e["properties"]
                assert p["escalation"] is True and p["method"] == s.method
                assert p.get("rhino") == s.rhino and p.get("pathfinding") == s.pathfinding
                steps += 1
    assert steps > 100
    into_admin = {f"{DOMAIN}:resource:aws-admin"}  # what reaches admin in the graph: what simenv paths lists
    for _ in range(6):
        into_admin |= {k[1] for k in edges if k[2] in into_admin}
    admins = {p.name for p in est.principals if p.admin}
    assert {n for n in est.by_name() if f"{DOMAIN}:identity:{n}" in into_admin} - admins == \
        {n for n, (ps, _) in found.items() if ps}
    e = edges[("SimenvAWS_iam_AttachUserPolicy", f"{DOMAIN}:identity:user/privesc7-AttachUserPolicy-user",
               f"{DOMAIN}:resource:aws-admin")]
    assert e["properties"]["rhino"] == 7 and e["properties"]["pathfinding"] == "iam-008"
    assert not any(k[1].startswith((f"{DOMAIN}:identity:user/fp", f"{DOMAIN}:identity:role/fp"))
                   and k[2] == f"{DOMAIN}:resource:aws-admin" for k in edges)


def test_a_scenario_export_has_its_world_grants_and_the_estates_edges(validator):
    nodes, edges = check(validator, export("imported_privesc"))
    d = "simenv:corp.example"
    agent, role = f"{d}:identity:audit-agent", f"{d}:identity:role/privesc9-AttachRolePolicy-role"
    assert nodes[agent]["kinds"] == ["SimenvAgent", "SimenvIdentity"]
    assert nodes[role]["kinds"] == ["SimenvServiceAccount", "SimenvIdentity", "SimenvAWSRole"]
    assert ("SimenvActsAs", agent, role) in edges
    assert ("SimenvOwns", f"{d}:identity:alice", agent) in edges
    assert ("SimenvHasRole", role, f"{d}:resource:iam-auditor") in edges
    assert ("SimenvHasRole", role, f"{d}:resource:creds:role/privesc9-AttachRolePolicy-role") in edges
    esc = edges[("SimenvAWS_iam_AttachRolePolicy", role, f"{d}:resource:aws-admin")]["properties"]
    assert esc["rhino"] == 9 and esc["pathfinding"] == "iam-009"
    assert sum(n["kinds"][1] == "SimenvResource" for n in nodes.values()) > 100  # the generated filler too
    _, edges = check(validator, export("delegated_admin"))
    assert ("SimenvGroupRole", f"{d}:resource:eng-readers", f"{d}:resource:repo-reader") in edges


@pytest.fixture(scope="module")
def episodes(tmp_path_factory):
    out = {}
    for profile in ("static_rbac", "zero_standing"):
        log = tmp_path_factory.mktemp("ep") / f"{profile}.jsonl"
        r = simenv_cli("run", "imported_privesc", "--policy", profile, "--audit", str(log))
        assert r.returncode == 0, r.stderr
        out[profile] = log
    return out


def test_an_episode_export_has_its_calls_credentials_and_affected_resources(validator, episodes):
    d = "simenv:corp.example"
    agent, role, admin = f"{d}:identity:audit-agent", f"{d}:identity:role/privesc9-AttachRolePolicy-role", \
        f"{d}:resource:aws-admin"
    records = [json.loads(x) for x in episodes["static_rbac"].read_text().splitlines()]
    nodes, edges = check(validator, export(episodes["static_rbac"]))
    calls = {n["properties"]["seq"]: n["properties"] for n in nodes.values() if n["kinds"] == ["SimenvCall"]}
    assert sorted(calls) == [r["seq"] for r in records if r["kind"] == "call"]
    attach = next(c for c in calls.values() if c["tool"] == "cloud_attach_role")
    assert attach["decision"] == "allow" and attach["effect"] == "applied" and attach["policy_ids"] == ["rbac.role_binding"]
    cid = f"{d}:call:{attach['seq']}"
    assert ("SimenvCalled", agent, cid) in edges and ("SimenvTargets", cid, admin) in edges
    assert edges[("SimenvChanged", cid, admin)]["properties"]["ops"] == ["grant"]
    assert edges[("SimenvAffected", cid, admin)]["properties"]["weight"] == 25.0
    assert nodes[admin]["properties"]["affected"] is True and nodes[admin]["properties"]["changed"] is True
    assert edges[("SimenvHasRole", role, admin)]["properties"] == {"added_tick": attach["tick"],
                                                                  "added_by_call": attach["seq"]}
    cred = f"{d}:credential:{attach['credential']}"
    assert ("SimenvUsed", cid, cred) in edges and ("SimenvIssuedTo", cred, agent) in edges
    assert ("SimenvRepresents", cred, role) in edges

    nodes, edges = check(validator, export(episodes["zero_standing"]))
    attach = next(n["properties"] for n in nodes.values() if n["kinds"] == ["SimenvCall"]
                  and n["properties"]["tool"] == "cloud_attach_role")
    assert attach["decision"] == "deny" and attach["policy_ids"]
    assert "changed" not in nodes[admin]["properties"] and ("SimenvHasRole", role, admin) not in edges


def test_export_cli_writes_the_file_and_bad_input_is_one_line_exit_2(tmp_path, episodes):
    out = tmp_path / "g.json"
    r = simenv_cli("export", "opengraph", str(ESTATE), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{out}: ") and "escalation edges" in r.stdout
    assert json.loads(out.read_text())["metadata"] == {"source_kind": "Simenv"}
    policy = ROOT / "policies" / "static_rbac.yaml"
    noise = tmp_path / "noise.json"
    noise.write_text('{"a": 1}\n')
    log = tmp_path / "renamed.jsonl"  # an episode of a scenario file that is not a shipped name
    log.write_text(episodes["static_rbac"].read_text().replace('"scenario":"imported_privesc"',
                                                               '"scenario":"my_scenario"'))
    cases = [((str(tmp_path / "missing.yaml"), "-o", str(out)), str(tmp_path / "missing.yaml")),
             ((str(policy), "-o", str(out)), str(policy)),
             ((str(noise), "-o", str(out)), str(noise)),
             ((str(log), "-o", str(out)), str(log)),
             ((str(ESTATE), "-o", str(tmp_path / "no" / "such" / "g.json")), str(tmp_path / "no" / "such" / "g.json")),
             ((str(ESTATE), "-o", str(tmp_path)), str(tmp_path))]
    for args, named in cases:
        r = simenv_cli("export", "opengraph", *args)
        line = r.stderr.strip()
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert len(line.splitlines()) == 1 and named in line, (args, line)
    r = simenv_cli("export", "opengraph", str(log), "--scenario", "scenarios/imported_privesc.yaml", "-o", str(out))
    assert r.returncode == 0 and "2 calls" in r.stdout, r.stderr
