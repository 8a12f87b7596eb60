"""How world objects and agent input are written into audit records: changes, credentials, raw values.

Raw values an agent sent are written by :func:`safe_value` (from :mod:`simenv.world.inputs`, where
the bounds of a call are): bounded, with invalid characters escaped.

Everything here returns plain JSON-able values that do not depend on the process (no object
addresses, no set order), so that records, and so fingerprints, are the same in any process.
"""

from __future__ import annotations

from typing import Any

from simenv.types import cred_label
from simenv.world.changes import AttrChange, Change, GrantChange, StatusChange
from simenv.world.inputs import safe_value
from simenv.world.model import Credential
from simenv.world.state import World

__all__ = ["cred_summary", "describe", "safe_value"]


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
