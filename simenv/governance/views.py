"""What governance sees: a read-only view of the estate, and the access requests built from it.

Brokers, authorizers, approvers and monitors never receive the mutable
:class:`~simenv.world.state.World`, nor a ticket's ground truth (its exact intent lives in
:class:`~simenv.world.model.TicketTruth`, which only scoring reads). They receive an
:class:`EstateView`: the identities, resources and credentials of the estate, the permissions
they carry, and the one thing a broker needs to do, allocate a fresh credential id. Every change
a broker wants is returned as data and applied by the engine.

:class:`RequestBuilder` turns a resolved call into the published :class:`AccessRequest`; it
keeps the views of identities and resources it has built (their attributes never change during
an episode), so a call costs a few attribute reads. A view's sensitivity is canonical (rounded to
the four places of Cedar's decimal, :func:`simenv.governance.bounds.canonical_sensitivity`), so
every engine compares the same number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from simenv.governance.bounds import canonical_sensitivity
from simenv.governance.request import AccessRequest, PrincipalView, ResourceView
from simenv.types import CredId, RiskClass, System, cred_label
from simenv.world.catalog import ResolvedCall
from simenv.world.model import Credential, Identity, Permission, Resource, Ticket
from simenv.world.state import World

T = TypeVar("T")


class EstateView:
    """A read-only view of one episode's estate.

    Attributes:
        identities: every identity, ``identities[i].idx == i``.
        resources: every resource, ``resources[r].idx == r``.
        ident_index / res_index: names to indices.
        creds: every credential, by id (a live, read-only mapping).
        legacy: systems that support no ephemeral credentials.
        trust_domain: the estate's SPIFFE trust domain.
    """

    __slots__ = ("_world", "identities", "resources", "ident_index", "res_index", "creds", "legacy", "trust_domain")

    def __init__(self, world: World):
        self._world = world
        self.identities: tuple[Identity, ...] = world.identities
        self.resources: tuple[Resource, ...] = world.resources
        self.ident_index: Mapping[str, int] = MappingProxyType(world.ident_index)
        self.res_index: Mapping[str, int] = MappingProxyType(world.res_index)
        self.creds: Mapping[CredId, Credential] = MappingProxyType(world.creds)
        self.legacy: frozenset[System] = world.legacy
        self.trust_domain: str = world.trust_domain

    def __reduce__(self) -> tuple[type[EstateView], tuple[World]]:
        return EstateView, (self._world,)  # pickles as the world it views (read-only proxies do not pickle)

    def name(self, identity: int) -> str:
        """The name of identity ``identity``."""
        return self.identities[identity].name

    def owner_name(self, identity: int) -> str | None:
        """The name of an identity's owner, if it has one."""
        return self._world.owner_name(identity)

    def derived(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, computed once for every episode of this estate while it is as built.

        For what an authorizer derives from the estate alone (an entity store), so that an
        episode's ``prepare`` costs nothing after the first. ``compute`` must read only the estate
        and return a value no one changes; once anything in the world has changed it runs each time.
        """
        return self._world.derived(name, compute)

    def owner_active(self, identity: int) -> bool:
        """Whether the identity's owner is still with the organisation (true when it has none)."""
        return self._world.owner_active(identity)

    def enabled(self, identity: int) -> bool:
        """Whether the identity is enabled."""
        return self._world.enabled(identity)

    def tenant(self, obj: Identity | Resource) -> str:
        """The trust domain of an identity or a resource."""
        return self._world.tenant(obj)

    @property
    def status_version(self) -> int:
        """Grows each time an identity's lifecycle status changes."""
        return self._world.status_version

    def has_grant(self, identity: int, resource: int) -> bool:
        """Whether ``identity`` holds ``resource``."""
        return self._world.has_grant(identity, resource)

    def permissions(self, identity: int) -> frozenset[Permission]:
        """Effective standing permissions of ``identity``."""
        return self._world.permissions(identity)

    def covers(self, cred: Credential, risk: RiskClass, res: Resource, tick: int) -> bool:
        """Whether ``cred`` may natively perform ``risk`` on ``res`` at ``tick``."""
        return self._world.covers(cred, risk, res, tick)

    def new_cred_id(self) -> CredId:
        """Allocate the id of a credential a broker is about to issue (the engine applies the issue)."""
        return self._world.new_cred_id()


class RequestBuilder:
    """Builds the access request of a call, keeping the views of identities, resources and tickets it made."""

    def __init__(self, estate: EstateView):
        self.estate = estate
        self._principals: dict[int, PrincipalView] = {}
        self._resources: dict[int, ResourceView] = {}
        self._declared: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._status_version = estate.status_version

    def principal(self, identity: int) -> PrincipalView:
        """An identity as policies see it (its lifecycle status as of now)."""
        e = self.estate
        if e.status_version != self._status_version:  # an identity was disabled or an owner offboarded
            self._principals.clear()
            self._status_version = e.status_version
        view = self._principals.get(identity)
        if view is None:
            i = e.identities[identity]
            view = self._principals[identity] = PrincipalView(
                i.name, str(i.kind), e.owner_name(identity), i.trust_tier, i.shared, i.spiffe_id, e.tenant(i),
                e.owner_active(identity), e.enabled(identity))
        return view

    def resource(self, res: Resource) -> ResourceView:
        """A resource as policies see it."""
        view = self._resources.get(res.idx)
        if view is None:
            owner = self.estate.identities[res.owner].name if res.owner is not None else None
            view = self._resources[res.idx] = ResourceView(res.name, str(res.type), str(res.system),
                                                           canonical_sensitivity(res.sensitivity), owner,
                                                           self.estate.tenant(res), tuple(sorted(res.marks)))
        return view

    def declared(self, ticket: Ticket | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A ticket's declared systems and risk classes as sorted names."""
        if ticket is None:
            return (), ()
        names = self._declared.get(ticket.id)
        if names is None:
            names = self._declared[ticket.id] = (tuple(sorted(map(str, ticket.scope.systems))),
                                                 tuple(sorted(map(str, ticket.scope.risks))))
        return names

    def request(self, agent: int, call: ResolvedCall, cred: Credential, ticket: Ticket | None, tick: int,
                session: int, approval: str = "none", justification: str | None = None) -> AccessRequest:
        """The access request for ``call`` made by ``agent`` and backed by ``cred``."""
        spec = call.spec
        target_ident = call.args[spec.identity_param] if spec.identity_param else None
        systems, risks = self.declared(ticket)
        return AccessRequest(
            principal=self.principal(agent),
            represents=self.principal(cred.represents),
            action=spec.name,
            risk=str(spec.risk),
            system=str(spec.system),
            resource=self.resource(call.target),
            target_identity=self.principal(target_ident) if target_ident is not None else None,
            ticket=ticket.id if ticket else None,
            declared_systems=systems,
            declared_risks=risks,
            in_declared_scope=bool(ticket and ticket.scope.contains(spec.system, spec.risk)),
            approval=approval,
            credential_id=cred_label(cred.id),
            credential_kind=str(cred.kind),
            credential_ttl=None if cred.expires_at is None else cred.expires_at - tick,
            credential_covers=self.estate.covers(cred, spec.risk, call.target, tick),
            chain=(self.estate.identities[agent].name, *(ticket.chain if ticket else ())),
            tick=tick,
            session=session,
            args=dict(call.names),
            justification=justification,
            lifetime=call.args[spec.lifetime_param] if spec.lifetime_param else None,
        )
