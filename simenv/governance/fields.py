"""The fields of the published request model, and requests written by hand.

``FIELDS`` names every dotted path of :meth:`AccessRequest.to_input` that a policy may read,
with its type and the Python expression that reads it straight from an :class:`AccessRequest`
named ``r``: simenv's own text, from which :mod:`simenv.governance.native` compiles a rule set
(so native rules never build the JSON document, and a policy file's text never enters the code).
``context.args.<name>`` reads one tool argument.

:class:`RequestDoc` is a request as a policy author writes it (``simenv test`` cases): the
shape of ``to_input()``, every field optional except ``action.name``, with these defaults::

    principal:       {name: agent-1, kind: agent, owner: null, trust_tier: 0, shared: false, spiffe_id: "",
                      tenant: corp.example, owner_active: true, enabled: true}
    represents:      the principal
    action:          {name: <required, a tool of the catalog>, risk/system: the tool's}
    resource:        {name: resource-1, type: the tool's target type, system: the tool's, sensitivity: 1.0, owner: null,
                      tenant: corp.example, marks: []}
    target_identity: null
    context:         {ticket: T-1, declared_systems: [], declared_risks: [], in_declared_scope: true,
                      approval: none, credential: {id: cred-1, kind: jit, ttl: 60, covers: true},
                      chain: [principal.name], tick: 0, session: 0, args: {}, justification: null, lifetime: null}

``context.chain_depth: n`` (without ``chain``) makes a chain of ``n + 1`` actors;
``context.self_target: true`` (without ``target_identity``) targets the principal itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simenv.governance.bounds import LONG_MAX, LONG_MIN, SENSITIVITY_MAX, sensitivity_problem
from simenv.governance.request import AccessRequest, PrincipalView, ResourceView
from simenv.types import IdentityKind
from simenv.world.catalog import CATALOG

DEFAULT_TENANT = "corp.example"
# type tags: str, int, float, bool, list (of str); a trailing "?" means the value may be null
_PRINCIPAL = {"name": "str", "kind": "str", "owner": "str?", "trust_tier": "int", "shared": "bool", "spiffe_id": "str",
              "tenant": "str", "owner_active": "bool", "enabled": "bool"}
_RESOURCE = {"name": "str", "type": "str", "system": "str", "sensitivity": "float", "owner": "str?", "tenant": "str",
             "marks": "list"}
_CONTEXT: dict[str, tuple[str, str]] = {  # path under context → (type tag, attribute of AccessRequest)
    "ticket": ("str?", "ticket"),
    "declared_systems": ("list", "declared_systems"),
    "declared_risks": ("list", "declared_risks"),
    "in_declared_scope": ("bool", "in_declared_scope"),
    "approval": ("str", "approval"),
    "credential.id": ("str?", "credential_id"),
    "credential.kind": ("str?", "credential_kind"),
    "credential.ttl": ("int?", "credential_ttl"),
    "credential.covers": ("bool", "credential_covers"),
    "chain": ("list", "chain"),
    "chain_depth": ("int", "chain_depth"),
    "self_target": ("bool", "self_target"),
    "cross_tenant": ("bool", "cross_tenant"),
    "justification": ("str?", "justification"),
    "lifetime": ("int?", "lifetime"),
    "tick": ("int", "tick"),
    "session": ("int", "session"),
}


def _source(view: str | None, attr: str) -> str:
    if view == "target_identity":
        return f"(None if r.target_identity is None else r.target_identity.{attr})"
    return f"r.{attr}" if view is None else f"r.{view}.{attr}"


def _fields() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for view in ("principal", "represents", "target_identity"):
        for attr, typ in _PRINCIPAL.items():
            nullable = view == "target_identity" and not typ.endswith("?")
            out[f"{view}.{attr}"] = (typ + "?" if nullable else typ, _source(view, attr))
    out.update({"action.name": ("str", "r.action"), "action.risk": ("str", "r.risk"),
                "action.system": ("str", "r.system")})
    out.update({f"resource.{attr}": (typ, _source("resource", attr)) for attr, typ in _RESOURCE.items()})
    out.update({f"context.{k}": (typ, _source(None, attr)) for k, (typ, attr) in _CONTEXT.items()})
    return out


FIELDS: dict[str, tuple[str, str]] = _fields()
ARGS_PREFIX = "context.args."


# --------------------------------------------------------------------------- hand-written requests
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PrincipalDoc(_Strict):
    """An identity (principal, represents, target_identity)."""

    name: str = "agent-1"
    kind: Literal["human", "service_account", "agent"] = "agent"
    owner: str | None = None
    trust_tier: int = Field(default=0, ge=0, le=LONG_MAX)
    shared: bool = False
    spiffe_id: str = ""
    tenant: str = DEFAULT_TENANT
    owner_active: bool = True
    enabled: bool = True


class ActionDoc(_Strict):
    """The tool; ``risk`` and ``system`` default to (and must match) the catalog's."""

    name: str
    risk: str | None = None
    system: str | None = None


class ResourceDoc(_Strict):
    """The target resource."""

    name: str = "resource-1"
    type: str | None = None
    system: str | None = None
    sensitivity: float = Field(default=1.0, ge=0.0, le=SENSITIVITY_MAX, allow_inf_nan=False)
    owner: str | None = None
    tenant: str = DEFAULT_TENANT
    marks: list[str] = Field(default_factory=list)


class CredentialDoc(_Strict):
    """The credential backing the call."""

    id: str | None = "cred-1"
    kind: Literal["static", "session", "jit"] | None = "jit"
    ttl: int | None = Field(default=60, ge=LONG_MIN, le=LONG_MAX)
    covers: bool = True


class ContextDoc(_Strict):
    """The request context."""

    ticket: str | None = "T-1"
    declared_systems: list[str] = Field(default_factory=list)
    declared_risks: list[str] = Field(default_factory=list)
    in_declared_scope: bool = True
    approval: Literal["none", "granted", "denied"] = "none"
    credential: CredentialDoc = CredentialDoc()
    chain: list[str] | None = None
    chain_depth: int | None = Field(default=None, ge=0, le=1000)
    self_target: bool | None = None
    cross_tenant: bool | None = None
    justification: str | None = None
    lifetime: int | None = Field(default=None, ge=1, le=LONG_MAX)
    tick: int = Field(default=0, ge=LONG_MIN, le=LONG_MAX)
    session: int = Field(default=0, ge=LONG_MIN, le=LONG_MAX)
    args: dict[str, str] = Field(default_factory=dict)


class RequestDoc(_Strict):
    """A request in the shape of ``AccessRequest.to_input()``, with defaults."""

    principal: PrincipalDoc = PrincipalDoc()
    represents: PrincipalDoc | None = None
    action: ActionDoc
    resource: ResourceDoc = ResourceDoc()
    target_identity: PrincipalDoc | None = None
    context: ContextDoc = ContextDoc()

    def build(self) -> tuple[AccessRequest | None, list[tuple[str, str]]]:
        """The :class:`AccessRequest`, or ``None`` and ``(field, message)`` problems."""
        problems: list[tuple[str, str]] = []
        spec = CATALOG.get(self.action.name)
        if spec is None:
            return None, [("action.name", f"unknown tool {self.action.name!r}; known: {', '.join(sorted(CATALOG))}")]
        risk, system = str(spec.risk), str(spec.system)
        if (why := sensitivity_problem(self.resource.sensitivity)) is not None:
            problems.append(("resource.sensitivity", why))
        for key, given, want in (("action.risk", self.action.risk, risk), ("action.system", self.action.system, system)):
            if given is not None and given != want:
                problems.append((key, f"{self.action.name} has {key.split('.')[1]} {want!r}, not {given!r}"))
        p = _principal(self.principal)
        ctx = self.context
        target = _principal(self.target_identity) if self.target_identity else None
        if ctx.self_target and target is None:
            target = p
        chain = tuple(ctx.chain) if ctx.chain is not None else (
            (p.name, *(f"actor-{i}" for i in range(1, (ctx.chain_depth or 0) + 1))))
        req = AccessRequest(
            principal=p,
            represents=_principal(self.represents) if self.represents else p,
            action=spec.name, risk=risk, system=system,
            resource=ResourceView(self.resource.name, self.resource.type or _target_type(spec), self.resource.system or system,
                                  float(self.resource.sensitivity), self.resource.owner, self.resource.tenant,
                                  tuple(self.resource.marks)),
            target_identity=target, ticket=ctx.ticket,
            declared_systems=tuple(ctx.declared_systems), declared_risks=tuple(ctx.declared_risks),
            in_declared_scope=ctx.in_declared_scope, approval=ctx.approval,
            credential_id=ctx.credential.id, credential_kind=ctx.credential.kind, credential_ttl=ctx.credential.ttl,
            credential_covers=ctx.credential.covers, chain=chain, tick=ctx.tick, session=ctx.session, args=dict(ctx.args),
            justification=ctx.justification, lifetime=ctx.lifetime,
        )
        if ctx.chain_depth is not None and req.chain_depth != ctx.chain_depth:
            why = f"is {ctx.chain_depth} but the chain {list(chain)} has depth {req.chain_depth}"
            problems.append(("context.chain_depth", why))
        if ctx.self_target is not None and req.self_target != ctx.self_target:
            problems.append(("context.self_target", f"is {ctx.self_target} but target_identity says {req.self_target}"))
        if ctx.cross_tenant is not None and req.cross_tenant != ctx.cross_tenant:
            problems.append(("context.cross_tenant", f"is {ctx.cross_tenant} but the tenants of principal and resource "
                                                     f"say {req.cross_tenant}"))
        return (None, problems) if problems else (req, [])


def _principal(d: PrincipalDoc) -> PrincipalView:
    return PrincipalView(d.name, str(IdentityKind(d.kind)), d.owner, d.trust_tier, d.shared, d.spiffe_id, d.tenant,
                         d.owner_active, d.enabled)


def _target_type(spec: Any) -> str:
    kinds = [p.kind for p in spec.params if p.kind not in ("identity", "text", "lifetime")]
    return str(kinds[0]) if kinds else "resource"

