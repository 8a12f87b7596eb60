"""AWS IAM policy documents: strict parsing and the evaluation an escalation analysis needs.

A document is parsed once into :class:`Statement` tuples; :func:`evaluate` answers whether a set
of identity policies allows an action on a resource, with AWS's rules: an explicit ``Deny`` wins,
then any ``Allow``, else the implicit deny. ``Action``/``NotAction`` match case-insensitively
with ``*`` and ``?``; ``Resource``/``NotResource`` match case-sensitively, and ``*`` in an ARN
pattern spans ``:`` as AWS's does.

Conditions are evaluated where the importer knows the context key (:data:`KNOWN_KEYS`: the time
of the analysis, :attr:`Context.now`). A condition on any other key is *satisfiable*: an
``Allow`` under it may apply (an attacker can often meet it) and a ``Deny`` under it is not
counted on. So the analysis over-approximates what a principal can do, as Principal Mapper does,
and marks every decision that rested on such a condition (:attr:`Verdict.conditional`).

Unknown shapes are errors (:class:`PolicyError`, with the JSON path): a statement key, an effect
or a condition operator this module does not know, an action or resource that is not a string.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from simenv.errors import SimenvError

STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
                            "Principal", "NotPrincipal"})
KNOWN_KEYS = frozenset({"aws:tokenissuetime", "aws:currenttime", "aws:epochtime"})
"""Condition keys whose value the analysis knows: the time of the analysis."""
_STRING_OPS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike")
_NUM_OPS = ("NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
            "NumericGreaterThanEquals")
_DATE_OPS = ("DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals")
_OTHER_OPS = ("Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
              "ArnNotLike", "Null")
OPERATORS = frozenset(_STRING_OPS + _NUM_OPS + _DATE_OPS + _OTHER_OPS)
"""Every condition operator of the IAM reference (with optional ``ForAnyValue:``/``ForAllValues:`` and ``IfExists``)."""


class PolicyError(SimenvError):
    """A policy document of a shape the importer does not know; the message names the JSON path."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition: operator (without set prefix or IfExists), key (lower case), values."""

    op: str
    key: str
    values: tuple[str, ...]
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of an identity or trust policy."""

    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()
    principals: tuple[tuple[str, str], ...] = ()  # (kind, value): ("AWS", arn), ("Service", name), ("*", "*")


@dataclass(frozen=True, slots=True)
class Context:
    """What the analysis knows of a request: the time (ISO 8601, UTC)."""

    now: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """An evaluation: ``allowed``, and whether it rested on a condition the analysis could not evaluate."""

    allowed: bool
    conditional: bool = False


def _strings(v: Any, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise PolicyError(f"{where}: expected a string or a list of strings, got {json.dumps(v)[:60]}")


def document(raw: Any, where: str) -> dict[str, Any]:
    """A policy document as a dict: as given, or URL-encoded JSON text (as the AWS API returns it)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(urllib.parse.unquote(raw))
        except ValueError as e:
            raise PolicyError(f"{where}: not a JSON policy document ({e})") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a policy document is a JSON object")
    return raw


def parse(raw: Any, where: str, trust: bool = False) -> tuple[Statement, ...]:
    """The statements of a policy document (``trust``: a role's trust policy, whose statements name principals)."""
    doc = document(raw, where)
    unknown = sorted(set(doc) - {"Version", "Id", "Statement"})
    if unknown:
        raise PolicyError(f"{where}.{unknown[0]}: unknown policy key; known: Version, Id, Statement")
    sts = doc.get("Statement", [])
    if isinstance(sts, dict):
        sts = [sts]
    if not isinstance(sts, list):
        raise PolicyError(f"{where}.Statement: expected a list of statements")
    return tuple(_statement(s, f"{where}.Statement[{k}]", trust) for k, s in enumerate(sts))


def _statement(s: Any, where: str, trust: bool) -> Statement:
    if not isinstance(s, dict):
        raise PolicyError(f"{where}: a statement is a JSON object")
    unknown = sorted(set(s) - STATEMENT_KEYS)
    if unknown:
        raise PolicyError(f"{where}.{unknown[0]}: unknown statement key; known: {', '.join(sorted(STATEMENT_KEYS))}")
    effect = s.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect: must be Allow or Deny, not {json.dumps(effect)}")
    if ("Action" in s) == ("NotAction" in s):
        raise PolicyError(f"{where}: a statement has exactly one of Action and NotAction")
    if "NotPrincipal" in s:
        raise PolicyError(f"{where}.NotPrincipal: not modelled; rewrite the statement with Principal")
    res_key = "NotResource" if "NotResource" in s else "Resource"
    if trust:
        resources: tuple[str, ...] = ("*",)
    elif res_key not in s:
        raise PolicyError(f"{where}: an identity policy statement has Resource or NotResource")
    else:
        resources = _strings(s[res_key], f"{where}.{res_key}")
    principals: list[tuple[str, str]] = []
    if trust:
        p = s.get("Principal")
        if p == "*":
            principals.append(("*", "*"))
        elif isinstance(p, dict):
            for kind in sorted(p):
                if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
                    raise PolicyError(f"{where}.Principal.{kind}: unknown principal kind")
                principals.extend((kind, v) for v in _strings(p[kind], f"{where}.Principal.{kind}"))
        else:
            raise PolicyError(f"{where}.Principal: a trust statement names its principals")
    act_key = "NotAction" if "NotAction" in s else "Action"
    return Statement(effect == "Allow", tuple(a.lower() for a in _strings(s[act_key], f"{where}.{act_key}")),
                     act_key == "NotAction", resources, res_key == "NotResource",
                     _conditions(s.get("Condition", {}), f"{where}.Condition"), tuple(principals))


def _conditions(c: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(c, dict):
        raise PolicyError(f"{where}: expected an object of operators")
    out = []
    for op_full in sorted(c):
        op = op_full.split(":", 1)[1] if op_full.startswith(("ForAnyValue:", "ForAllValues:")) else op_full
        if_exists = op.endswith("IfExists")
        op = op.removesuffix("IfExists")
        if op not in OPERATORS:
            raise PolicyError(f"{where}.{op_full}: unknown condition operator")
        body = c[op_full]
        if not isinstance(body, dict):
            raise PolicyError(f"{where}.{op_full}: expected an object of condition keys")
        for key in sorted(body):
            vals = body[key]
            if isinstance(vals, bool | int | float):
                vals = str(vals).lower() if isinstance(vals, bool) else str(vals)
            out.append(Condition(op, key.lower(), _strings(vals, f"{where}.{op_full}.{key}"), if_exists))
    return tuple(out)


@lru_cache(maxsize=65536)
def _regex(pattern: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


def wild(pattern: str, value: str, fold: bool = False) -> bool:
    """Whether ``value`` matches an IAM pattern with ``*`` and ``?`` (``fold``: case-insensitive)."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if fold else pattern == value
    return _regex(pattern, fold).fullmatch(value) is not None


def action_matches(st: Statement, action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers ``action`` (lower case)."""
    hit = any(wild(p, action, True) for p in st.actions)
    return hit != st.not_action


def resource_matches(st: Statement, resource: str) -> bool:
    """Whether the statement's Resource (or NotResource) covers the ARN ``resource``."""
    hit = any(wild(p, resource) for p in st.resources)
    return hit != st.not_resource


def _date(v: str) -> str:
    return v.replace("Z", "+00:00")[:25]


def condition_holds(c: Condition, ctx: Context) -> bool | None:
    """True or False where the key is known (:data:`KNOWN_KEYS`), else None (not evaluated)."""
    if c.key not in KNOWN_KEYS or c.op not in _DATE_OPS:
        return None
    now = _date(ctx.now)
    results = []
    for v in c.values:
        t = _date(v)
        results.append({"DateEquals": now == t, "DateNotEquals": now != t, "DateLessThan": now < t,
                        "DateLessThanEquals": now <= t, "DateGreaterThan": now > t,
                        "DateGreaterThanEquals": now >= t}[c.op])
    return all(results) if c.op == "DateNotEquals" else any(results)


def conditions_hold(st: Statement, ctx: Context) -> bool | None:
    """All of a statement's conditions: True, False, or None when one could not be evaluated (and none failed)."""
    unknown = False
    for c in st.conditions:
        r = condition_holds(c, ctx)
        if r is False:
            return False
        unknown = unknown or r is None
    return None if unknown else True


def evaluate(statements: tuple[Statement, ...], action: str, resource: str, ctx: Context) -> Verdict:
    """Whether identity policy statements allow ``action`` on ``resource`` (explicit deny, then allow)."""
    action = action.lower()
    allowed = surely = False
    for st in statements:
        if not action_matches(st, action) or not resource_matches(st, resource):
            continue
        held = conditions_hold(st, ctx)
        if held is False:
            continue
        if not st.allow:
            if held is True:
                return Verdict(False)
            continue  # a deny under a condition the analysis cannot evaluate is not counted on
        allowed = True
        surely = surely or held is True
    return Verdict(allowed, allowed and not surely)
