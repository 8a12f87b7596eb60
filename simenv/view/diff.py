"""Two episodes' trails side by side: the calls aligned, and the first decision that differs.

Two episodes of one scenario and seed under two profiles see the same agents make mostly the
same calls, until a decision differs and the agents' paths part. The calls are aligned with
:class:`difflib.SequenceMatcher` on what an agent asked for (agent, tool, arguments), so that a
call refused under one profile and retried differently still lines up with its counterpart;
a pair whose decision, outcome or policy ids differ is a difference, and so is a call only one
side made.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

from simenv.view.trail import row

MAX_ROWS = 20_000
"""The most aligned rows a diff returns (the rest is counted, not sent)."""


def _ask(c: dict[str, Any]) -> str:
    return json.dumps([c.get("agent"), c.get("tool"), c.get("args")], sort_keys=True)


def _decided(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c.get("decision"), c.get("effect"))


def align(left: Sequence[dict[str, Any]], right: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aligned rows ``{"a": row | None, "b": row | None, "same": bool}`` and the index of the first difference.

    >>> a = [{"seq": 1, "kind": "call", "agent": "x", "tool": "t", "args": {}, "decision": "allow", "effect": "noop"}]
    >>> b = [{**a[0], "decision": "deny", "effect": "denied", "policy_ids": ["p"]}]
    >>> d = align(a, b)
    >>> d["first"], d["rows"][0]["same"], d["rows"][0]["b"]["policy_ids"]
    (0, False, ['p'])
    """
    sm = difflib.SequenceMatcher(a=[_ask(c) for c in left], b=[_ask(c) for c in right], autojunk=False)
    rows: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                same = _decided(left[i]) == _decided(right[j])
                ids = (left[i].get("policy_ids") or []) != (right[j].get("policy_ids") or [])
                rows.append({"a": row(left[i]), "b": row(right[j]), "same": same, "ids_differ": ids})
        else:
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                a = left[i1 + k] if i1 + k < i2 else None
                b = right[j1 + k] if j1 + k < j2 else None
                rows.append({"a": row(a) if a else None, "b": row(b) if b else None, "same": False, "ids_differ": False})
    first = next((i for i, r in enumerate(rows) if not r["same"]), None)
    differing = sum(1 for r in rows if not r["same"])
    return {"rows": rows[:MAX_ROWS], "total": len(rows), "first": first, "differing": differing}
