"""The Agent Governance Toolkit engine: verdicts map, errors fail closed, bad manifests are refused, scores as intent_cedar.

The engines-agree tests (tests/test_policy_engines.py) hold the AGT manifest beside native rules, Cedar and Rego.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS, simenv_cli
from pin_scores import load, scores
from test_policy_engines import engines, request, sample_requests

from simenv.errors import SimenvError, SpecError
from simenv.governance import agt
from simenv.governance.agt import AgtAuthorizer
from simenv.types import Effect

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "policies" / "agt" / "intent.yaml"
HEAD = """agent_control_specification_version: "0.3.0-alpha-agt"
policies:
  p: {type: rego, bundle: p.rego, query: data.t.decision}
annotators:
  simenv: {type: endpoint}
intervention_points:
  pre_tool_call:
    policy_target: "$.tool_call.args"
    tool_name_from: "$.tool_call.name"
    annotations: {simenv: {from: "$snap.tool_call"}}
    policy: {id: p}
tools:
  db_query: {risk: read, system: db}
"""


def manifest(tmp_path: Path, rego: str, text: str = HEAD) -> Path:
    (tmp_path / "p.rego").write_text("package t\nimport rego.v1\n" + rego)
    (tmp_path / "m.yaml").write_text(text)
    return tmp_path / "m.yaml"


def test_the_verdict_carries_the_reasons_cedar_gives():
    reqs = sample_requests(2000, seed=7)
    a, cedar = AgtAuthorizer(MANIFEST), engines()["cedar"]
    assert [set(a.authorize(r).reasons) for r in reqs] == [set(d.reasons) for d in cedar.authorize_batch(reqs)]


def test_the_manifest_catalog_is_simenvs():
    from simenv import files
    from simenv.world.catalog import CATALOG

    tools = files.load_yaml(MANIFEST)["tools"]
    assert tools == {n: {"risk": str(s.risk), "system": str(s.system)} for n, s in CATALOG.items()}


@pytest.mark.parametrize("verdict,effect,reasons", [
    ('{"decision": "allow", "reason": "r.ok", "message": "fine"}', Effect.ALLOW, ("fine",)),
    ('{"decision": "deny", "reason": "r.b,r.a", "message": "a\\nb"}', Effect.DENY, ("a", "b")),
    ('{"decision": "escalate", "reason": "r.ask", "message": "ask"}', Effect.REQUIRE_APPROVAL, ("ask",)),
    ('{"decision": "warn", "reason": "r.w", "message": "odd hour"}', Effect.ALLOW, ("warning: odd hour",)),
])
def test_verdicts_map_to_decisions(tmp_path, verdict, effect, reasons):
    d = AgtAuthorizer(manifest(tmp_path, f"decision := {verdict}\n")).authorize(request(action={"name": "db_query"}))
    assert (d.effect, d.reasons) == (effect, reasons)
    assert d.policy_ids == tuple(sorted(verdict.split('"reason": "')[1].split('"')[0].split(",")))


def test_a_verdict_without_a_reason_names_the_bound_policy(tmp_path):
    d = AgtAuthorizer(manifest(tmp_path, 'decision := {"decision": "deny"}\n')).authorize(request(action={"name": "db_query"}))
    assert d.effect is Effect.DENY and d.policy_ids == ("p",)


def test_a_transform_is_refused(tmp_path):
    m = manifest(tmp_path, 'decision := {"decision": "transform", "reason": "r.t", '
                           '"transform": {"path": "$target.table", "value": "other"}}\n')
    d = AgtAuthorizer(m).authorize(request(action={"name": "db_query"}, context={"args": {"table": "payments"}}))
    assert d.effect is Effect.DENY and d.policy_ids in (("r.t",), (agt.ERROR_ID,)), d


@pytest.mark.parametrize("rego,req,words", [
    ('decision := {"decision": "allow"} if input.tool.risk == "nope"\n', {"action": {"name": "db_query"}},
     ("runtime_error:policy_invocation_failed", "PolicyFailure", "data.t.decision is undefined")),
    ('decision := {"decision": "maybe"}\n', {"action": {"name": "db_query"}}, ("runtime_error:policy_output_invalid",)),
    ('decision := {"decision": "allow", "reason": "runtime_error:fake"}\n', {"action": {"name": "db_query"}},
     ("runtime_error:policy_output_invalid",)),
    ('decision := {"decision": "allow"}\n', {"action": {"name": "vault_read_secret"}}, ("runtime_error:tool_unknown",)),
    ('decision := {"decision": "allow", "reason": sprintf("%d", [1 / input.annotations.simenv.context.tick])}\n',
     {"action": {"name": "db_query"}, "context": {"tick": 0}}, ("runtime_error:policy_invocation_failed",)),
])
def test_errors_fail_closed_with_the_cause_as_the_reason(tmp_path, rego, req, words):
    d = AgtAuthorizer(manifest(tmp_path, rego)).authorize(request(**req))
    assert d.effect is Effect.DENY and d.policy_ids == (agt.ERROR_ID,), d
    assert len(d.reasons) == 1 and d.reasons[0].startswith("AGT failed closed: ")
    assert all(w in d.reasons[0] for w in words), d.reasons


def test_a_slow_evaluation_fails_closed(tmp_path):
    xs = ", ".join(map(str, range(150)))  # about 150 ms: far past 1 ms, and far inside the generous limit
    m = manifest(tmp_path, f'xs := [{xs}]\ndecision := {{"decision": "allow", "reason": sprintf("%d", '
                           '[count([1 | some a in xs; some b in xs; a < b])])}\n')
    fast, slow = AgtAuthorizer(m, timeout_ms=60_000), AgtAuthorizer(m, timeout_ms=1)
    r = request(action={"name": "db_query"})
    assert fast.authorize(r).effect is Effect.ALLOW
    d = slow.authorize(r)
    assert d.effect is Effect.DENY and d.policy_ids == (agt.ERROR_ID,) and "over the limit of 1 ms" in d.reasons[0]


def test_a_request_the_engine_cannot_represent_is_invalid():
    import dataclasses

    base = request(action={"name": "db_query"})
    d = AgtAuthorizer(MANIFEST).authorize(dataclasses.replace(base, justification="ok \ud800"))
    assert d.effect is Effect.DENY and d.policy_ids == ("request.invalid",)


def test_the_manifest_and_policy_are_parsed_once_per_content(tmp_path):
    a, b = AgtAuthorizer(MANIFEST), AgtAuthorizer(MANIFEST)
    assert a.manifest is b.manifest and a._bundle is b._bundle and a._rego is b._rego
    m = manifest(tmp_path, 'decision := {"decision": "allow", "reason": "v1"}\n')
    first = AgtAuthorizer(m)
    (tmp_path / "p.rego").write_text('package t\nimport rego.v1\ndecision := {"decision": "deny", "reason": "v2"}\n')
    second = AgtAuthorizer(m)  # same manifest text, new policy text: compiled anew
    assert second.manifest is first.manifest and second._bundle is not first._bundle
    assert second.authorize(request(action={"name": "db_query"})).policy_ids == ("v2",)


def test_the_snapshot_is_agts_pre_tool_call_shape_and_deterministic():
    r = request(action={"name": "db_query"}, context={"tick": 90, "args": {"table": "payments"}})
    snap = agt.snapshot(r, "0-90-1")
    assert sorted(snap) == ["envelope", "tool_call"]
    assert snap["tool_call"] == {"name": "db_query", "args": {"table": "payments"}, "id": "0-90-1"}
    assert snap["envelope"]["timestamp"] == "2025-01-01T01:30:00+00:00"
    assert snap["envelope"]["intervention_point"] == "pre_tool_call"
    assert set(snap["envelope"]) >= {"agent", "session", "timestamp", "budgets"}
    assert agt.snapshot(r, "0-90-1") == snap and "action" not in agt.annotation(r)


BAD = {
    "extends": ("extends: [https://example.com/base.yaml]\n" + HEAD, "extends"),
    "approval": (HEAD + "approval: {timeout_seconds: 5}\n", "approval"),
    "an llm annotator": (HEAD.replace("  simenv: {type: endpoint}\n", "  simenv: {type: endpoint}\n  judge: {type: llm}\n"),
                         "annotators.judge"),
    "another intervention point": (HEAD.replace("tools:", "  output: {policy_target: \"$.x\", policy: {id: p}}\ntools:"),
                                   "intervention_points.output"),
    "a cedar policy": (HEAD.replace("{type: rego, bundle: p.rego, query: data.t.decision}",
                                    '{type: cedar, policy_set: "permit (principal, action, resource);"}'),
                       "policies.p.type"),
    "a bundle outside the folder": (HEAD.replace("bundle: p.rego", "bundle: ../p.rego"), "policies.p.bundle"),
    "a missing bundle": (HEAD.replace("bundle: p.rego", "bundle: q.rego"), "policies.p.bundle"),
    "a bundle URL": (HEAD.replace("bundle: p.rego", "bundle: p.rego, bundle_url: {url: 'https://x'}"),
                     "policies.p.bundle_url"),
    "a bad query": (HEAD.replace("query: data.t.decision", "query: 'x; y'"), "policies.p.query"),
    "an unknown binding": (HEAD.replace("policy: {id: p}", "policy: {id: q}"), "intervention_points.pre_tool_call.policy.id"),
    "an unknown field": (HEAD + "bogus: 1\n", "bogus"),
    "a list": ("- 1\n", "<root>"),
    "broken YAML": (HEAD + "tools: [\n", None),
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_validate_rejects_a_broken_manifest_with_file_and_field(tmp_path, what):
    text, field = BAD[what]
    m = manifest(tmp_path, 'decision := {"decision": "allow"}\n', text)
    r = simenv_cli("validate", str(m))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{m}: ") for line in lines), lines
    assert "Traceback" not in r.stderr
    if field is not None:
        assert any(line.startswith(f"{m}: {field}: ") for line in lines), lines


@pytest.mark.parametrize("rego,where", [
    ('x := opa.runtime()\ndecision := {"decision": "allow"}\n', "line 3, column 6: Rego: built-in opa.runtime is not allowed"),
    ('decision := {"decision": "allow"\n', "Rego:"),
])
def test_validate_rejects_a_bad_policy_through_the_profile(tmp_path, rego, where):
    manifest(tmp_path, rego)
    prof = tmp_path / "prof.yaml"
    prof.write_text("name: x\ncredentials: {mode: jit}\nauthorizer: {engine: agt, policy: m.yaml}\n")
    r = simenv_cli("validate", str(prof))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"{prof}: authorizer.policy: {tmp_path / 'p.rego'}: "), r.stderr
    assert where in r.stderr, r.stderr


@pytest.mark.parametrize("key", ["manifest", "policy"])
def test_validate_names_the_field_that_names_the_manifest(tmp_path, key):
    manifest(tmp_path, 'decision := {"decision": "allow"\n')
    prof = tmp_path / "prof.yaml"
    prof.write_text(f"name: x\ncredentials: {{mode: jit}}\nauthorizer: {{engine: agt, {key}: m.yaml}}\n")
    r = simenv_cli("validate", str(prof))
    assert r.returncode == 2 and r.stderr.startswith(f"{prof}: authorizer.{key}: {tmp_path / 'p.rego'}: "), r.stderr


@pytest.mark.parametrize("authorizer,says", [
    ("{engine: cedar, manifest: m.yaml}", "authorizer.manifest: only the agt engine reads a manifest"),
    ("{engine: agt, manifest: m.yaml, policy: m.yaml}", "authorizer.manifest: give the manifest or authorizer.policy"),
    ("{engine: agt, manifest: ../m.yaml}", "authorizer.manifest: "),
])
def test_a_misplaced_manifest_is_a_profile_error(tmp_path, authorizer, says):
    manifest(tmp_path, 'decision := {"decision": "allow"}\n')
    prof = tmp_path / "prof.yaml"
    prof.write_text(f"name: x\ncredentials: {{mode: jit}}\nauthorizer: {authorizer}\n")
    r = simenv_cli("validate", str(prof))
    assert r.returncode == 2 and "Traceback" not in r.stderr and f"{prof}: {says}" in r.stderr, r.stderr


def test_a_profile_without_a_manifest_is_an_error():
    with pytest.raises(SimenvError, match="needs a manifest"):
        AgtAuthorizer()
    with pytest.raises(SpecError, match="no such file"):
        AgtAuthorizer("nowhere/m.yaml")


def test_simenv_works_without_the_toolkit():
    code = ("import sys; sys.modules['agent_control_specification'] = None; sys.modules['agt'] = None\n"
            "import simenv, simenv.governance.profile\n"
            "print(simenv.run_episode('scope_creep', 'intent_cedar', seed=0).scores['task_success'] is not None)\n"
            "from simenv.governance.agt import AgtAuthorizer\n"
            f"try:\n    AgtAuthorizer({str(MANIFEST)!r})\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.splitlines()[0] == "True"
    assert r.stdout.splitlines()[1].startswith("SimenvError") and "pip install simenv[agt]" in r.stdout
    r = subprocess.run([sys.executable, "-c", "import sys, simenv, simenv.cli, simenv.governance.profile;"
                        "print(any(m.split('.')[0] in ('agt', 'agent_control_specification') for m in sys.modules))"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


PINNED = load()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_intent_agt_scores_as_intent_cedar_is_pinned_on_every_scenario(scenario):
    for agent in ("scripted", "llm_stub"):
        for seed in (0, 1):
            got = scores(scenario, "intent_agt", seed, agent)
            want = PINNED[f"{scenario}/intent_cedar/{seed}/{agent}"]
            diff = {k: (want.get(k), got.get(k)) for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)}
            assert not diff, f"{scenario}/{seed}/{agent}: (intent_cedar pinned, intent_agt) {diff}"


def test_one_runtime_per_manifest_serves_every_episode():
    """The toolkit's runtime is made once per manifest text (tests/test_determinism.py runs episodes on it in threads)."""
    from simenv import run_episode
    from simenv.governance import agt

    run_episode("scope_creep", "intent_agt", seed=0)
    made = dict(agt._runtimes)
    for seed in range(1, 9):
        run_episode("delegated_admin", "intent_agt", seed=seed)
    assert agt._runtimes == made
    assert agt._HOST.authz is None  # no evaluation left its authorizer behind


def test_validate_compiles_a_manifests_policy_in_a_child_first(monkeypatch):
    """An AGT manifest binds Rego, which rego-cpp compiles: validate does that in a child, as for a .rego file."""
    from simenv.governance import isolate, profile

    seen = []
    monkeypatch.setattr(isolate, "check_in_child", lambda loader, path, **kw: seen.append((path.name, kw["field"])))
    profile.validate_profile("intent_agt")
    assert seen == [("intent_agt.yaml", "authorizer.manifest")]
