"""Helpers the engine uses to mediate a call: request views, change descriptions, affected sets."""

from __future__ import annotations

from typing import Any

from simenv.governance.request import AccessRequest, PrincipalView, ResourceView
from simenv.world.changes import AttrChange, Change, CredChange, GrantChange
from simenv.world.model import Credential, Identity, Resource, Ticket
from simenv.world.reach import Coverage, closure, potential_blast_radius
from simenv.world.state import World
from simenv.world.tools import ResolvedCall


def principal(world: World, ident: Identity) -> PrincipalView:
    """An identity as policies see it (built once per identity: its attributes never change)."""
    key = ("principal", ident.idx)
    view = world.memo.get(key)
    if view is None:
        view = world.memo[key] = PrincipalView(ident.name, str(ident.kind), world.owner_name(ident.idx),
                                               ident.trust_tier, ident.shared, ident.spiffe_id)
    return view


def resource_view(world: World, res: Resource) -> ResourceView:
    """A resource as policies see it (built once per resource)."""
    key = ("resource", res.idx)
    view = world.memo.get(key)
    if view is None:
        owner = world.identities[res.owner].name if res.owner is not None else None
        view = world.memo[key] = ResourceView(res.name, str(res.type), str(res.system), res.sensitivity, owner)
    return view


def declared(world: World, ticket: Ticket | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A ticket's declared systems and risk classes as sorted names (built once per ticket)."""
    if ticket is None:
        return (), ()
    key = ("declared", ticket.id)
    names = world.memo.get(key)
    if names is None:
        names = world.memo[key] = (tuple(sorted(map(str, ticket.scope.systems))),
                                   tuple(sorted(map(str, ticket.scope.risks))))
    return names


def build_request(
    world: World, agent: int, call: ResolvedCall, cred: Credential, ticket: Ticket | None,
    tick: int, session: int, approval: str = "none",
) -> AccessRequest:
    """The access request for a resolved call backed by ``cred``."""
    spec = call.spec
    target_ident = call.args[spec.identity_param] if spec.identity_param else None
    scope = ticket.scope if ticket is not None else None
    systems, risks = declared(world, ticket)
    return AccessRequest(
        principal=principal(world, world.identities[agent]),
        represents=principal(world, world.identities[cred.represents]),
        action=spec.name,
        risk=str(spec.risk),
        system=str(spec.system),
        resource=resource_view(world, call.target),
        target_identity=principal(world, world.identities[target_ident]) if target_ident is not None else None,
        ticket=ticket.id if ticket else None,
        declared_systems=systems,
        declared_risks=risks,
        in_declared_scope=bool(scope and scope.contains(spec.system, spec.risk)),
        approval=approval,
        credential_id=cred.id,
        credential_kind=str(cred.kind),
        credential_ttl=None if cred.expires_at is None else cred.expires_at - tick,
        credential_covers=world.covers(cred, spec.risk, call.target, tick),
        chain=(world.identities[agent].name, *(ticket.chain if ticket else ())),
        tick=tick,
        session=session,
        args=dict(call.names),
    )


def cred_summary(world: World, c: Credential | None) -> dict[str, Any] | None:
    """A credential as the audit log writes it."""
    if c is None:
        return None
    return {
        "id": c.id, "kind": str(c.kind), "holder": world.identities[c.holder].name,
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
    assert isinstance(change, CredChange)
    return {"op": "cred", "id": change.cid, "old": cred_summary(world, change.old), "new": cred_summary(world, change.new)}


def affected(world: World, target: Resource, changes: list[Change]) -> Coverage:
    """What a call touched: its target, plus what any privilege or credential it created reaches."""
    cov = Coverage(ids=frozenset({target.idx}))
    for ch in changes:
        if isinstance(ch, GrantChange) and ch.present:
            res = world.resources[ch.resource]
            perms = list(res.permissions)
            for role in res.roles:
                perms.extend(world.resources[role].permissions)
            if not perms and res.type.value in ("table", "pipeline", "secret"):
                continue
            cov = cov.union(world, Coverage.of(world, closure(world, perms)))
        elif isinstance(ch, CredChange) and ch.new is not None and ch.old is None:
            cov = cov.union(world, potential_blast_radius(world, ch.new)[0])
        elif isinstance(ch, AttrChange) and ch.key == "trusted_domain" and ch.new:
            # another trust domain may now assume the role: everything the role reaches
            cov = cov.union(world, Coverage.of(world, closure(world, world.resources[ch.resource].permissions)))
        elif isinstance(ch, AttrChange) and ch.key == "runs" and (runs_as := world.resources[ch.resource].yields) is not None:
            # a pipeline run executes its code as the identity it runs as
            cov = cov.union(world, Coverage.of(world, closure(world, world.permissions(runs_as))))
        elif isinstance(ch, AttrChange) and ch.key == "exposes" and ch.new is not None:
            # a secret pasted where others read it: what its identity reaches
            cov = cov.union(world, Coverage.of(world, closure(world, world.permissions(int(ch.new)))))
    return cov
