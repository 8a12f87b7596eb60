"""The estate: generator, grants, credentials, reachability, apply/rollback."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simenv.errors import SimenvError
from simenv.scenario.builder import build
from simenv.scenario.loader import load_scenario
from simenv.types import CredentialKind, IdentityKind, RiskClass, System
from simenv.world.catalog import CATALOG, resolve
from simenv.world.changes import AttrChange, CredChange, GrantChange
from simenv.world.generator import generate
from simenv.world.model import Credential, Permission
from simenv.world.reach import potential_blast_radius
from simenv.world.tools import CallContext


def world_of(name="scope_creep", seed=0, size=None):
    spec, path = load_scenario(name)
    return build(spec, seed, path, size=size)


def test_generator_is_seeded_and_sized():
    a = generate(1000, np.random.default_rng(1), 0, 0)
    b = generate(1000, np.random.default_rng(1), 0, 0)
    c = generate(1000, np.random.default_rng(2), 0, 0)
    assert len(a.identities) == 1000
    assert [r.sensitivity for r in a.resources] == [r.sensitivity for r in b.resources]
    assert a.grants == b.grants
    assert a.grants != c.grants
    humans = sum(i.kind is IdentityKind.HUMAN for i in a.identities)
    # NHI:human between 45:1 and 80:1
    assert 45 <= (1000 - humans) / humans <= 80
    assert any(r.yields is not None for r in a.resources), "keys must create escalation edges"


def _grants_one_by_one(grants_of, pick_sys, pick_role, roles, id_offset):
    out, g = [], 0
    for k, n in enumerate(grants_of.tolist()):
        for _ in range(n):
            rs, u = roles[int(pick_sys[g])], float(pick_role[g])
            out.append((id_offset + k, rs[0] if u < 0.01 or len(rs) == 1 else rs[1 + int(u * (len(rs) - 1)) % (len(rs) - 1)]))
            g += 1
    return sorted(set(out))


def _fast_classes():
    import dataclasses
    import importlib
    import pkgutil

    import simenv

    found = {}
    for m in pkgutil.walk_packages(simenv.__path__, "simenv."):
        if m.name == "simenv.__main__":
            continue
        for obj in vars(importlib.import_module(m.name)).values():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and hasattr(obj.__init__, "dataclass_init"):
                found[obj.__qualname__] = obj
    return [found[k] for k in sorted(found)]


def test_fast_init_makes_the_objects_the_dataclasses_init_makes():
    import dataclasses
    import inspect

    classes = _fast_classes()
    assert {"AccessRequest", "Coverage", "Identity", "MonitorEvent", "Observation", "Resource"} <= {
        c.__qualname__ for c in classes}
    for cls in classes:
        fs = dataclasses.fields(cls)
        required = [f for f in fs if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        args = [object() for _ in required]  # a distinct value per field: a slot set from the wrong one shows
        want = object.__new__(cls)
        cls.__init__.dataclass_init(want, *args)
        for made in (cls(*args), cls(**{f.name: a for f, a in zip(required, args, strict=True)})):
            for f in fs:  # every slot set, to the same value (a fresh one from each factory)
                got, exp = getattr(made, f.name), getattr(want, f.name)
                assert got is exp or f.default_factory is not dataclasses.MISSING and got == exp and got is not exp, \
                    (cls, f.name)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(made, fs[0].name, None)
        ours, theirs = inspect.signature(cls.__init__), inspect.signature(cls.__init__.dataclass_init)
        assert [(p.name, p.kind, p.default if p.default is p.empty else repr(p.default)) for p in ours.parameters.values()] \
            == [(p.name, p.kind, p.default if p.default is p.empty else repr(p.default)) for p in theirs.parameters.values()]
        every = [object() for _ in fs]  # and each field given: a default or a factory never wins over what is passed
        want = object.__new__(cls)
        cls.__init__.dataclass_init(want, *every)
        made = cls(*every)
        assert all(getattr(made, f.name) is getattr(want, f.name) is v for f, v in zip(fs, every, strict=True)), cls
        if required:
            with pytest.raises(TypeError):
                cls()  # the same required arguments


def test_fast_init_refuses_a_class_it_would_not_build_the_same_way():
    import dataclasses

    from simenv.frozen import fast_init

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, KeywordOnly, PostInit):
        with pytest.raises(TypeError, match="fast_init takes"):
            fast_init(cls)


@pytest.mark.parametrize("seed", range(6))
def test_the_generators_grants_are_the_ones_drawn_grant_by_grant(seed):
    from simenv.world.generator import _grants

    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 3000))
    grants_of = rng.integers(1, 4, size=size)
    pick_sys = rng.integers(0, 5, size=int(grants_of.sum()))
    pick_role = rng.random(size=int(grants_of.sum()))
    pick_role[: size // 7] = rng.choice([0.0, 0.009999, 0.01, 0.5, 0.999999], size=size // 7)  # the edges of the rule
    roles = [list(range(s * 1000 + 3, s * 1000 + 3 + n)) for s, n in enumerate(rng.integers(1, 40, size=5).tolist())]
    roles[int(rng.integers(0, 5))] = [7]  # a system with its admin role only
    offset = int(rng.integers(0, 50))
    assert _grants(grants_of, pick_sys, pick_role, roles, offset) == \
        _grants_one_by_one(grants_of, pick_sys, pick_role, roles, offset)


def with_estate_seed(value, name="scope_creep"):
    spec, path = load_scenario(name)
    return spec.model_copy(update={"estate": spec.estate.model_copy(update={"seed": value})}), path


def test_estate_size_knob_and_fingerprint_depends_on_the_estate_seed():
    small = world_of(size=10).world
    big = world_of(size=5000).world
    assert len(big.identities) - len(small.identities) == 4990
    assert world_of(seed=1).world.fingerprint() == world_of(seed=1).world.fingerprint()
    # by default every episode runs in the estate of estate.seed (0): the episode seed does not change it
    assert world_of(seed=1).world.fingerprint() == world_of(seed=2).world.fingerprint()
    spec, path = with_estate_seed(7)
    assert build(spec, 1, path).world.fingerprint() != world_of(seed=1).world.fingerprint()
    assert build(spec, 1, path).world.fingerprint() == build(spec, 2, path).world.fingerprint()
    spec, path = with_estate_seed("episode")  # each episode seed draws its own estate
    assert build(spec, 1, path).world.fingerprint() != build(spec, 2, path).world.fingerprint()
    assert build(spec, 0, path).world.fingerprint() == world_of(seed=0).world.fingerprint()


def test_a_fresh_world_shares_nothing_it_can_change_with_its_template():
    a, b = world_of().world, world_of().world
    assert a is not b and a.identities is b.identities  # the static estate is shared
    i, r = a.ident_index["provisioner"], a.res_index["payments"]
    before = b.fingerprint()
    inv = a.apply(GrantChange(i, r, True))
    a.apply(AttrChange(r, "mode", None, "x"))
    assert a.has_grant(i, r) and not b.has_grant(i, r) and b.fingerprint() == before
    assert world_of().world.fingerprint() == before  # the template is untouched
    a.apply(inv)
    assert not a.has_grant(i, r)


def test_agent_identity_has_owner_and_spiffe_id():
    w = world_of().world
    agent = w.identity("provisioner")
    assert agent.kind is IdentityKind.AGENT
    assert w.identities[agent.owner].name == "alice"
    assert agent.spiffe_id == "spiffe://corp.example/agent/provisioner"


def _cred(w, holder, scope=None, superuser=False):
    return Credential("c", CredentialKind.JIT, holder, holder, scope, 0, 10, superuser=superuser)


def test_covers_respects_scope_identity_and_expiry():
    w = world_of().world
    agent = w.ident_index["provisioner"]
    payments = w.resource("payments")
    broad = _cred(w, agent)
    assert w.covers(broad, RiskClass.READ, payments, 0)
    assert not w.covers(broad, RiskClass.PRIVILEGE_GRANT, payments, 0)  # ops-automation: db read only
    narrow = _cred(w, agent, scope=(Permission(System.IDP, frozenset({RiskClass.READ})),))
    assert not w.covers(narrow, RiskClass.READ, payments, 0)
    assert not w.covers(broad, RiskClass.READ, payments, 10), "expired at tick 10"
    assert not w.covers(broad.revoke(), RiskClass.READ, payments, 0)


def test_reach_follows_escalation_edges():
    w = world_of().world
    agent = w.ident_index["provisioner"]
    # a credential for db read only reaches the db system, nothing more
    db_read = _cred(w, agent, scope=(Permission(System.DB, frozenset({RiskClass.READ})),))
    cov, weight = potential_blast_radius(w, db_read)
    assert cov.systems == {System.DB} and weight == pytest.approx(w.system_weight[System.DB])
    # privilege_grant on idp roles lets it assign global-admin: everything is reachable
    full = _cred(w, agent)
    assert potential_blast_radius(w, full)[1] == pytest.approx(w.total_weight)
    # reading the vault reaches svc-db-root's db-superuser through the secret's escalation edge
    vault_read = _cred(w, agent, scope=(Permission(System.VAULT, frozenset({RiskClass.READ})),))
    cov, _ = potential_blast_radius(w, vault_read)
    assert System.DB in cov.systems


def _random_call(w, data, agent_name):
    tool = data.draw(st.sampled_from(sorted(CATALOG)))
    spec = CATALOG[tool]
    args = {}
    for p in spec.params:
        if p.kind == "identity":
            args[p.name] = data.draw(st.sampled_from([i.name for i in w.identities[:8]]))
        elif p.kind == "text":
            args[p.name] = data.draw(st.sampled_from(list(p.enum) or ["x", "y"]))
        else:
            args[p.name] = data.draw(st.sampled_from([r.name for r in w.resources[:20]]))
    return tool, args


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_apply_then_rollback_restores_the_fingerprint(data):
    w = world_of(seed=data.draw(st.integers(0, 3)), size=50).world
    before = w.fingerprint()
    inverses = [inv for done in _random_calls(w, data) for inv in done]
    w.apply_all(reversed(inverses))
    assert w.fingerprint() == before


def _random_calls(w, data, name="provisioner"):
    """Apply 1-12 random catalog calls of ``name`` to ``w``, yielding the inverses of each call's changes."""
    agent = w.ident_index[name]
    for _ in range(data.draw(st.integers(1, 12))):
        tool, args = _random_call(w, data, name)
        try:
            rc = resolve(w, tool, args, name)
        except Exception:
            continue
        yield w.apply_all(rc.spec.effect(CallContext(w, agent, 0), **rc.args).changes)


def walked_fingerprint(w):
    """World.fingerprint as the whole document walked by _canon (what it computed before it took its parts plain)."""
    from simenv.world.state import _canon, digest

    return digest({"base": w._base_digest, "added": sorted(w._added), "removed": sorted(w._removed),
                   "attrs": sorted(([r, k], _canon(v)) for (r, k), v in w.attrs.items()),
                   "creds": [_canon(w.creds[c]) for c in sorted(w.creds)],
                   "status": {k: sorted(v) for k, v in sorted(w.status.items())}})


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_the_fingerprint_is_the_walked_documents_whatever_the_calls_changed(data):
    w = world_of(seed=data.draw(st.integers(0, 3)), size=50).world
    agent = w.ident_index["provisioner"]
    scope = (Permission(System.DB, frozenset({RiskClass.READ, RiskClass.WRITE}), ids=frozenset({3, 10, 2})),
             Permission(System.IDP, frozenset({RiskClass.PRIVILEGE_GRANT})))
    cid = w.new_cred_id()
    w.apply(CredChange(cid, None, dataclasses.replace(_cred(w, agent, scope=scope), id=cid)))
    w.apply(AttrChange(w.res_index["payments"], "tags", None, {"b": frozenset({"x", "a!", "a"}), "a": [3, 10, 9]}))
    assert w.fingerprint() == walked_fingerprint(w)
    for _ in _random_calls(w, data):
        assert w.fingerprint() == walked_fingerprint(w)


def test_every_change_has_an_exact_inverse():
    w = world_of(size=20).world
    a, g = w.ident_index["bob"], w.res_index["payments"]
    before = w.fingerprint()
    inv = w.apply(GrantChange(a, g, True))
    assert w.fingerprint() != before and inv == GrantChange(a, g, False)
    w.apply(inv)
    assert w.fingerprint() == before
    inv = w.apply(AttrChange(g, "state", None, "x"))
    w.apply(inv)
    cred = _cred(w, a)
    w.apply(w.apply(CredChange("c", None, cred)))
    assert w.fingerprint() == before
    with pytest.raises(SimenvError):
        w.apply(GrantChange(a, g, False))  # not held


def test_tool_schemas_are_openai_function_specs():
    from simenv.world.catalog import tool_schemas
    from simenv.world.inputs import MAX_TEXT_CHARS

    schemas = tool_schemas()
    assert len(schemas) == len(CATALOG)
    for s in schemas:
        f = s["function"]
        assert s["type"] == "function" and f["name"] in CATALOG
        assert f["parameters"]["type"] == "object"
        params = {p.name for p in CATALOG[f["name"]].params}
        assert set(f["parameters"]["required"]) == params  # the justification is optional
        assert set(f["parameters"]["properties"]) == params | {"justification"}
        assert all(p["maxLength"] == MAX_TEXT_CHARS for p in f["parameters"]["properties"].values())
    risks = {spec.risk for spec in CATALOG.values()}
    assert {RiskClass.READ, RiskClass.WRITE, RiskClass.PRIVILEGE_GRANT, RiskClass.KEY_EXPORT,
            RiskClass.CROSS_DOMAIN, RiskClass.CREDENTIAL_ISSUE} <= risks
    assert {spec.system for spec in CATALOG.values()} == set(System)
    assert any(not spec.reversible for spec in CATALOG.values())


def test_reach_and_coverage_do_not_depend_on_visit_order():
    import numpy as np

    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario
    from simenv.world.model import intersect
    from simenv.world.reach import Coverage, closure

    spec, path = load_scenario("key_export")
    w = build(spec, 16, path).world
    perms = sorted({p for i in range(len(w.identities)) for p in w.permissions(i)}, key=lambda p: p.key())
    rng = np.random.default_rng(0)
    want_cov = Coverage.of(w, closure(w, perms)).to_json(w)
    a, b = set(perms[:40]), set(perms[20:60])
    want_int = intersect(perms[:40], perms[20:60])
    for _ in range(5):
        order = list(perms)
        rng.shuffle(order)
        assert Coverage.of(w, closure(w, order)).to_json(w) == want_cov
        assert intersect([p for p in order if p in a], [p for p in order if p in b]) == want_int


def test_a_coverage_lists_only_what_a_whole_system_does_not_already_cover():
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario
    from simenv.types import System
    from simenv.world.reach import Coverage

    spec, path = load_scenario("scope_creep")
    w = build(spec, 0, path).world
    db = [r.idx for r in w.resources if r.system is System.DB]
    cov = Coverage.make(w, systems=[System.DB], slices=[(System.DB, w.resources[db[0]].type)], ids=db)
    assert cov.to_json(w) == {"systems": ["db"], "slices": [], "ids": {}}


def test_every_tool_says_in_one_line_what_it_changes():
    from simenv.world.actions import TOOLS

    assert [t.name for t in TOOLS] == list(CATALOG) and len(CATALOG) == len(TOOLS)
    for t in TOOLS:
        assert t.changes and "\n" not in t.changes and len(t.changes) < 200, t.name
        assert ("cannot be undone" in t.changes) == (not t.reversible), t.name


def test_a_tool_that_changes_nothing_returns_no_changes():
    from simenv import files
    from simenv.envs.catalog import enumerate_calls

    quiet = {n for n, t in CATALOG.items() if t.changes.startswith("nothing;")}
    seen = set()
    for name in files.list_shipped("scenarios"):
        b = world_of(name, size=0)
        w, agent = b.world, b.agents[0]
        me = w.identities[agent].name
        for call in enumerate_calls(w, len(b.spec.identities), len(b.spec.resources), me)[3:]:
            if call.tool in quiet:
                rc = resolve(w, call.tool, call.args, me)
                assert rc.spec.effect(CallContext(w, agent, 0), **rc.args).changes == [], (name, call)
                seen.add(call.tool)
    assert seen == quiet


def test_the_tool_reference_as_data():
    from simenv.world import reference

    docs = reference.tool_docs()
    assert [d["name"] for d in docs] == list(CATALOG)
    by = {d["name"]: d for d in docs}
    assert by["idp_add_member"] == {
        "name": "idp_add_member", "system": "idp", "risk": "write", "reversible": True, "escalates": "grant",
        "description": "Add an identity to a directory group.", "changes": CATALOG["idp_add_member"].changes,
        "args": [{"name": "group", "kind": "resource", "type": "group", "system": "idp"},
                 {"name": "identity", "kind": "identity"}]}
    assert by["idp_set_conditional_access"]["args"][1] == {"name": "state", "kind": "text",
                                                           "enum": ["enabled", "disabled", "report_only"]}
    assert by["vault_create_access_key"]["args"][1] == {"name": "lifetime", "kind": "lifetime"}
    assert by["db_query"]["escalates"] is None
    for d in docs:  # a resource argument is always of the tool's own system
        assert all(a["system"] == d["system"] for a in d["args"] if a["kind"] == "resource"), d["name"]
    assert reference.lookup("db_query") is CATALOG["db_query"]
    with pytest.raises(SimenvError, match="unknown tool 'db_qeury'; did you mean 'db_query'"):
        reference.lookup("db_qeury")


def test_docs_tools_md_is_the_generated_reference():
    from pathlib import Path

    from simenv.world import reference

    doc = Path(__file__).resolve().parents[1] / "docs" / "tools.md"
    assert doc.read_text(encoding="utf-8") == reference.markdown(), (
        f"docs/tools.md is out of date with simenv/world/actions.py; regenerate it with: {reference.REGENERATE}")
    for name in CATALOG:
        assert f"| `{name}` |" in doc.read_text(encoding="utf-8")


def test_the_plain_estate_digest_is_the_canonical_one():
    """The base digest skips the canonical walk; for every shipped estate it is the same digest."""
    from simenv.files import list_shipped
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario
    from simenv.world.state import digest

    for name in list_shipped("scenarios"):
        spec, path = load_scenario(name)
        w = build(spec, 0, path).world
        obj = {"td": w.trust_domain, "ids": [(i.name, i.kind) for i in w.identities],
               "res": [(r.name, r.type, r.system, r.sensitivity) for r in w.resources],
               "grants": sorted((i, r) for i, rs in w.by_identity.items() for r in rs)}
        assert w._base_digest == digest(obj) == digest(obj, plain=True), name


def test_a_template_is_built_with_the_collector_paused_and_it_is_back_on_after(monkeypatch):
    import gc

    from simenv.gcpause import paused_gc
    from simenv.scenario import builder

    seen = []
    real = builder._build

    def spy(*a):
        seen.append(gc.isenabled())
        return real(*a)

    monkeypatch.setattr(builder, "_build", spy)
    spec, path = load_scenario("scope_creep")
    build(spec, 0, path, size=77)
    assert seen == [False] and gc.isenabled()

    monkeypatch.setattr(builder, "_build", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        build(spec, 0, path, size=78)
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled(), "a pause inside a pause leaves the collector as it found it"
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ["scope_creep", "secrets_sprawl", "multi_agent_chaining"])
def test_a_remembered_closure_is_the_one_computed_afresh_after_any_grant_changes(name):
    """The memo keeps a closure across grant changes of identities it took no permissions from: it is never stale."""
    from simenv.world.reach import Coverage, _closure, closure, closure_coverage

    w = world_of(name).world
    rng = np.random.default_rng(0)
    grantable = [r.idx for r in w.resources if r.permissions or r.roles or r.type.value in ("table", "secret")]
    secrets = [r.idx for r in w.resources if r.type.value == "secret"]
    people = list(range(min(len(w.identities), 60)))
    keys = [w.permissions(i) for i in people[:20]] + [frozenset(w.held(w.resources[r])) for r in grantable[:20]]
    for step in range(150):
        i, r = int(rng.choice(people)), int(rng.choice(grantable))
        w.apply(GrantChange(i, r, not w.has_grant(i, r)))
        if step % 40 == 0 and secrets:  # a secret pasted where readers see it: a new escalation edge
            s = int(rng.choice(secrets))
            w.apply(AttrChange(s, "exposes", w.attrs.get((s, "exposes")), str(int(rng.choice(people)))))
        for j in people[:25]:  # an identity's cached permissions follow its own grants
            assert w.permissions(j) == frozenset(p for g in w.by_identity.get(j, ()) for p in w.held(w.resources[g]))
        for k in [*keys, w.permissions(i)]:
            fresh = _closure(w, k)[0]
            assert closure(w, k) == fresh
            assert closure_coverage(w, k) == Coverage.of(w, fresh)
