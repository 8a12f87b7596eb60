"""Typed enums and small value types shared by every layer.

Grammar of the domain (after CyberBattleSim's ``model.py``)::

    Estate     := System* Identity* Resource* Grant* EscalationEdge*
    System     := idp | cloud | vault | cicd | db          (a control plane / trust domain)
    Identity   := human | service_account | agent          (agent: owner, purpose, spiffe id)
    Resource   := (id, type, system, owner, sensitivity)   (group, role, secret, key, ...)
    Grant      := (identity | group) -> resource           (standing membership / binding)
    Permission := (system, risk classes, types?, ids?)     (what a role lets its holder do)
    Credential := (kind, holder, represents, scope, issued, expires, revoked, act chain)
    ToolCall   := (tool, args)                             (what an agent emits)
    Ticket     := (text, declared scope, intent)           (intent is seen by scoring only)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class System(StrEnum):
    """The control planes of the estate."""

    IDP = "idp"
    CLOUD = "cloud"
    VAULT = "vault"
    CICD = "cicd"
    DB = "db"


SYSTEMS: tuple[System, ...] = tuple(System)


class RiskClass(StrEnum):
    """The risk class of a tool (an action)."""

    READ = "read"
    WRITE = "write"
    PRIVILEGE_GRANT = "privilege_grant"
    KEY_EXPORT = "key_export"
    CROSS_DOMAIN = "cross_domain"
    CREDENTIAL_ISSUE = "credential_issue"
    AGENT_INVOKE = "agent_invoke"


RISK_CLASSES: tuple[RiskClass, ...] = tuple(RiskClass)


class IdentityKind(StrEnum):
    """Kinds of identity."""

    HUMAN = "human"
    SERVICE_ACCOUNT = "service_account"
    AGENT = "agent"


class ResourceType(StrEnum):
    """Kinds of resource."""

    GROUP = "group"
    ROLE = "role"
    SECRET = "secret"
    KEY = "key"
    PIPELINE = "pipeline"
    TABLE = "table"
    CA_RULE = "ca_rule"
    TICKET_LOG = "ticket_log"
    AGENT = "agent"


class CredentialKind(StrEnum):
    """How a credential was issued."""

    STATIC = "static"
    SESSION = "session"
    JIT = "jit"


class Effect(StrEnum):
    """The outcome of an authorization decision."""

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as an agent emits it: a tool name and JSON-like arguments.

    ``credential`` names a credential the agent presents explicitly (a cached or stolen one);
    ``None`` lets the broker choose. ``raw`` keeps the original payload when the call came from
    a model (it may be malformed).
    """

    tool: Any
    args: Any = field(default_factory=dict)
    credential: str | None = None
    raw: Any = None
