"""How world objects and agent input are written into audit records: changes, credentials, raw values.

Everything here returns plain JSON-able values that do not depend on the process (no object
addresses, no set order), so that records, and so fingerprints, are the same in any process.
"""

from __future__ import annotations

from typing import Any

from simenv.types import cred_label
from simenv.world.changes import AttrChange, Change, GrantChange, StatusChange
from simenv.world.model import Credential
from simenv.world.state import World


def safe_value(v: Any) -> Any:
    """A JSON-able, process-independent stand-in for whatever an agent sent (no reprs with addresses)."""
    if v is None or isinstance(v, (bool, int, float)):
        return v if not isinstance(v, float) or v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, str):
        return v[:200]
    if isinstance(v, (list, tuple)):
        return [safe_value(x) for x in v[:20]]
    if isinstance(v, dict):
        return {str(k)[:100]: safe_value(x) for k, x in list(v.items())[:20]}
    return f"<{type(v).__name__}>"


def cred_summary(world: World, c: Credential | None) -> dict[str, Any] | None:
    """A credential as the audit log writes it."""
    if c is None:
        return None
    return {
        "id": cred_label(c.id), "kind": str(c.kind), "holder": world.identities[c.holder].name,
        "represents": world.identities[c.represents].name, "revoked": c.revoked, "expires_at": c.expires_at,
        "source": c.source, "superuser": c.superuser, "session": c.session, "ticket": c.ticket,
        "chain": list(c.chain),
    }


def describe(world: World, change: Change) -> dict[str, Any]:
    """A change as the audit log writes it."""
    if isinstance(change, GrantChange):
        return {"op": "grant", "identity": world.identities[change.identity].name,
                "resource": world.resources[change.resource].name, "present": change.present}
    if isinstance(change, AttrChange):
        return {"op": "attr", "resource": world.resources[change.resource].name, "key": change.key,
                "old": change.old, "new": change.new}
    if isinstance(change, StatusChange):
        return {"op": "status", "identity": world.identities[change.identity].name, "status": change.status,
                "present": change.present}
    return {"op": "cred", "id": cred_label(change.cid), "old": cred_summary(world, change.old),
            "new": cred_summary(world, change.new)}
