"""The published request model: what every authorizer sees, and the decision it returns.

This is the contract for policy authors (see the README's section for them, and
``policies/cedar/simenv.cedarschema``). It holds what a policy may legitimately know at
request time: who is acting, on whose behalf, with which credential, doing what to which
resource, under which ticket and declared scope. It never holds a ticket's ground-truth intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simenv.frozen import fast_init
from simenv.types import Effect


@fast_init
@dataclass(frozen=True, slots=True)
class PrincipalView:
    """An identity as policies see it.

    ``owner_active`` is false once the identity's owner has been offboarded (an orphaned
    non-human identity, OWASP NHI1); ``enabled`` is false while the identity is disabled.
    """

    name: str
    kind: str
    owner: str | None = None
    trust_tier: int = 0
    shared: bool = False
    spiffe_id: str = ""
    tenant: str = ""
    owner_active: bool = True
    enabled: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class ResourceView:
    """A resource as policies see it: ``marks`` label it for approval rules (``break_glass``)."""

    name: str
    type: str
    system: str
    sensitivity: float
    owner: str | None = None
    tenant: str = ""
    marks: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One tool call, as presented to the authorizer.

    Attributes:
        principal: the agent (actor) making the call.
        represents: the identity the credential represents (differs for shared accounts).
        action: the tool name; ``risk`` and ``system`` its risk class and control plane.
        resource: the target resource.
        target_identity: the identity a grant-type call acts on (``None`` otherwise).
        ticket / declared_systems / declared_risks: the ticket and its coarse declared scope.
        in_declared_scope: whether (system, risk) lies in the declared scope.
        approval: ``none``, ``granted`` or ``denied``.
        credential_*: the credential backing the call; ``credential_ttl`` is the ticks it has left.
        credential_covers: whether the credential natively permits the action.
        chain: the RFC 8693 act chain, current actor first.
        justification: the agent's own reason for the call, if it gave one.
        lifetime: for a call that creates a credential with a lifetime the caller chooses, that
            lifetime in ticks (``never`` is 1,000,000,000); ``None`` otherwise.
    """

    principal: PrincipalView
    represents: PrincipalView
    action: str
    risk: str
    system: str
    resource: ResourceView
    target_identity: PrincipalView | None
    ticket: str | None
    declared_systems: tuple[str, ...]
    declared_risks: tuple[str, ...]
    in_declared_scope: bool
    approval: str
    credential_id: str | None
    credential_kind: str | None
    credential_ttl: int | None
    credential_covers: bool
    chain: tuple[str, ...] = ()
    tick: int = 0
    session: int = 0
    args: dict[str, str] = field(default_factory=dict)
    justification: str | None = None
    lifetime: int | None = None

    @property
    def cross_tenant(self) -> bool:
        """Whether the target belongs to another tenant (trust domain) than the caller."""
        return self.principal.tenant != self.resource.tenant

    @property
    def chain_depth(self) -> int:
        """The number of actors in the delegation chain behind the current one."""
        return max(0, len(self.chain) - 1)

    @property
    def self_target(self) -> bool:
        """Whether the call acts on the caller itself (or the identity it represents)."""
        t = self.target_identity
        return t is not None and t.name in (self.principal.name, self.represents.name)

    def to_input(self) -> dict[str, Any]:
        """The request as a JSON document: the Rego ``input`` and the basis of Cedar's context."""

        def view(v: Any) -> Any:
            if v is None:
                return None
            return {f: list(x) if isinstance(x := getattr(v, f), tuple) else x for f in v.__dataclass_fields__}

        return {
            "principal": view(self.principal),
            "represents": view(self.represents),
            "action": {"name": self.action, "risk": self.risk, "system": self.system},
            "resource": view(self.resource),
            "target_identity": view(self.target_identity),
            "context": {
                "ticket": self.ticket,
                "declared_systems": list(self.declared_systems),
                "declared_risks": list(self.declared_risks),
                "in_declared_scope": self.in_declared_scope,
                "approval": self.approval,
                "credential": {
                    "id": self.credential_id,
                    "kind": self.credential_kind,
                    "ttl": self.credential_ttl,
                    "covers": self.credential_covers,
                },
                "chain": list(self.chain),
                "chain_depth": self.chain_depth,
                "self_target": self.self_target,
                "cross_tenant": self.cross_tenant,
                "justification": self.justification,
                "lifetime": self.lifetime,
                "tick": self.tick,
                "session": self.session,
                "args": dict(self.args),
            },
        }


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """An authorization decision: the effect, why, and the ids of the policies that decided it."""

    effect: Effect
    reasons: tuple[str, ...] = ()
    policy_ids: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the effect is allow."""
        return self.effect is Effect.ALLOW
