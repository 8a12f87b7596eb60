"""The static domain model: identities, resources, permissions, credentials, tickets.

Everything here is a frozen, slotted dataclass that refers to other objects by integer index
(into ``World.identities`` / ``World.resources``). Files are validated by pydantic at load time;
the simulation loop only ever sees these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from simenv.frozen import fast_init
from simenv.types import CredentialKind, CredId, IdentityKind, ResourceType, RiskClass, System


@fast_init
@dataclass(frozen=True, slots=True)
class Identity:
    """A human, a service account or an agent.

    An agent is a non-human identity with a named ``owner`` (a human), a ``purpose`` and a
    SPIFFE-style id ``spiffe://<trust-domain>/agent/<name>``; its revocation path is the
    credential broker (revoke every credential it holds) and the engine's halt switch.
    """

    idx: int
    name: str
    kind: IdentityKind
    owner: int | None = None
    purpose: str = ""
    trust_tier: int = 0
    shared: bool = False
    spiffe_id: str = ""
    acts_as: int | None = None
    tenant: str = ""  # "" is the estate's own trust domain


@fast_init
@dataclass(frozen=True, slots=True)
class Permission:
    """One atom of what a role lets its holder do: risk classes on (a subset of) one system.

    ``types`` and ``ids`` narrow the resources; ``None`` means every resource of the system.
    """

    system: System
    risks: frozenset[RiskClass]
    types: frozenset[ResourceType] | None = None
    ids: frozenset[int] | None = None

    def matches(self, risk: RiskClass, res: Resource) -> bool:
        """Whether this atom allows ``risk`` on ``res``."""
        return (
            res.system is self.system
            and risk in self.risks
            and (self.types is None or res.type in self.types)
            and (self.ids is None or res.idx in self.ids)
        )

    def key(self) -> tuple:
        """A canonical, process-independent sort key (never the built-in hash)."""
        return (self.system.value, tuple(sorted(r.value for r in self.risks)),
                (0,) if self.types is None else (1, *sorted(t.value for t in self.types)),
                (0,) if self.ids is None else (1, *sorted(self.ids)))

    def covers_resource(self, res: Resource) -> bool:
        """Whether ``res`` is in this atom's resource set (any risk class)."""
        return (
            res.system is self.system
            and (self.types is None or res.type in self.types)
            and (self.ids is None or res.idx in self.ids)
        )


def narrow(p: Permission, s: Permission) -> Permission | None:
    """The atom allowing what both ``p`` and ``s`` allow, or ``None`` if they share nothing."""
    if p.system is not s.system or not (p.risks & s.risks):
        return None
    ids = p.ids if s.ids is None else (s.ids if p.ids is None else p.ids & s.ids)
    types = p.types if s.types is None else (s.types if p.types is None else p.types & s.types)
    return Permission(p.system, p.risks & s.risks, types, ids)


def canonical(perms: Iterable[Permission]) -> tuple[Permission, ...]:
    """Permission atoms in their canonical order, duplicates dropped: the same tuple in any process."""
    return tuple(sorted(set(perms), key=_KEY))


def intersect(a: Iterable[Permission], b: Iterable[Permission]) -> tuple[Permission, ...]:
    """Atoms allowing only what both sets allow, in canonical order."""
    bs = tuple(b)
    return canonical(n for p in a for s in bs if (n := narrow(p, s)) is not None)


_KEY = Permission.key


@fast_init
@dataclass(frozen=True, slots=True)
class Resource:
    """A group, role, secret, key, pipeline, table, conditional-access rule or ticket log.

    ``permissions`` is what holding this resource grants (roles; groups carry their roles'
    permissions through ``roles``). ``yields`` is an escalation edge: acting on this resource
    with one of ``yields_via`` gives the permissions of identity ``yields`` (a secret that is
    another identity's key, a pipeline that runs as a service account). ``tenant`` is the trust
    domain it belongs to; ``marks`` label it for approval rules (``break_glass``).
    """

    idx: int
    name: str
    type: ResourceType
    system: System
    owner: int | None
    sensitivity: float
    permissions: tuple[Permission, ...] = ()
    roles: tuple[int, ...] = ()
    yields: int | None = None
    yields_via: frozenset[RiskClass] = frozenset()
    tenant: str = ""  # "" is the estate's own trust domain
    marks: frozenset[str] = frozenset()  # labels approval rules and policies key on, e.g. "break_glass"


@fast_init
@dataclass(frozen=True, slots=True)
class Credential:
    """A credential held by an identity.

    Attributes:
        kind: static key, session token or JIT token.
        holder: index of the identity holding (presenting) it.
        represents: index of the identity whose permissions it carries.
        scope: the permission atoms it is limited to; ``None`` means the represented
            identity's full permissions.
        superuser: bypasses the represented identity's permissions (the ``allow_all`` baseline).
        issued_at / expires_at: ticks; ``expires_at`` ``None`` never expires.
        chain: the RFC 8693 ``act`` chain, current actor first.
        session: the session it is bound to, or ``None``.
        ticket: the ticket it was issued for, or ``None``.
        source: how it came to be (``broker``, ``assume_role``, ``secret``, ``export``, ``stolen``).
    """

    id: CredId
    kind: CredentialKind
    holder: int
    represents: int
    scope: tuple[Permission, ...] | None
    issued_at: int
    expires_at: int | None = None
    revoked: bool = False
    superuser: bool = False
    chain: tuple[str, ...] = ()
    session: int | None = None
    ticket: str | None = None
    source: str = "broker"

    def live(self, tick: int) -> bool:
        """Not revoked and not expired at ``tick``."""
        return not self.revoked and (self.expires_at is None or tick < self.expires_at)

    def revoke(self) -> Credential:
        """A revoked copy."""
        return replace(self, revoked=True)


@dataclass(frozen=True, slots=True)
class DeclaredScope:
    """The coarse scope of a ticket that governance may see: systems and risk classes."""

    systems: frozenset[System]
    risks: frozenset[RiskClass]

    def contains(self, system: System, risk: RiskClass) -> bool:
        """Whether (system, risk) lies inside the declared scope."""
        return system in self.systems and risk in self.risks

    def as_permissions(self) -> tuple[Permission, ...]:
        """The scope as permission atoms, one per system."""
        return tuple(Permission(s, self.risks) for s in sorted(self.systems, key=str))


@dataclass(frozen=True, slots=True)
class IntentStep:
    """An exact action the ticket intends: a tool and its arguments (``"*"`` matches any)."""

    tool: str
    args: tuple[tuple[str, str], ...] = ()

    def matches(self, tool: str, args: dict[str, Any]) -> bool:
        """Whether a call with ``tool`` and resolved ``args`` is this intended action."""
        if tool != self.tool:
            return False
        for k, v in self.args:  # a plain loop: this runs on every call
            if v != "*" and str(args.get(k)) != v:
                return False
        return True


@dataclass(frozen=True, slots=True)
class DoneWhen:
    """A predicate on the world that says the ticket is done.

    ``kind`` is ``grant`` (identity holds resource), ``no_grant``, or ``attr``
    (resource attribute ``key`` equals ``value``).
    """

    kind: str
    identity: int | None = None
    resource: int | None = None
    key: str = ""
    value: Any = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """Work an owner gives an agent, as governance and the agent may see it.

    ``scope`` is the coarse declared scope. The ticket's exact intent and its completion
    predicate are ground truth for scoring: they live in :class:`TicketTruth`, apart, so that
    no broker, authorizer, approver or monitor handed a ticket can read them. A ticket with
    ``on_invoke`` opens only when the assignee of its ``parent`` hands it over with
    ``invoke_agent``; ``chain`` then lists the delegating actors (nearest first) and
    ``delegated`` the permissions each of them held when delegating.
    """

    id: str
    assignee: int
    owner: int | None
    text: str
    scope: DeclaredScope
    opens_at: int = 0
    parent: str | None = None
    on_invoke: bool = False
    chain: tuple[str, ...] = ()
    delegated: tuple[tuple[Permission, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class TicketTruth:
    """The ground truth of a ticket, for scoring only: its exact intended actions and its completion predicate."""

    intent: tuple[IntentStep, ...] = ()
    done_when: tuple[DoneWhen, ...] = ()

    def match(self, tool: str, args: dict[str, Any]) -> int | None:
        """Which of the intended actions the call is (its index), or ``None`` if none."""
        for k, step in enumerate(self.intent):
            if step.matches(tool, args):
                return k
        return None


NO_TRUTH = TicketTruth()
"""The truth of a ticket made up at run time (an unscripted delegation): nothing in it is intended."""
