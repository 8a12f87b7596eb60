r"""The values every policy engine represents faithfully, and a check that a request holds only such values.

Native rules compare Python numbers and strings exactly; Cedar and Rego do not (measured with
cedarpy 4.12 and regopy 1.5.2):

- Cedar's ``decimal`` keeps four decimal places in a 64-bit integer: a sensitivity in
  [7.99995, 8) is written ``8.0000`` and passes ``>= 8.0``, and one above
  :data:`DECIMAL_MAX` (about 9.2e14), or not finite, makes the entity store raise;
- Cedar's ``Long`` and Rego's integers are 64-bit: an integer of 2**63 or more is an
  evaluation-error deny in Cedar, and regopy silently wraps it to -2**63;
- text: a lone surrogate (``"\ud800"``) makes regopy raise ``UnicodeEncodeError`` and Cedar
  deny; regopy cuts a string at its first NUL character.

So values are made canonical where the request model is built (a sensitivity is rounded to
:data:`SENSITIVITY_PLACES` places, :func:`canonical_sensitivity`, so all engines compare the
same number), files are range-checked when they load (:func:`sensitivity_problem`,
:func:`long_problem`, :func:`text_problem`: a scenario's or a cases file's values, a
profile's TTL), and the Cedar and Rego authorizers refuse a request they cannot represent
with the same decision, :func:`invalid` (policy id ``request.invalid``), rather than raise or
decide on a changed value. Tool calls from agents are checked before any engine sees them.

>>> canonical_sensitivity(7.99996), sensitivity_problem(7.99996) is not None, sensitivity_problem(8.0)
(8.0, True, None)
>>> long_problem(2**63)
'9223372036854775808 is outside the 64-bit integer range that Cedar and Rego represent'
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal

from simenv.governance.request import AccessRequest, Decision, PrincipalView
from simenv.types import Effect

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
"""Cedar's ``Long`` and rego-cpp's integers: 64-bit signed."""
SENSITIVITY_PLACES = 4
"""Decimal places of Cedar's ``decimal``; policies see a sensitivity rounded to this many."""
DECIMAL_MAX = Decimal("922337203685477.5807")
"""The largest Cedar ``decimal`` (2**63 - 1 ten-thousandths)."""
SENSITIVITY_MAX = 1e9
"""The largest sensitivity a file may give: every 4-place value up to it is exact as a float and in Cedar."""
MAX_TEXT_CHARS = 10_000
"""The longest text a cases file may hold in one field."""
INVALID_ID = "request.invalid"


def canonical_sensitivity(x: float) -> float:
    """``x`` rounded to :data:`SENSITIVITY_PLACES` places: the number every engine compares (Cedar's decimal)."""
    return round(x, SENSITIVITY_PLACES) if math.isfinite(x) else x


def sensitivity_problem(x: float) -> str | None:
    """Why a sensitivity from a file cannot reach every engine as it is written, or ``None``."""
    if not math.isfinite(x) or x < 0 or x > SENSITIVITY_MAX:
        return f"{x!r} is not a sensitivity between 0 and {SENSITIVITY_MAX:.0e} (Cedar's decimal range)"
    if canonical_sensitivity(x) != x:
        return (f"{x!r} has more than {SENSITIVITY_PLACES} decimal places, which Cedar's decimal keeps: "
                f"write {canonical_sensitivity(x)!r} or another value with at most {SENSITIVITY_PLACES}")
    return None


def long_problem(x: int) -> str | None:
    """Why an integer from a file cannot reach Cedar or Rego unchanged, or ``None``."""
    if LONG_MIN <= x <= LONG_MAX:
        return None
    return f"{x} is outside the 64-bit integer range that Cedar and Rego represent"


def text_problem(s: str, limit: int | None = MAX_TEXT_CHARS) -> str | None:
    """Why a text cannot reach every engine unchanged (invalid Unicode, NUL, too long), or ``None``."""
    if limit is not None and len(s) > limit:
        return f"the text is {len(s):,} characters; the limit is {limit:,}: shorten it"
    if "\x00" in s:
        return "the text holds a NUL character, which Rego cannot carry: remove it"
    if not s.isascii():
        for ch in s:
            if "\ud800" <= ch <= "\udfff":
                return (f"the text holds a lone surrogate (U+{ord(ch):04X}), which is not valid Unicode: "
                        "remove it or write the character it stands for")
    return None


def _principal(prefix: str, v: PrincipalView) -> Iterator[tuple[str, object]]:
    yield f"{prefix}.name", v.name
    yield f"{prefix}.kind", v.kind
    yield f"{prefix}.owner", v.owner
    yield f"{prefix}.trust_tier", v.trust_tier
    yield f"{prefix}.spiffe_id", v.spiffe_id
    yield f"{prefix}.tenant", v.tenant


def _values(r: AccessRequest) -> Iterator[tuple[str, object]]:
    yield from _principal("principal", r.principal)
    yield from _principal("represents", r.represents)
    if r.target_identity is not None:
        yield from _principal("target_identity", r.target_identity)
    res = r.resource
    yield from (("action.name", r.action), ("action.risk", r.risk), ("action.system", r.system),
                ("resource.name", res.name), ("resource.type", res.type), ("resource.system", res.system),
                ("resource.owner", res.owner), ("resource.tenant", res.tenant), ("context.ticket", r.ticket),
                ("context.approval", r.approval), ("context.credential.id", r.credential_id),
                ("context.credential.kind", r.credential_kind), ("context.credential.ttl", r.credential_ttl),
                ("context.justification", r.justification), ("context.lifetime", r.lifetime),
                ("context.tick", r.tick), ("context.session", r.session))
    for key, seq in (("resource.marks", res.marks), ("context.declared_systems", r.declared_systems),
                     ("context.declared_risks", r.declared_risks), ("context.chain", r.chain)):
        for i, x in enumerate(seq):
            yield f"{key}[{i}]", x
    for k, v in r.args.items():
        yield f"context.args key {k[:40]!r}", k
        yield f"context.args.{k[:40]}", v


def request_problem(r: AccessRequest) -> str | None:
    """Why Cedar or Rego cannot decide ``r`` on the values it holds, or ``None`` (about a microsecond)."""
    s = r.resource.sensitivity
    if not (0.0 <= s <= SENSITIVITY_MAX) or round(s, SENSITIVITY_PLACES) != s:
        return f"resource.sensitivity: {sensitivity_problem(s)}"
    p, rep, t, res = r.principal, r.represents, r.target_identity, r.resource
    for v in (r.tick, r.session, r.credential_ttl, r.lifetime, p.trust_tier, rep.trust_tier,
              None if t is None else t.trust_tier):
        if v is not None and not LONG_MIN <= v <= LONG_MAX:
            return _slow(r)
    target = (t.name, t.kind, t.owner or "", t.spiffe_id, t.tenant) if t is not None else ()
    text = "".join((p.name, p.kind, p.owner or "", p.spiffe_id, p.tenant, rep.name, rep.kind, rep.owner or "",
                    rep.spiffe_id, rep.tenant, r.action, r.risk, r.system, res.name, res.type, res.system,
                    res.owner or "", res.tenant, r.ticket or "", r.approval, r.credential_id or "",
                    r.credential_kind or "", r.justification or "", *res.marks, *r.declared_systems, *r.declared_risks,
                    *r.chain, *r.args, *r.args.values(), *target))
    if text.isascii() and "\x00" not in text:
        return None
    return _slow(r)


def _slow(r: AccessRequest) -> str | None:
    for where, v in _values(r):
        if v is None:
            continue
        if isinstance(v, str):
            why = text_problem(v, None)
        elif isinstance(v, int):
            why = long_problem(v)
        else:
            why = f"{v!r} is not text or an integer"
        if why is not None:
            return f"{where}: {why}"
    return None


def invalid(problem: str) -> Decision:
    """The decision of Cedar and Rego on a request they cannot represent: a deny naming the value."""
    return Decision(Effect.DENY, (f"the policy engine cannot represent this request: {problem}",), (INVALID_ID,))
