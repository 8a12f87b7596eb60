"""Native rules compile to one Python function per effect: it decides as the rules document says, and no text of a
policy file ever becomes part of the code it runs."""

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_policy_engines import sample_requests

from simenv.governance.fields import FIELDS
from simenv.governance.native import NativeRules
from simenv.types import Effect

REQUESTS = sample_requests(300, seed=7)

# a value of each type tag that some sampled request holds, and others it does not
VALUES: dict[str, list[Any]] = {
    "str": ["agent", "human", "db", "read", "privilege_grant", "none", "granted", "static", "jit", "p3", "payments"],
    "int": [0, 1, 2, 3, 5, 60, -1],
    "float": [0.0, 7.9999, 8.0, 10.0, 3],
    "bool": [True, False],
}
NUMERIC = ("gt", "gte", "lt", "lte")


def read(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the request's JSON document (``to_input()``), the published model."""
    if path.startswith("context.args."):
        return doc["context"]["args"].get(path[len("context.args."):])
    head, _, rest = path.partition(".")
    if head == "action":
        return doc["action"][rest]
    node = doc[head]
    for part in rest.split("."):
        if node is None:
            return None
        node = node[part]
    return node


def holds(op: str, operand: Any, v: Any) -> bool:
    """One operator as the module docstring of simenv.governance.native defines it."""
    if op == "eq":
        return v == operand
    if op == "not":
        return v != operand
    if op == "in":
        return v in operand
    if op == "not_in":
        return v not in operand
    if op in NUMERIC:
        if v is None:
            return False
        return {"gt": v > operand, "gte": v >= operand, "lt": v < operand, "lte": v <= operand}[op]
    if op == "contains":
        return operand in v
    assert op == "exists"
    return (v is not None) == operand


def reference(rules: list[dict[str, Any]], default: str, doc: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Deny > require_approval > allow > the default; the ids of the winning effect's matching rules, sorted."""
    for effect in ("deny", "require_approval", "allow"):
        hit = sorted(r["id"] for r in rules if r["effect"] == effect and all(
            all(holds(op, x, read(doc, path)) for op, x in (m.items() if isinstance(m, dict) else [("eq", m)]))
            for path, m in r["when"].items()))
        if hit:
            return effect, tuple(hit)
    return default, ("default",)


@st.composite
def matcher(draw: Any, typ: str) -> Any:
    base = typ.rstrip("?")
    if typ == "list":
        return {"contains": draw(st.sampled_from(["db", "read", "break_glass", "a1", "p0"]))}
    pool = VALUES.get(base, VALUES["str"])
    ops = ["eq", "not", "in", "not_in", "exists"] + (list(NUMERIC) if base in ("int", "float") else [])
    chosen = draw(st.lists(st.sampled_from(ops), min_size=1, max_size=3, unique=True))
    out: dict[str, Any] = {}
    for op in chosen:
        if op in ("in", "not_in"):
            out[op] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        elif op == "exists":
            out[op] = draw(st.booleans())
        elif op in NUMERIC:
            out[op] = draw(st.sampled_from(VALUES["float"]))
        else:
            out[op] = draw(st.sampled_from(pool + ([None] if typ.endswith("?") else [])))
    if list(out) == ["eq"] and draw(st.booleans()):
        return out["eq"]  # a plain value is equality
    return out


@st.composite
def rule_sets(draw: Any) -> tuple[list[dict[str, Any]], str]:
    paths = sorted(FIELDS) + ["context.args.table", "context.args.role"]
    rules = []
    for i in range(draw(st.integers(1, 8))):
        when = {}
        for path in draw(st.lists(st.sampled_from(paths), max_size=4, unique=True)):
            typ = FIELDS[path][0] if path in FIELDS else "str?"
            when[path] = draw(matcher(typ))
        rules.append({"id": f"r{i}", "effect": draw(st.sampled_from(["deny", "require_approval", "allow"])),
                      "when": when})
    return rules, draw(st.sampled_from(["deny", "allow"]))


@settings(max_examples=150, deadline=None)
@given(rule_sets())
def test_compiled_rules_decide_as_the_documented_semantics(case):
    rules, default = case
    compiled = NativeRules.from_data({"default": default, "rules": rules})
    for req in REQUESTS:
        effect, ids = reference(rules, default, req.to_input())
        dec = compiled.authorize(req)
        assert (str(dec.effect), dec.policy_ids) == (effect, ids), (rules, req)


HOSTILE = "x') or __import__('os').system('touch /tmp/pwned') or ('"


def test_no_text_of_a_policy_reaches_the_compiled_code():
    rules = NativeRules.from_data({"rules": [
        {"id": "evil.id", "effect": "deny", "reason": HOSTILE, "when": {
            "principal.name": HOSTILE, "context.args." + HOSTILE: {"not": HOSTILE}, "resource.name": {"in": [HOSTILE]}}},
        {"id": "plain", "effect": "allow", "when": {"context.args.table": {"exists": True}}}]})
    for _, group in rules._groups:
        assert HOSTILE not in group.source and "evil" not in group.source and "os" not in group.source.split()
        assert "import" not in group.source and "table" not in group.source
    req = next(r for r in REQUESTS if "table" in r.args)
    assert rules.authorize(req).effect is Effect.ALLOW  # the hostile rule's values are compared, never run
    hostile = sample_requests(1, seed=1)[0]
    hostile = dataclasses.replace(hostile, principal=dataclasses.replace(hostile.principal, name=HOSTILE),
                                  resource=dataclasses.replace(hostile.resource, name=HOSTILE), args={HOSTILE: "y"})
    assert rules.authorize(hostile).policy_ids == ("evil.id",)


def test_a_rule_with_many_conditions_compiles_flat():
    when = {f"context.args.a{i}": {"not": "x", "exists": True} for i in range(400)}
    rules = NativeRules.from_data({"default": "allow", "rules": [{"id": "many", "effect": "deny", "when": when}]})
    req = REQUESTS[0]
    assert rules.authorize(req).effect is Effect.ALLOW  # the arguments are missing: exists fails
    full = dataclasses.replace(req, args={f"a{i}": "y" for i in range(400)})
    assert rules.authorize(full).policy_ids == ("many",)
    assert all(len(line) - len(line.lstrip()) <= 8 for line in rules._groups[0][1].source.splitlines())


def single_operator_cases():
    for path, (typ, _) in sorted(FIELDS.items()):
        base = typ.rstrip("?")
        if typ == "list":
            yield from ((path, {"contains": x}) for x in ("db", "break_glass", "p0"))
            continue
        pool = VALUES.get(base, VALUES["str"])[:4] + ([None] if typ.endswith("?") else [])
        for x in pool:
            yield from ((path, {op: x}) for op in ("eq", "not"))
        yield from ((path, {op: pool[:2]}) for op in ("in", "not_in"))
        yield from ((path, {"exists": b}) for b in (True, False))
        if base in ("int", "float"):
            yield from ((path, {op: x}) for op in NUMERIC for x in (VALUES["float"] if base == "float" else (2, 3, 60)))


def test_every_operator_on_every_field_decides_as_documented():
    requests = REQUESTS[:120]
    docs = [r.to_input() for r in requests]
    n = 0
    for path, m in single_operator_cases():
        rules = [{"id": "only", "effect": "deny", "when": {path: m}}]
        compiled = NativeRules.from_data({"default": "allow", "rules": rules})
        for req, doc in zip(requests, docs, strict=True):
            dec = compiled.authorize(req)
            assert (str(dec.effect), dec.policy_ids) == reference(rules, "allow", doc), (path, m, doc)
        n += 1
    assert n > 500
