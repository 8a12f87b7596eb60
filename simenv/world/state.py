"""The mutable world: grants, resource attributes and credentials over a static estate.

Only the simulation layer (:mod:`simenv.sim`) calls :meth:`World.apply`, and only after an
allow decision. Every ``apply`` returns the inverse change, and applying the inverses in
reverse order restores the identical :meth:`World.fingerprint`; :meth:`World.apply_all`
applies a list of changes all or nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from simenv.errors import SimenvError
from simenv.types import CredId, IdentityKind, ResourceType, RiskClass, System
from simenv.world.changes import STATUSES, AttrChange, Change, CredChange, GrantChange, StatusChange
from simenv.world.model import Credential, DoneWhen, Identity, Permission, Resource


def _canon(value: Any) -> Any:
    """A JSON-able, order-independent form of ``value`` for fingerprints."""
    if isinstance(value, (set, frozenset)):  # order by content, never by hash or repr of a set
        return sorted((_canon(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if type(value) is Permission:
        return _permission(value)
    if hasattr(value, "__dataclass_fields__"):
        return {f: _canon(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, str):  # StrEnum members included
        return str(value)
    return value


@functools.lru_cache(maxsize=4096)
def _permission(p: Permission) -> dict[str, Any]:
    """``_canon`` of a permission atom, made once per atom in a process (credentials carry the same few atoms).

    Keyed by the atom's own value (a frozen dataclass of frozensets), so that what it holds is what any episode
    would compute; the dicts it hands out are read (written into a digest's JSON), never changed.
    """
    return {f: _canon(getattr(p, f)) for f in p.__dataclass_fields__}


def digest(obj: Any, *, plain: bool = False) -> str:
    """SHA-256 of the canonical JSON of ``obj``.

    ``plain``: ``obj`` holds only dicts with string keys, lists, tuples, strings (``StrEnum``
    members included), numbers and ``None``, for which the canonical form is the JSON
    ``json.dumps`` writes anyway (the same bytes, without walking it in Python first).
    """
    blob = json.dumps(obj if plain else _canon(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


T = TypeVar("T")

_READ = frozenset({RiskClass.READ})
_RW = frozenset({RiskClass.READ, RiskClass.WRITE})
_DIRECT = (ResourceType.TABLE, ResourceType.PIPELINE, ResourceType.SECRET)


class World:
    """The estate and its current state.

    What never changes (identities, resources, their indexes, weights and escalation edges, the
    digest of the initial estate) is computed once, in the constructor; :meth:`fresh` gives a new
    world in the initial state that shares it, at the cost of copying a few dicts. Grants are held
    copy-on-write (frozensets replaced on change), so a fresh world never shares a set it could
    change with its template.

    Args:
        trust_domain: the SPIFFE trust domain.
        identities: every identity, ``identities[i].idx == i``.
        resources: every resource, ``resources[r].idx == r``.
        grants: the standing grants ``(identity, resource)`` at build time.
        attrs: initial resource attributes ``{(resource, key): value}``.
        legacy: systems that support no ephemeral credentials.
    """

    def __init__(
        self,
        trust_domain: str,
        identities: Iterable[Identity],
        resources: Iterable[Resource],
        grants: Iterable[tuple[int, int]],
        attrs: dict[tuple[int, str], Any] | None = None,
        legacy: frozenset[System] = frozenset(),
    ):
        self.trust_domain = trust_domain
        self.legacy = legacy
        self.identities: tuple[Identity, ...] = tuple(identities)
        self.resources: tuple[Resource, ...] = tuple(resources)
        self.ident_index = {i.name: i.idx for i in self.identities}
        self.res_index = {r.name: r.idx for r in self.resources}
        by_identity: defaultdict[int, list[int]] = defaultdict(list)  # no throwaway set per grant, as setdefault made
        by_resource: defaultdict[int, list[int]] = defaultdict(list)
        for i, r in grants:
            by_identity[i].append(r)
            by_resource[r].append(i)
        self._initial: tuple[dict[int, frozenset[int]], dict[int, frozenset[int]], dict[tuple[int, str], Any]] = (
            {k: frozenset(v) for k, v in by_identity.items()}, {k: frozenset(v) for k, v in by_resource.items()},
            dict(attrs or {}))
        self._start()
        self.system_weight: dict[System, float] = {s: 0.0 for s in System}
        self.type_weight: dict[tuple[System, ResourceType], float] = {}
        self.by_system: dict[System, list[int]] = {s: [] for s in System}
        self.edges: dict[System, list[tuple[int, frozenset[RiskClass], int]]] = {s: [] for s in System}
        for res in self.resources:
            self.system_weight[res.system] += res.sensitivity
            key = (res.system, res.type)
            self.type_weight[key] = self.type_weight.get(key, 0.0) + res.sensitivity
            self.by_system[res.system].append(res.idx)
            if res.yields is not None:
                self.edges[res.system].append((res.idx, res.yields_via, res.yields))
        # what holding any resource of a (system, type) grants: the escalation closure's whole-slice step
        grants_of: defaultdict[tuple[System, ResourceType], set[Permission]] = defaultdict(set)
        for res in self.resources:
            grants_of[res.system, res.type].update(self.held(res))
        self.type_grants: dict[tuple[System, ResourceType], frozenset[Permission]] = {
            k: frozenset(v) for k, v in grants_of.items()}
        self.total_weight = sum(self.system_weight.values())
        self._base_digest = digest(
            {
                "td": trust_domain,
                "ids": [(i.name, i.kind) for i in self.identities],
                "res": [(r.name, r.type, r.system, r.sensitivity) for r in self.resources],
                "grants": sorted((i, r) for i, rs in self.by_identity.items() for r in rs),
            },
            plain=True,  # names, enums, numbers and tuples of them: a 100,000-identity estate is not walked twice
        )

        self._derived: dict[str, Any] = {}  # shared by every fresh copy: values computed from the estate as built

    def _start(self) -> None:
        """Put the state in its initial form: the grants and attributes built with, no credentials, no statuses."""
        by_identity, by_resource, attrs = self._initial
        self.by_identity: dict[int, frozenset[int]] = dict(by_identity)
        self.by_resource: dict[int, frozenset[int]] = dict(by_resource)
        self.attrs: dict[tuple[int, str], Any] = dict(attrs)
        self.creds: dict[CredId, Credential] = {}
        self._added: set[tuple[int, int]] = set()
        self._removed: set[tuple[int, int]] = set()
        self._perm_cache: dict[int, frozenset[Permission]] = {}
        self.status: dict[str, set[int]] = {s: set() for s in STATUSES}  # identity lifecycle
        self.grant_version = self.status_version = self.attr_version = self._next_cred = 0
        self._changed: dict[int, int] = {}  # identity -> the grant_version of its last grant change
        self._closures: dict[frozenset[Permission], Any] = {}
        self._closures_at = 0
        self._edges_of: dict[System, list[tuple[int, frozenset[RiskClass], int, bool]]] = {}
        self._edges_at = 0

    def fresh(self) -> World:
        """A new world in this world's initial state, sharing everything that never changes.

        The template may itself have changed since it was built: the copy starts from the grants
        and attributes it was constructed with, with no credentials and no statuses.
        """
        w = object.__new__(World)
        w.__dict__.update(self.__dict__)
        w._start()
        return w

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_derived"] = {}  # what engines derived (native handles) is rebuilt, not pickled
        return state

    def derived(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``name`` for this world's template while the world is as built.

        For values that depend only on the estate as it was built (an engine's entity store):
        every fresh copy of the template shares them. Once a grant, a status or an attribute has
        changed, ``compute()`` runs anew and nothing is remembered.
        """
        if self.grant_version or self.status_version or self.attr_version:
            return compute()
        if name not in self._derived:
            self._derived[name] = compute()
        return self._derived[name]

    def static_memo(self, name: str, limit: int = 4096) -> dict[Any, Any]:
        """A memo shared by every fresh copy of this world's template, for values of what never changes.

        For values computed from the identities, resources and weights alone, whatever the state. Once it holds
        ``limit`` entries a throwaway dict is returned instead (so a long process does not grow without bound).
        """
        memo = self._derived.setdefault(name, {})
        return memo if len(memo) < limit else {}

    def closure_memos(self) -> tuple[dict[frozenset[Permission], Any], ...]:
        """The memos of escalation closures (:func:`simenv.world.reach.closure`) to look in.

        A closure depends on the attributes (secrets pasted where readers see them) and on the grants of
        the identities it obtained: each entry keeps those identities and the grant version it was computed
        at (:meth:`unchanged_since`). While the attributes are as built, the template's memo, shared by every
        episode, serves the closures whose identities' grants are as built too; the world's own memo holds
        the rest, and is emptied whenever an attribute changes.
        """
        shared = self.static_memo("closures")
        if not (self.grant_version or self.attr_version):
            return (shared,)
        own = self._own_closures()
        return (own,) if self.attr_version else (own, shared)

    def remember_closure(self, key: frozenset[Permission], result: frozenset[Permission], took: frozenset[int]) -> None:
        """Keep a closure computed now: in the template's memo if it is the one of the estate as built, else here."""
        if not self.attr_version and not any(i in self._changed for i in took):
            self.static_memo("closures")[key] = (result, 0, took)  # it read nothing that differs from the built estate
            return
        self._own_closures()[key] = (result, self.grant_version, took)

    def _own_closures(self) -> dict[frozenset[Permission], Any]:
        """The world's own memo of closures, emptied first if an attribute changed since it was filled."""
        if self.attr_version != self._closures_at:
            self._closures, self._closures_at = {}, self.attr_version
        return self._closures

    def unchanged_since(self, version: int, identities: Iterable[int]) -> bool:
        """Whether none of ``identities`` has had a grant added or removed after grant version ``version``."""
        changed = self._changed
        return all(changed.get(i, 0) <= version for i in identities)

    # ----------------------------------------------------------------- look-ups
    def identity(self, name: str) -> Identity:
        """The identity called ``name``."""
        return self.identities[self.ident_index[name]]

    def resource(self, name: str) -> Resource:
        """The resource called ``name``."""
        return self.resources[self.res_index[name]]

    def owner_name(self, identity: int) -> str | None:
        """The name of an identity's owner, if it has one."""
        owner = self.identities[identity].owner
        return None if owner is None else self.identities[owner].name

    def has_grant(self, identity: int, resource: int) -> bool:
        """Whether ``identity`` holds ``resource``."""
        return resource in self.by_identity.get(identity, ())

    def edges_of(self, system: System) -> list[tuple[int, frozenset[RiskClass], int, bool]]:
        """Escalation edges of ``system``: ``(resource, yields_via, identity, leaked)``.

        The static ``yields`` of its resources, plus secrets pasted where readers see them
        (``leaked``: any reader of the resource obtains the identity).
        """
        if self._edges_at != self.attr_version:  # leaks follow the attributes: recomputed once per change
            self._edges_of, self._edges_at = {}, self.attr_version
        hit = self._edges_of.get(system)
        if hit is None:
            static = [(r, via, ident, False) for r, via, ident in self.edges[system]]
            leaks = [(r, _READ, int(v), True) for (r, k), v in sorted(self.attrs.items())
                     if k == "exposes" and self.resources[r].system is system]
            hit = self._edges_of[system] = static + leaks if leaks else static
        return hit

    def members(self, resource: int) -> list[str]:
        """Names of the identities holding ``resource``, sorted."""
        return sorted(self.identities[i].name for i in self.by_resource.get(resource, ()))

    def agents(self) -> list[Identity]:
        """Every agent identity."""
        return [i for i in self.identities if i.kind is IdentityKind.AGENT]

    def held(self, res: Resource) -> tuple[Permission, ...]:
        """What holding ``res`` grants.

        A role's permissions, a group's roles' permissions, and read and write on a table,
        pipeline or secret held directly.
        """
        perms = list(res.permissions)
        for role in res.roles:
            perms.extend(self.resources[role].permissions)
        if res.type in _DIRECT:
            perms.append(Permission(res.system, _RW, ids=frozenset({res.idx})))
        return tuple(perms)

    def permissions(self, identity: int) -> frozenset[Permission]:
        """Effective permissions of ``identity``: what every resource it holds grants (:meth:`held`)."""
        cached = self._perm_cache.get(identity)
        if cached is not None:
            return cached
        out = frozenset(p for ridx in self.by_identity.get(identity, ()) for p in self.held(self.resources[ridx]))
        self._perm_cache[identity] = out
        return out

    def enabled(self, identity: int) -> bool:
        """Whether ``identity`` is enabled (a disabled identity cannot authenticate)."""
        return identity not in self.status["disabled"]

    def owner_active(self, identity: int) -> bool:
        """Whether ``identity``'s owner is still with the organisation (true when it has none)."""
        owner = self.identities[identity].owner
        return owner is None or owner not in self.status["offboarded"]

    def tenant(self, obj: Identity | Resource) -> str:
        """The trust domain an identity or a resource belongs to."""
        return obj.tenant or self.trust_domain

    def holds(self, d: DoneWhen) -> bool:
        """Whether one completion predicate of a ticket holds now."""
        if d.resource is None:
            raise ValueError(f"completion predicate {d} names no resource")
        if d.kind == "attr":
            return self.attrs.get((d.resource, d.key)) == d.value
        if d.identity is None:
            raise ValueError(f"completion predicate {d} names no identity")
        return self.has_grant(d.identity, d.resource) == (d.kind == "grant")

    def covers(self, cred: Credential, risk: RiskClass, res: Resource, tick: int) -> bool:
        """Whether ``cred`` may natively perform ``risk`` on ``res`` at ``tick``.

        A credential of a disabled identity (held or represented) authenticates nothing.
        """
        if not cred.live(tick):
            return False
        disabled = self.status["disabled"]
        if disabled and (cred.represents in disabled or cred.holder in disabled):
            return False
        if cred.scope is not None and not any(p.matches(risk, res) for p in cred.scope):
            return False
        if cred.superuser:
            return True
        perms = self.permissions(cred.represents)
        memo = self.static_memo("allows")  # a function of the atoms (by value) and the static resource alone
        key = (perms, risk, res.idx)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = any(p.matches(risk, res) for p in perms)
        return hit

    # ----------------------------------------------------------------- mutation
    def new_cred_id(self) -> CredId:
        """A fresh credential id (ids are issued in increasing order)."""
        self._next_cred += 1
        return self._next_cred

    def apply(self, change: Change) -> Change:
        """Apply ``change`` and return its inverse. Raises if it does not fit the state."""
        if isinstance(change, GrantChange):
            key = (change.identity, change.resource)
            held = self.has_grant(*key)
            if held == change.present:
                raise SimenvError(f"grant {key} is already {'present' if held else 'absent'}")
            if change.present:
                self.by_identity[key[0]] = self.by_identity.get(key[0], frozenset()) | {key[1]}
                self.by_resource[key[1]] = self.by_resource.get(key[1], frozenset()) | {key[0]}
                if key in self._removed:
                    self._removed.discard(key)
                else:
                    self._added.add(key)
            else:
                self.by_identity[key[0]] = self.by_identity[key[0]] - {key[1]}
                self.by_resource[key[1]] = self.by_resource[key[1]] - {key[0]}
                if key in self._added:
                    self._added.discard(key)
                else:
                    self._removed.add(key)
            self._perm_cache.pop(key[0], None)  # an identity's permissions follow its own grants alone
            self.grant_version += 1
            self._changed[key[0]] = self.grant_version
        elif isinstance(change, AttrChange):
            k = (change.resource, change.key)
            if self.attrs.get(k) != change.old:
                raise SimenvError(f"attribute {k} is {self.attrs.get(k)!r}, not {change.old!r}")
            if change.new is None:
                self.attrs.pop(k, None)
            else:
                self.attrs[k] = change.new
            self.attr_version += 1
        elif isinstance(change, StatusChange):
            held = change.identity in self.status[change.status]
            if held == change.present:
                raise SimenvError(f"identity {change.identity} is already {'' if held else 'not '}{change.status}")
            (self.status[change.status].add if change.present else self.status[change.status].discard)(change.identity)
            self.status_version += 1
        elif isinstance(change, CredChange):
            if self.creds.get(change.cid) != change.old:
                raise SimenvError(f"credential {change.cid} does not match the change")
            if change.new is None:
                del self.creds[change.cid]
            else:
                self.creds[change.cid] = change.new
        else:  # pragma: no cover - the Change union is closed
            raise TypeError(change)
        return change.inverse()

    def apply_all(self, changes: Iterable[Change]) -> list[Change]:
        """Apply ``changes`` in order, all or nothing; return their inverses in the same order.

        If one does not fit the state, those already applied are undone and the error is raised.
        """
        inverses: list[Change] = []
        try:
            for c in changes:
                inverses.append(self.apply(c))
        except SimenvError:
            for inv in reversed(inverses):
                self.apply(inv)
            raise
        return inverses

    def fingerprint(self) -> str:
        """A stable hash of the whole state (independent of process and PYTHONHASHSEED).

        Its parts are canonical as they are made (sorted, the values through ``_canon``), so the digest takes them
        ``plain``: the same text as walking the whole document again.
        """
        return digest(
            {
                "base": self._base_digest,
                "added": sorted(self._added),
                "removed": sorted(self._removed),
                "attrs": sorted(([r, k], _canon(v)) for (r, k), v in self.attrs.items()),
                "creds": [_canon(self.creds[c]) for c in sorted(self.creds)],
                "status": {k: sorted(v) for k, v in sorted(self.status.items())},
            },
            plain=True,
        )
