"""The authorizer engines: native rules, Cedar, Rego and an AGT manifest decide the intent policy identically."""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from simenv.errors import SimenvError, SpecError
from simenv.governance.agt import AgtAuthorizer
from simenv.governance.cedar import CedarAuthorizer
from simenv.governance.cedar_schema import schema_text
from simenv.governance.fields import RequestDoc
from simenv.governance.native import NativeRules
from simenv.governance.rego import RegoAuthorizer
from simenv.governance.request import AccessRequest, PrincipalView, ResourceView
from simenv.governance.views import EstateView
from simenv.types import AUTHORIZER_EFFECTS, Effect
from simenv.world.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
POL = ROOT / "policies"
INTENT = {"native": POL / "rules" / "intent.yaml", "cedar": POL / "cedar" / "intent.cedar",
          "rego": POL / "rego" / "intent.rego", "agt": POL / "agt" / "intent.yaml"}
FACTORY = {"native": NativeRules, "cedar": CedarAuthorizer, "rego": RegoAuthorizer, "agt": AgtAuthorizer}
TOOLS = sorted(CATALOG)
SENSITIVITY_EDGES = (0.0, 1.0, 7.9999, 8.0, 8.0001, 10.0, 30.0)


def engines():
    return {k: FACTORY[k](INTENT[k]) for k in INTENT}


def request(**doc) -> AccessRequest:
    req, problems = RequestDoc.model_validate(doc, strict=True).build()
    assert not problems, problems
    return req


def sample_requests(n: int, seed: int) -> list[AccessRequest]:
    """Requests varying every field the intent rules read, edge values included."""
    rng = np.random.default_rng(seed)
    kinds = ("agent", "human", "service_account")
    out = []
    for i in range(n):
        spec = CATALOG[TOOLS[rng.integers(len(TOOLS))]]
        p = PrincipalView(f"p{i}", kinds[rng.integers(3)], None if rng.random() < 0.5 else "alice",
                          int(rng.integers(4)), bool(rng.random() < 0.2), f"spiffe://corp/agent/p{i}", "corp.example",
                          bool(rng.random() < 0.93))
        rep = p if rng.random() < 0.7 else PrincipalView(f"s{i}", "service_account", None, 0, True, "")
        which = rng.integers(4)
        target = (None, p, rep, PrincipalView(f"t{i}", "human", None, 0, False, ""))[which]
        sens = SENSITIVITY_EDGES[rng.integers(len(SENSITIVITY_EDGES))] if rng.random() < 0.5 \
            else round(float(rng.uniform(0, 20)), 4)
        res = ResourceView(f"r{i}", "table", str(spec.system), sens, None if rng.random() < 0.5 else "carol",
                           "corp.example" if rng.random() < 0.9 else "partner.example",
                           ("break_glass",) if rng.random() < 0.08 else ())
        kind = ("static", "session", "jit", None)[rng.integers(4)]
        depth = int(rng.integers(6))
        out.append(AccessRequest(
            principal=p, represents=rep, action=spec.name, risk=str(spec.risk), system=str(spec.system), resource=res,
            target_identity=target, ticket=None if rng.random() < 0.1 else f"T-{i}",
            declared_systems=("db",), declared_risks=("read",), in_declared_scope=bool(rng.random() < 0.6),
            approval=("none", "granted", "denied")[rng.integers(3)], credential_id=None if kind is None else f"c{i}",
            credential_kind=kind, credential_ttl=None if rng.random() < 0.3 else int(rng.integers(0, 120)),
            credential_covers=bool(rng.random() < 0.7), chain=(p.name, *(f"a{j}" for j in range(depth))),
            tick=int(rng.integers(100)), session=int(rng.integers(3)), args={"table": res.name},
            lifetime=(30, 60, 61, 1_000_000_000)[rng.integers(4)] if spec.name == "vault_create_access_key" else None,
            justification=None if rng.random() < 0.3 else f"ticket T-{i}",
        ))
    return out


def test_engines_agree_on_10000_sampled_requests():
    reqs = sample_requests(10_000, seed=20240611)
    e = engines()
    native = [e["native"].authorize(r) for r in reqs]
    cedar = e["cedar"].authorize_batch(reqs)
    rego = [e["rego"].authorize(r) for r in reqs]
    agt = [e["agt"].authorize(r) for r in reqs]  # the AGT manifest, each request a pre_tool_call intervention
    mismatches = [(r.to_input(), n, c, g, a) for r, n, c, g, a in zip(reqs, native, cedar, rego, agt, strict=True)
                  if not (n.effect == c.effect == g.effect == a.effect
                          and set(n.policy_ids) == set(c.policy_ids) == set(g.policy_ids) == set(a.policy_ids))]
    assert not mismatches, mismatches[:3]
    # the sample exercises every outcome and every rule
    effects = Counter(d.effect for d in native)
    assert all(effects[x] > 100 for x in AUTHORIZER_EFFECTS), effects
    ids = Counter(i for d in native for i in d.policy_ids)
    assert all(ids[x] > 50 for x in e["native"].rule_ids + ("default",)), ids


def test_cedar_single_calls_agree_with_its_batch():
    reqs = sample_requests(300, seed=3)
    a, b = CedarAuthorizer(INTENT["cedar"]), CedarAuthorizer(INTENT["cedar"])
    assert [a.authorize(r) for r in reqs] == b.authorize_batch(reqs)


OVERFLOW = ('@id("ok")\npermit (principal, action, resource);\n@id("intent.overflow") @reason("too big")\n'
            'forbid (principal, action, resource) when { context.tick * 9223372036854775807 > 1 };\n')


@pytest.mark.parametrize("text", [None, OVERFLOW], ids=["intent", "evaluation errors"])
def test_cedar_calls_through_the_extension_decide_as_the_public_call(text):
    """authorize() calls cedarpy's extension itself and remembers answers by their text: the same decisions,
    evaluation errors included, as ``cedarpy.is_authorized`` gives, twice over (the second time from memory)."""
    def make():
        return CedarAuthorizer(INTENT["cedar"]) if text is None else CedarAuthorizer.from_text(text)

    reqs = sample_requests(400, seed=11)
    fast, public = make(), make()
    public._batch = None  # the public call, parsed every time
    want = [public.authorize(r) for r in reqs]
    assert [fast.authorize(r) for r in reqs] == want
    assert [fast.authorize(r) for r in reqs] == want
    assert 0 < len(fast._answers) <= len({(d.effect, d.policy_ids) for d in want}) * 6  # reasons' orders differ
    if text is not None:
        errors = [any(x.startswith("cedar evaluation error") for x in d.reasons) for d in want]
        assert all(r.tick > 0 for r, e in zip(reqs, errors, strict=True) if e) and sum(errors) > len(reqs) // 2


def test_cedar_remembers_only_answers_of_the_shape_it_reads_and_a_bounded_number(monkeypatch):
    import simenv.governance.cedar as cedar

    authz = CedarAuthorizer(INTENT["cedar"])
    r = request(action={"name": "db_query"})
    allow = authz.authorize(r)
    (text,) = authz._batch([{"principal": {"type": "Simenv::Identity", "id": "x"}, "action": {"type": "Simenv::Action",
                            "id": "db_query"}, "resource": {"type": "Simenv::Resource", "id": "y"}, "context": "{}"}],
                           authz.policies.policy_set, authz.entities._inner, None, False)
    assert text.startswith('{"decision":"Deny"') and ',"metrics":{' in text
    authz._answers.clear()
    metrics_first = '{"metrics":{"authz_duration_micros":1},' + text[1:text.rfind(',"metrics":')] + "}"
    assert authz._answer(metrics_first).policy_ids == ("default",) and not authz._answers  # read, not remembered
    monkeypatch.setattr(cedar, "ANSWERS", 2)
    authz.authorize(r)
    authz.authorize(request(action={"name": "vault_read_secret"}, context={"in_declared_scope": False}))
    assert len(authz._answers) == 2
    assert authz.authorize(request(action={"name": "db_query"}, context={"credential": {"covers": False}})).policy_ids \
        == ("default",)
    assert len(authz._answers) == 1 and authz.authorize(r) == allow


@pytest.mark.parametrize("engine", list(INTENT))
def test_allow_deny_and_approval_then_allow(engine):
    authz = FACTORY[engine](INTENT[engine])
    d = authz.authorize(request(action={"name": "db_query"}))
    assert d.effect is Effect.ALLOW and d.policy_ids == ("intent.allow_in_scope",) and d.reasons
    d = authz.authorize(request(action={"name": "vault_read_secret"}, context={"in_declared_scope": False}))
    assert d.effect is Effect.DENY and d.policy_ids == ("intent.out_of_scope",)
    assert d.reasons == ("outside the ticket's declared scope",)
    grant, bob, why = {"name": "db_grant_access"}, {"name": "bob", "kind": "human"}, "ticket T-1"
    d = authz.authorize(request(action=grant, target_identity=bob, context={"justification": why}))
    assert d.effect is Effect.REQUIRE_APPROVAL and d.policy_ids == ("intent.approval_high_risk",)
    d = authz.authorize(request(action=grant, target_identity=bob, context={"approval": "granted", "justification": why}))
    assert d.effect is Effect.ALLOW
    d = authz.authorize(request(action=grant, target_identity=bob, context={"approval": "granted"}))
    assert d.effect is Effect.DENY and d.policy_ids == ("intent.unjustified_high_risk",)
    d = authz.authorize(request(action={"name": "db_query"}, context={"credential": {"covers": False}}))
    assert d.effect is Effect.DENY and d.policy_ids == ("default",)


def test_cedar_decides_an_entity_whose_attributes_changed_on_its_own_store():
    authz = CedarAuthorizer(INTENT["cedar"])
    static = {"credential": {"kind": "static"}}
    low = request(action={"name": "db_query"}, resource={"name": "payments", "sensitivity": 2.0}, context=static)
    high = request(action={"name": "db_query"}, resource={"name": "payments", "sensitivity": 9.0}, context=static)
    assert authz.authorize(low).effect is Effect.ALLOW
    assert authz.authorize(high).policy_ids == ("intent.stale_credential",)
    assert authz.authorize(low).effect is Effect.ALLOW


def test_cedar_keeps_policies_and_entities_resident():
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    authz = CedarAuthorizer(INTENT["cedar"])
    ps = authz.policies.policy_set
    assert CedarAuthorizer(INTENT["cedar"]).policies.policy_set is ps  # parsed once per process
    spec, path = load_scenario("scope_creep")
    built = build(spec, seed=0, path=path)
    authz.prepare(EstateView(built.world), built.tickets)
    store = authz.entities
    assert len(store) >= len(built.world.identities) + len(built.world.resources)
    me = built.world.identities[0]
    authz.authorize(request(action={"name": "db_query"}, principal={"name": me.name, "kind": str(me.kind)},
                            resource={"name": built.world.resources[0].name}))
    assert authz.policies.policy_set is ps


def test_native_rules_validate_operands_and_paths():
    with pytest.raises(SpecError) as e:
        NativeRules.from_data({"rules": [
            {"id": "a", "effect": "deny", "when": {"context.chain_depth": {"gt": "2"}}},
            {"id": "a", "effect": "deny", "when": {"context.nope": 1}},
            {"id": "b", "effect": "allow", "when": {"principal.kind": {"between": [1, 2]}}},
            {"id": "default", "effect": "allow"}]}, "r.yaml")
    fields = [f for f, _ in e.value.problems]
    assert fields == ["rules[0].when.context.chain_depth", "rules[1].id", "rules[1].when.context.nope",
                      "rules[2].when.principal.kind", "rules[3].id"]


def test_native_matchers():
    rules = NativeRules.from_data({"default": "allow", "rules": [
        {"id": "ttl", "effect": "deny", "when": {"context.credential.ttl": {"lt": 5}}},
        {"id": "tgt", "effect": "deny", "when": {"target_identity.kind": {"exists": True, "not_in": ["human"]}}},
        {"id": "db", "effect": "require_approval", "when": {"context.declared_systems": {"contains": "db"},
                                                            "context.args.table": "payments"}}]})
    q = {"name": "db_query"}
    assert rules.authorize(request(action=q)).policy_ids == ("default",)
    assert rules.authorize(request(action=q, context={"credential": {"ttl": 4}})).policy_ids == ("ttl",)
    assert rules.authorize(request(action=q, context={"credential": {"ttl": None}})).effect is Effect.ALLOW
    grant = {"name": "db_grant_access"}
    assert rules.authorize(request(action=grant, target_identity={"kind": "agent"})).policy_ids == ("tgt",)
    assert rules.authorize(request(action=grant, target_identity={"kind": "human"})).effect is Effect.ALLOW
    d = rules.authorize(request(action=q, context={"declared_systems": ["db"], "args": {"table": "payments"}}))
    assert d.effect is Effect.REQUIRE_APPROVAL


def test_rego_undefined_or_malformed_decision_denies():
    authz = RegoAuthorizer.from_text(
        'package simenv\nimport rego.v1\ndecision := {"effect": "maybe"} if input.context.tick > 5\n')
    assert authz.authorize(request(action={"name": "db_query"})).policy_ids == ("rego.undefined",)
    assert authz.authorize(request(action={"name": "db_query"}, context={"tick": 9})).policy_ids == ("rego.malformed",)


def test_cedar_policy_problems_name_the_policy():
    with pytest.raises(SpecError) as e:
        CedarAuthorizer.from_text('permit (principal, action, resource);\n@id("x") @approval("maybe")\n'
                                  'forbid (principal, action, resource) when { context.approval == 1 };', "p.cedar")
    text = e.value.render()
    assert "has no @id" in text and '@approval must be "lift"' in text and "policy x" in text


def _cedar_problems(text):
    with pytest.raises(SpecError) as e:
        CedarAuthorizer.from_text(text, "p.cedar")
    lines = e.value.render().splitlines()
    assert not any(re.search(r"\bpolicy\d+\b", line) for line in lines), lines  # never cedarpy's positional ids
    return lines


def test_cedar_validation_errors_name_the_policy_by_its_id():
    lines = _cedar_problems((POL / "cedar" / "intent_bad.cedar").read_text())
    assert lines == [
        "p.cedar: policy intent.chain_depth: does not match the request model: attribute `chain_length` in context "
        "not found",
        "p.cedar: policy intent.stale_credential: does not match the request model: unexpected type: expected Long but "
        "saw decimal"]


def test_cedar_problems_of_policies_without_a_usable_id_name_the_position_and_line():
    lines = _cedar_problems('// header; not a policy\n'
                            'permit (principal, action, resource);\n'
                            '\n'
                            '@id("dup") @reason("a; b")\n'
                            'permit (principal, action, resource) when { context.zz == "x;y" };\n'
                            '@id("dup")\n'
                            'forbid (principal, action, resource);\n'
                            'permit (principal == ?principal, action, resource);\n')
    assert lines == [
        "p.cedar: the 4th policy (line 8): is a template (a ?principal / ?resource slot), which is not supported",
        "p.cedar: policy dup (the 2nd policy, line 4): does not match the request model: attribute `zz` in context "
        "not found",
        'p.cedar: the 1st policy (line 2): has no @id("...") annotation; add one (decisions report it)',
        "p.cedar: policy dup (the 3rd policy, line 6): duplicate @id: it repeats the @id of the 2nd policy (line 4); "
        "give each policy its own"]


def test_cedar_parse_errors_name_the_statement_that_does_not_parse():
    ok = '@id("a")\npermit (principal, action, resource);\n'
    assert _cedar_problems(ok + '@id("b")\nforbid (principal, action, resource) when { ( };\n') == [
        "p.cedar: policy b (line 3): Cedar parse error: unexpected token `}`"]
    assert _cedar_problems(ok + "\n\npermit (principal, action, resource) when { x };\n") == [
        "p.cedar: the 2nd policy (line 5): Cedar parse error: invalid variable: x"]
    assert _cedar_problems(ok + '@id("c")\npermit (principal, action, resource)\n') == [
        "p.cedar: policy c (line 3): Cedar parse error: unexpected end of input"]


def test_cedar_statements_follow_cedarpys_numbering():
    from simenv.governance.cedar import statements

    text = ('// a; comment\n@id("a;") permit (principal, action, resource) when { "\\";" == "" };\n'
            '  forbid (principal, action, resource);  // trailing; comment\n\n@id("c")\npermit (principal, action,'
            ' resource)')
    assert [line for line, _ in statements(text)] == [2, 3, 5]
    assert statements(text)[1][1].strip() == "forbid (principal, action, resource);"


def test_cedar_evaluation_errors_name_the_policy_by_its_id():
    authz = CedarAuthorizer.from_text('@id("ok")\npermit (principal, action, resource);\n'
                                      '@id("intent.overflow") @reason("too big")\n'
                                      'forbid (principal, action, resource) when { context.tick * 9223372036854775807 > 1 };\n')
    d = authz.authorize(request(action={"name": "db_query"}, context={"tick": 5}))
    assert d.effect is Effect.ALLOW and d.policy_ids == ("ok",)
    (err,) = [r for r in d.reasons if r.startswith("cedar evaluation error")]
    assert err.startswith("cedar evaluation error: error while evaluating policy `intent.overflow`: integer overflow")


def test_published_cedar_schema_matches_the_catalog():
    assert (POL / "cedar" / "simenv.cedarschema").read_text() == schema_text()


def test_importing_simenv_does_not_import_the_engines():
    code = ("import sys, simenv, simenv.governance.profile, simenv.cli, simenv.governance.cases;"
            "print('cedarpy' in sys.modules, 'regopy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("engine,module", [("cedar", "cedarpy"), ("rego", "regopy")])
def test_missing_engine_library_is_a_clear_error(engine, module):
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            f"from simenv.governance.{engine} import {FACTORY[engine].__name__} as F\n"
            f"try:\n    F({str(INTENT[engine])!r})\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.startswith("SimenvError") and "pip install simenv[all]" in r.stdout
    assert issubclass(SpecError, SimenvError)


# --------------------------------------------------------------------------- boundary values and values no engine may split on
LONG_MAX = 2**63 - 1
EDGE_SENSITIVITIES = (0.0, 0.0001, 7.9999, 8.0, 8.0001, 999_999_999.9999, 1e9)


def edge_requests() -> list[AccessRequest]:
    """Every combination of the values at the edges of what the intent rules compare, and of what Cedar and Rego hold."""
    out = []
    for sens in EDGE_SENSITIVITIES:
        for kind in ("static", "jit"):
            for ttl in (None, 0, 1, LONG_MAX):
                for tick in (0, LONG_MAX):
                    out.append(request(action={"name": "db_query"}, resource={"sensitivity": sens},
                                       context={"credential": {"kind": kind, "ttl": ttl}, "tick": tick, "session": tick}))
    for lifetime in (1, 60, 61, 999_999_999, 1_000_000_000, LONG_MAX):
        for depth in (0, 2, 3):
            out.append(request(action={"name": "vault_create_access_key"}, principal={"trust_tier": 3},
                               context={"lifetime": lifetime, "chain_depth": depth, "justification": "ticket T-1",
                                        "approval": "granted"}))
    text = ("é", "日本語", "\U0001f600", "a" * 10_000, "")  # valid Unicode of every width, long, empty
    out += [request(action={"name": "db_query"}, context={"justification": t, "args": {"table": t}}) for t in text]
    return out


def test_engines_agree_on_boundary_values():
    reqs = edge_requests()
    e = engines()
    native = [e["native"].authorize(r) for r in reqs]
    for name in ("cedar", "rego", "agt"):
        got = e[name].authorize_batch(reqs) if name == "cedar" else [e[name].authorize(r) for r in reqs]
        bad = [(r.to_input(), n, g) for r, n, g in zip(reqs, native, got, strict=True)
               if (n.effect, set(n.policy_ids)) != (g.effect, set(g.policy_ids))]
        assert not bad, (name, bad[:2])
    by_sens = {r.resource.sensitivity: d.policy_ids for r, d in zip(reqs, native, strict=True)
               if r.credential_kind == "static" and r.action == "db_query" and r.tick == 0}
    assert by_sens[7.9999] == ("intent.allow_in_scope",) and by_sens[8.0] == ("intent.stale_credential",)
    long_lived = {d.policy_ids for r, d in zip(reqs, native, strict=True) if r.lifetime == LONG_MAX and r.chain_depth == 0}
    assert long_lived == {("intent.long_lived_key",)}


def _unrepresentable() -> dict[str, AccessRequest]:
    import dataclasses

    base = request(action={"name": "db_query"})
    res = base.resource
    return {
        "a lone surrogate in the justification": dataclasses.replace(base, justification="ok \ud800"),
        "a lone surrogate in an argument": dataclasses.replace(base, args={"table": "\udfff"}),
        "a lone surrogate in a name": dataclasses.replace(base, resource=dataclasses.replace(res, name="r\ud800")),
        "a NUL in an argument": dataclasses.replace(base, args={"table": "pay\x00ments"}),
        "a lifetime of 2**63": dataclasses.replace(base, lifetime=2**63),
        "a tick below -2**63": dataclasses.replace(base, tick=-(2**63) - 1),
        "a TTL of 2**64": dataclasses.replace(base, credential_ttl=2**64),
        "a sensitivity Cedar rounds": dataclasses.replace(base, resource=dataclasses.replace(res, sensitivity=7.99996)),
        "a sensitivity past Cedar's decimal": dataclasses.replace(base, resource=dataclasses.replace(res, sensitivity=9.3e14)),
        "an infinite sensitivity": dataclasses.replace(base, resource=dataclasses.replace(res, sensitivity=float("inf"))),
        "a NaN sensitivity": dataclasses.replace(base, resource=dataclasses.replace(res, sensitivity=float("nan"))),
    }


@pytest.mark.parametrize("what", sorted(_unrepresentable()))
def test_cedar_and_rego_refuse_a_request_they_cannot_represent_the_same_way_and_never_raise(what):
    r = _unrepresentable()[what]
    e = engines()
    cedar, rego = e["cedar"].authorize(r), e["rego"].authorize(r)
    assert cedar == rego, (cedar, rego)
    assert cedar.effect is Effect.DENY and cedar.policy_ids == ("request.invalid",)
    assert len(cedar.reasons) == 1 and "cannot represent this request" in cedar.reasons[0]
    field = cedar.reasons[0].split(": ")[1]
    assert field in {"context.justification", "context.args.table", "resource.name", "context.lifetime", "context.tick",
                     "context.credential.ttl", "resource.sensitivity"}, cedar.reasons
    assert e["cedar"].authorize_batch([r, request(action={"name": "db_query"})])[0] == cedar
    e["native"].authorize(r)  # decides without raising (the loaders and the mediator refuse such values before it)


def test_rego_survives_what_the_engine_cannot_return():
    authz = RegoAuthorizer.from_text(
        'package simenv\nimport rego.v1\n'
        'decision := {"effect": "allow", "policy_ids": [base64.decode(input.context.args.x)], "reasons": []}\n')
    d = authz.authorize(request(action={"name": "db_query"}, context={"args": {"x": "/w=="}}))  # the byte 0xff
    assert d.effect is Effect.DENY and d.policy_ids == ("rego.error",)
    seventy = ", ".join(map(str, range(70)))
    reasons = f"[k | some _ in [{seventy}]]"  # 70 kB of reasons
    big = RegoAuthorizer.from_text('package simenv\nimport rego.v1\nk := sprintf("%1000d", [1])\n'
                                   f'decision := {{"effect": "allow", "policy_ids": ["p"], "reasons": {reasons}}}\n')
    d = big.authorize(request(action={"name": "db_query"}))
    assert d.policy_ids == ("rego.malformed",) and "the limit is 65,536" in d.reasons[0]


def test_a_sensitivity_from_the_estate_reaches_every_engine_canonical():
    import dataclasses

    from simenv.governance.views import RequestBuilder
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    spec, path = load_scenario("scope_creep")
    world = build(spec, seed=0, path=path).world
    res = world.resources[0]
    world.resources = (dataclasses.replace(res, sensitivity=7.99996), *world.resources[1:])
    view = RequestBuilder(EstateView(world)).resource(world.resources[0])
    assert view.sensitivity == 8.0  # what Cedar's 4-place decimal holds, so native and Rego compare it too
    authz = CedarAuthorizer(INTENT["cedar"])
    authz.prepare(EstateView(world), [])
    assert authz._known[(True, res.name)] == view  # the resident store holds the same canonical view


def test_cedar_large_estate_store_is_lazy_and_decides_as_the_whole_estate(monkeypatch, tmp_path):
    """Beyond EAGER_ENTITIES the store starts with what the policies name; every episode decides the same."""
    from simenv.governance import cedar
    from simenv.sim.factory import make_episode

    named = tmp_path / "named.cedar"
    named.write_text(INTENT["cedar"].read_text() + '\n@id("no_payments_while_bob_enabled")\n'
                     'forbid (principal, action, resource == Simenv::Resource::"payments")\n'
                     'when { Simenv::Identity::"bob".enabled };\n')
    prof = tmp_path / "named.yaml"
    prof.write_text("name: named\ncredentials: {mode: standing_broad}\nauthorizer: {engine: cedar, policy: named.cedar}\n")
    assert cedar.load_policies(named).named == frozenset({(True, "payments"), (False, "bob")})

    def episode(policy, eager):
        monkeypatch.setattr(cedar, "EAGER_ENTITIES", 10**9 if eager else 0)
        engine, _ = make_episode(scenario, policy, seed, size=60)
        if not eager:
            assert len(engine.gov.authorizer.entities) < 40, "the lazy store holds only the named entities and actions"
        engine.run()
        return engine.audit.fingerprint()

    got = {}
    for scenario in ("scope_creep", "delegated_admin", "key_export", "prompt_injection_hijack"):
        for seed in (0, 1):
            for policy in ("intent_cedar", str(prof)):
                got[scenario, seed, policy] = episode(policy, True)
                assert got[scenario, seed, policy] == episode(policy, False), (scenario, seed, policy)
    assert got["scope_creep", 0, "intent_cedar"] != got["scope_creep", 0, str(prof)]  # the named entities decide


ODD_INPUTS = [{}, [], {"a": []}, {"s": frozenset({"x", "y"})}, {"n": None, "t": True, "f": False, "i": -3, "x": 2.5},
              {"nested": {"deep": [[1, [2, {"k": "v"}]], ()]}}, {"unicode": "café ☃ 𝄞", "nul": "a\x00b", "empty": ""},
              {"big": 2**62, "neg": -(2**62), "tiny": 1e-300, "huge": 2**70}, ["top", "level", 1]]


def test_the_rego_input_is_regopys_value_for_value():
    import regopy

    from simenv.governance.rego import Input, _regopy

    _, c = _regopy()
    interp = regopy.Interpreter()
    values = [r.to_input() for r in sample_requests(300, seed=11)] + ODD_INPUTS

    def seen(given) -> str:
        c.rego_set_input(interp._impl, given._impl)
        return str(interp.query("x := input"))

    for v in values:
        assert seen(Input(c, v)) == seen(regopy.Input(v)), v
    for bad in ({"surrogate": "\ud800"}, {"obj": object()}):  # the same exception as regopy's
        with pytest.raises(Exception) as ours:
            Input(c, bad)
        with pytest.raises(Exception) as theirs:
            regopy.Input(bad)
        assert type(ours.value) is type(theirs.value), bad
