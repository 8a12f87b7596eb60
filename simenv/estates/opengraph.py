"""BloodHound CE OpenGraph JSON of an estate: its identities, resources, grants and escalation edges.

OpenGraph (BloodHound CE's generic ingest) is ``{"metadata": {"source_kind": ...}, "graph":
{"nodes": [...], "edges": [...]}}``; a node has an ``id``, one to three ``kinds`` and flat
``properties``; an edge has a ``kind`` (letters, digits, ``_``), a ``start`` and an ``end`` matched
by node id, and flat ``properties``. Every kind here is namespaced ``Simenv...``, and
``source_kind`` is ``Simenv``. The mapping:

Nodes (id ``simenv:<domain>:identity:<name>`` or ``...:resource:<name>``; ``<domain>`` is the
world's trust domain, or ``aws:<account>`` for an estate file):

* an identity: kinds ``[SimenvHuman | SimenvServiceAccount | SimenvAgent, SimenvIdentity]``, plus
  ``SimenvAWSUser`` or ``SimenvAWSRole`` for an imported principal (with its ``arn``, ``admin``,
  ``sensitivity`` and ``rule``);
* a resource: kinds ``[Simenv<Type>, SimenvResource]`` (``SimenvGroup``, ``SimenvRole``,
  ``SimenvSecret``, ...), with ``system``, ``type``, ``sensitivity`` and its ``permissions`` as
  ``system:risk,risk:types`` strings; the AdministratorAccess role ``aws-admin`` also has
  ``SimenvAWSAdmin``.

Edges:

* ``SimenvMemberOf`` (identity → group), ``SimenvHasRole`` (identity → role), ``SimenvHolds``
  (identity → any other resource): the grants;
* ``SimenvGroupRole`` (group → role it carries), ``SimenvOwns`` (owner → resource or agent),
  ``SimenvActsAs`` (agent → service account), ``SimenvYields`` (resource → the identity whose
  permissions acting on it gives, ``via`` the risk classes);
* ``SimenvCan`` (role or group → a resource its permissions name by name, with ``risks``);
* one edge per escalation method, kind ``SimenvAWS_<method>`` (``SimenvAWS_iam_AttachRolePolicy``,
  ``SimenvAWS_sts_AssumeRole``, ...), from a principal to the principal it reaches or to
  ``aws-admin``, with ``escalation: true``, ``method``, ``rhino`` and ``pathfinding`` (the method's
  ids, where it has them), ``via`` (what it goes through) and ``conditional``. An edge to every user
  (or role) is one edge to each, with ``every``. Edges of one method between the same two
  principals are one edge (BloodHound keeps one edge per kind and pair); their ``via`` is listed.
  ``SimenvIsAdmin`` links an admin principal to ``aws-admin``.

Property values are strings, numbers, booleans or homogeneous arrays of them; a value that is
absent is left out (OpenGraph has no null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from simenv.estates.aws import EVERY
from simenv.estates.estate import ADMIN, ADMIN_ROLE, EscalationSpec, EstateFile
from simenv.world.model import Permission, Resource
from simenv.world.state import World

SOURCE_KIND = "Simenv"
IDENTITY_KINDS = {"human": "SimenvHuman", "service_account": "SimenvServiceAccount", "agent": "SimenvAgent"}
RESOURCE_KINDS = {"group": "SimenvGroup", "role": "SimenvRole", "secret": "SimenvSecret", "key": "SimenvKey",
                  "pipeline": "SimenvPipeline", "table": "SimenvTable", "ca_rule": "SimenvCARule",
                  "ticket_log": "SimenvTicketLog", "agent": "SimenvAgentEndpoint"}
AWS_KINDS = {"user": "SimenvAWSUser", "role": "SimenvAWSRole"}
GRANT_KINDS = {"group": "SimenvMemberOf", "role": "SimenvHasRole"}


def method_kind(method: str) -> str:
    """The edge kind of an escalation method: ``iam:AttachRolePolicy`` → ``SimenvAWS_iam_AttachRolePolicy``."""
    return "SimenvAWS_" + re.sub(r"[^A-Za-z0-9]+", "_", method).strip("_")


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    """Properties without absent values (OpenGraph allows no null)."""
    return {k: v for k, v in props.items() if v is not None}


class Graph:
    """Nodes and edges in insertion order; a node added twice keeps its first kinds and merges properties."""

    def __init__(self, domain: str):
        self.domain = domain
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], dict[str, Any]] = {}

    def ident_id(self, name: str) -> str:
        return f"simenv:{self.domain}:identity:{name}"

    def res_id(self, name: str) -> str:
        return f"simenv:{self.domain}:resource:{name}"

    def node(self, nid: str, kinds: list[str], **props: Any) -> str:
        if nid in self.nodes:
            self.nodes[nid]["properties"].update(_clean(props))
        else:
            self.nodes[nid] = {"id": nid, "kinds": kinds[:3], "properties": _clean(props)}
        return nid

    def mark(self, nid: str, **props: Any) -> None:
        """Set properties of an existing node."""
        self.nodes[nid]["properties"].update(_clean(props))

    def edge(self, kind: str, start: str, end: str, **props: Any) -> dict[str, Any]:
        """The edge ``kind`` from ``start`` to ``end`` (one per kind and pair), its properties merged in."""
        key = (kind, start, end)
        e = self.edges.get(key)
        if e is None:
            e = self.edges[key] = {"kind": kind, "start": {"match_by": "id", "value": start},
                                   "end": {"match_by": "id", "value": end}, "properties": {}}
        e["properties"].update(_clean(props))
        return e

    def to_json(self) -> dict[str, Any]:
        """The OpenGraph payload."""
        return {"metadata": {"source_kind": SOURCE_KIND},
                "graph": {"nodes": list(self.nodes.values()), "edges": list(self.edges.values())}}


def _perm_text(p: Permission, world: World) -> str:
    risks = ",".join(sorted(r.value for r in p.risks))
    types = "*" if p.types is None else ",".join(sorted(t.value for t in p.types))
    ids = "" if p.ids is None else ":" + ",".join(sorted(world.resources[i].name for i in p.ids))
    return f"{p.system.value}:{risks}:{types}{ids}"


def _resource(g: Graph, world: World, r: Resource) -> str:
    kinds = [RESOURCE_KINDS[r.type.value], "SimenvResource"] + (["SimenvAWSAdmin"] if r.name == ADMIN_ROLE else [])
    return g.node(g.res_id(r.name), kinds, name=r.name, system=r.system.value, type=r.type.value,
                  sensitivity=r.sensitivity, tenant=r.tenant or None, marks=sorted(r.marks) or None,
                  permissions=[_perm_text(p, world) for p in r.permissions] or None)


def add_world(g: Graph, world: World, estate: EstateFile | None = None) -> None:
    """The identities, resources and grants of ``world`` (as built, before any episode changes it)."""
    principals = estate.by_name() if estate is not None else {}
    for i in world.identities:
        p = principals.get(i.name)
        kinds = [IDENTITY_KINDS[i.kind.value], "SimenvIdentity"] + ([AWS_KINDS[p.type]] if p else [])
        g.node(g.ident_id(i.name), kinds, name=i.name, kind=i.kind.value, purpose=i.purpose or None,
               spiffe_id=i.spiffe_id or None, trust_tier=i.trust_tier, tenant=i.tenant or None,
               arn=p.arn if p else None, admin=p.admin if p else None, sensitivity=p.sensitivity if p else None,
               rule=p.rule if p else None)
    for r in world.resources:
        _resource(g, world, r)
    for i in world.identities:
        if i.owner is not None:
            g.edge("SimenvOwns", g.ident_id(world.identities[i.owner].name), g.ident_id(i.name))
        if i.acts_as is not None:
            g.edge("SimenvActsAs", g.ident_id(i.name), g.ident_id(world.identities[i.acts_as].name))
    for r in world.resources:
        rid = g.res_id(r.name)
        if r.owner is not None:
            g.edge("SimenvOwns", g.ident_id(world.identities[r.owner].name), rid)
        for role in r.roles:
            g.edge("SimenvGroupRole", rid, g.res_id(world.resources[role].name))
        if r.yields is not None:
            g.edge("SimenvYields", rid, g.ident_id(world.identities[r.yields].name),
                   via=sorted(x.value for x in r.yields_via))
        for perm in r.permissions:
            for target in sorted(perm.ids or ()):
                e = g.edge("SimenvCan", rid, g.res_id(world.resources[target].name), system=perm.system.value)
                e["properties"]["risks"] = sorted(set(e["properties"].get("risks", [])) | {x.value for x in perm.risks})
    for ident in sorted(world.by_identity):
        for res in sorted(world.by_identity[ident]):
            grant(g, world, ident, res)
    if estate is not None:
        add_escalations(g, estate)


def grant(g: Graph, world: World, identity: int, resource: int, **props: Any) -> dict[str, Any]:
    """The grant edge of ``identity`` holding ``resource``."""
    r = world.resources[resource]
    return g.edge(GRANT_KINDS.get(r.type.value, "SimenvHolds"), g.ident_id(world.identities[identity].name),
                  g.res_id(r.name), **props)


def add_estate(g: Graph, estate: EstateFile) -> None:
    """An estate file's principals, ``aws-admin`` and escalation edges (no world: nothing else is in the file)."""
    g.node(g.res_id(ADMIN_ROLE), ["SimenvRole", "SimenvResource", "SimenvAWSAdmin"], name=ADMIN_ROLE,
           system="cloud", type="role", description="AdministratorAccess: allowed * on every resource")
    for p in estate.principals:
        g.node(g.ident_id(p.name), [IDENTITY_KINDS[p.kind], "SimenvIdentity", AWS_KINDS[p.type]], name=p.name,
               kind=p.kind, arn=p.arn, type=p.type, admin=p.admin, sensitivity=p.sensitivity, rule=p.rule,
               services=list(p.services))
    add_escalations(g, estate)


def add_escalations(g: Graph, estate: EstateFile) -> None:
    """The escalation edges of ``estate`` between its principals (and ``aws-admin``), one per method and pair."""
    of_type = {w: [p.name for p in estate.principals if p.type == k] for k, w in EVERY.items()}
    for p in estate.principals:
        if p.admin:
            g.edge("SimenvIsAdmin", g.ident_id(p.name), g.res_id(ADMIN_ROLE), rule=p.rule)
    for e in estate.escalations:
        for dst, every in _targets(e, of_type):
            end = g.res_id(ADMIN_ROLE) if dst == ADMIN else g.ident_id(dst)
            edge = g.edge(method_kind(e.method), g.ident_id(e.src), end, escalation=True, method=e.method,
                          rhino=e.rhino, pathfinding=e.pathfinding, every=every)
            props = edge["properties"]
            if e.via:
                props["via"] = sorted(set(props.get("via", [])) | {e.via})
            props["conditional"] = props.get("conditional", True) and e.conditional


def _targets(e: EscalationSpec, of_type: dict[str, list[str]]) -> Iterable[tuple[str, str | None]]:
    if e.to in of_type:
        return [(n, e.to) for n in of_type[e.to] if n != e.src]
    return [(e.to, None)]


def estate_graph(estate: EstateFile) -> dict[str, Any]:
    """The OpenGraph payload of an estate file."""
    g = Graph(f"aws:{estate.source.account}")
    add_estate(g, estate)
    return g.to_json()
