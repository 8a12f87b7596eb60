"""Escalation reachability: what a credential can reach, weighted by sensitivity.

The escalation graph (cf. Principal Mapper) follows only edges that some tool of the catalog
can exercise (:data:`simenv.world.tools.Escalation`):

* ``grant`` / ``assume``: a permission with a tool's risk class on a system's resources of the
  tool's target type gives what holding those resources grants (:meth:`World.held`): assign
  yourself a role (``idp_assign_role``, ``cloud_attach_role``), join a group
  (``idp_add_member``), grant yourself a table (``db_grant_access``), assume a role
  (``cloud_assume_role``);
* ``yield``: acting on a resource that stands for another identity, with a tool whose risk class
  is one of the resource's ``yields_via``, gives that identity's permissions (read a secret that
  is its password, export a key, mint a pipeline's token, invoke an agent);
* ``leak``: reading a resource into which a secret was pasted gives the secret's identity.

A permission no tool can exercise reaches nothing beyond itself: reading vault keys (no tool
reads a key) or granting database roles (no tool assigns one) is not an escalation path.

:func:`closure` follows these edges from a set of permission atoms to a fixed point, and
:class:`Coverage` weighs the resources the result can touch without enumerating them: a
whole-system atom costs one look-up of the system's precomputed weight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simenv.frozen import fast_init
from simenv.types import ResourceType, RiskClass, System
from simenv.world.catalog import TOOLS
from simenv.world.model import Credential, Permission, Resource, canonical, intersect
from simenv.world.state import World


@dataclass(frozen=True, slots=True)
class Edge:
    """A kind of escalation step some tool can take: its risk class, on resources of a type of a system."""

    system: System
    risk: RiskClass
    rtype: ResourceType
    kind: str


EDGES: dict[System, tuple[Edge, ...]] = {
    s: tuple(Edge(t.system, t.risk, ResourceType(t.target.kind), t.escalates) for t in TOOLS
             if t.escalates and t.system is s)
    for s in System
}
"""The exercisable escalation steps, per system, derived from the tool catalog."""


@fast_init
@dataclass(frozen=True, slots=True)
class Coverage:
    """A set of resources: whole systems, (system, type) slices and single ids.

    Always normal: a slice never lies in a covered system and an id never lies in a covered
    system or slice, so equal sets of resources have equal coverages (and equal audit records).
    """

    systems: frozenset[System] = frozenset()
    slices: frozenset[tuple[System, ResourceType]] = frozenset()
    ids: frozenset[int] = frozenset()

    @staticmethod
    def make(world: World, systems: Iterable[System] = (), slices: Iterable[tuple[System, ResourceType]] = (),
             ids: Iterable[int] = ()) -> Coverage:
        """The normal coverage of the given parts."""
        sy = frozenset(systems)
        sl = frozenset(st for st in slices if st[0] not in sy)
        if not sy and not sl:  # single ids only (most labels): nothing covers them
            return Coverage(sy, sl, frozenset(ids))
        res = world.resources
        keep = frozenset(i for i in ids if res[i].system not in sy and (res[i].system, res[i].type) not in sl)
        return Coverage(sy, sl, keep)

    @staticmethod
    def of(world: World, perms: Iterable[Permission]) -> Coverage:
        """The resources that any of ``perms`` touches."""
        systems: set[System] = set()
        slices: set[tuple[System, ResourceType]] = set()
        ids: set[int] = set()
        for p in perms:
            if p.ids is not None:
                ids.update(p.ids)
            elif p.types is not None:
                slices.update((p.system, t) for t in p.types)
            else:
                systems.add(p.system)
        return Coverage.make(world, systems, slices, ids)

    def union(self, world: World, other: Coverage) -> Coverage:
        """The union of two coverages."""
        return Coverage.make(world, self.systems | other.systems, self.slices | other.slices, self.ids | other.ids)

    def contains(self, res: Resource) -> bool:
        """Whether ``res`` is covered."""
        return res.system in self.systems or (res.system, res.type) in self.slices or res.idx in self.ids

    def weight(self, world: World) -> float:
        """Sum of sensitivity over the covered resources, each counted once."""
        # three sums added in this order (the same float whichever parts are empty: an empty sum is 0)
        total = sum(world.system_weight[s] for s in sorted(self.systems)) if self.systems else 0
        total += sum(world.type_weight.get(st, 0.0) for st in sorted(self.slices)) if self.slices else 0
        total += sum(world.resources[i].sensitivity for i in sorted(self.ids)) if self.ids else 0
        return round(total, 6)

    def to_json(self, world: World) -> dict:
        """A JSON form that names resources and carries their weights, for the audit log."""
        return {
            "systems": sorted(str(s) for s in self.systems),
            "slices": sorted(f"{s}/{t}" for s, t in self.slices),
            "ids": {
                world.resources[i].name: [str(world.resources[i].system), str(world.resources[i].type),
                                          world.resources[i].sensitivity]
                for i in sorted(self.ids)
            },
        }


_EVERYTHING = frozenset(Permission(s, frozenset(RiskClass)) for s in System)
_WHOLE = Coverage(systems=frozenset(System))


def closure(world: World, perms: Iterable[Permission]) -> frozenset[Permission]:
    """Every permission obtainable from ``perms`` by following exercisable escalation edges.

    The result is the least fixed point, whatever order the atoms are visited in; when every
    risk class on every system is reached it is exactly the whole-estate atoms. Remembered with
    the identities whose permissions it took (:meth:`World.closure_memos`), so that a grant
    change elsewhere leaves it valid.
    """
    key = perms if isinstance(perms, frozenset) else frozenset(perms)
    for memo in world.closure_memos():
        hit = memo.get(key)
        if hit is not None and world.unchanged_since(hit[1], hit[2]):
            return hit[0]
    result, took = _closure(world, key)
    world.remember_closure(key, result, took)
    return result


def closure_coverage(world: World, perms: Iterable[Permission]) -> Coverage:
    """``Coverage.of(world, closure(world, perms))``; the coverage of a closure is remembered per template."""
    reached = closure(world, perms)
    memo = world.static_memo("closure_coverage")
    hit = memo.get(reached)
    if hit is None:
        hit = memo[reached] = Coverage.of(world, reached)
    return hit


def _closure(world: World, perms: frozenset[Permission]) -> tuple[frozenset[Permission], frozenset[int]]:
    """The closure of ``perms``, and the identities whose permissions it took (what it depends on of the grants)."""
    seen: set[Permission] = set()
    stack = list(canonical(perms))
    yielded: set[int] = set()
    whole: set[System] = set()  # systems on which every risk class is held: nothing more to gain there
    resources = world.resources
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        risks, types = p.risks, p.types
        if p.ids is None and types is None and len(risks) == len(RiskClass):
            whole.add(p.system)
            if len(whole) == len(System):
                return _EVERYTHING, frozenset(yielded)
        for risk, rtype in _GRANTS[p.system]:
            if risk not in risks or (types is not None and rtype not in types):
                continue
            if p.ids is None:
                stack.extend(world.type_grants.get((p.system, rtype), frozenset()) - seen)
            else:
                for i in p.ids:
                    if resources[i].type is rtype:
                        stack.extend(world.held(resources[i]))
        for ridx, via, ident, leaked in world.edges_of(p.system):
            if ident in yielded:
                continue
            res = resources[ridx]
            if risks.isdisjoint(_exercised_by(p.system, res.type, via, leaked)):
                continue
            if p.covers_resource(res):
                yielded.add(ident)
                stack.extend(world.permissions(ident))
    return frozenset(seen), frozenset(yielded)


_GRANTS: dict[System, tuple[tuple[RiskClass, ResourceType], ...]] = {
    s: tuple((e.risk, e.rtype) for e in EDGES[s] if e.kind in ("grant", "assume")) for s in System}
"""Per system, the ``grant`` and ``assume`` steps: the risk class they need and the type of resource they act on."""
_EXERCISED: dict[tuple[System, ResourceType, frozenset[RiskClass], bool], frozenset[RiskClass]] = {}


def _exercised_by(system: System, rtype: ResourceType, via: frozenset[RiskClass], leaked: bool) -> frozenset[RiskClass]:
    """The risk classes with which some tool takes a ``yield`` edge (or a ``leak``) of a resource of ``rtype``.

    A function of the tool catalog alone, remembered per kind of edge (a few dozen at most).
    """
    key = (system, rtype, via, leaked)
    hit = _EXERCISED.get(key)
    if hit is None:
        kind = "leak" if leaked else "yield"
        hit = _EXERCISED[key] = frozenset(e.risk for e in EDGES[system]
                                          if e.kind == kind and e.rtype is rtype and (leaked or e.risk in via))
    return hit


def credential_perms(world: World, cred: Credential) -> frozenset[Permission]:
    """The permission atoms a credential directly carries (scope ∩ identity, roughly)."""
    base = _EVERYTHING if cred.superuser else world.permissions(cred.represents)
    if cred.scope is None:
        return base
    return frozenset(intersect(base, cred.scope))


def potential_blast_radius(world: World, cred: Credential) -> tuple[Coverage, float]:
    """What ``cred`` could reach through escalation, and its sensitivity-weighted size."""
    if cred.superuser and cred.scope is None:  # the whole estate: what it weighs never changes
        memo = world.static_memo("superuser")
        hit = memo.get(None)
        if hit is None:
            hit = memo[None] = (_WHOLE, _WHOLE.weight(world))
        return hit
    cov = closure_coverage(world, credential_perms(world, cred))
    return cov, cov.weight(world)
