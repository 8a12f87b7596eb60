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
    """A decision: what an authorizer answers, or the engine's ``invalid`` for a malformed call.

    Authorizers answer only :data:`AUTHORIZER_EFFECTS`; ``invalid`` is the engine's schema check,
    made before any authorizer sees the call.
    """

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"
    INVALID = "invalid"


AUTHORIZER_EFFECTS: tuple[Effect, ...] = (Effect.ALLOW, Effect.DENY, Effect.REQUIRE_APPROVAL)


class Outcome(StrEnum):
    """What became of a tool call (the ``effect`` of its record)."""

    APPLIED = "applied"  # executed and changed the world
    NOOP = "noop"  # executed; nothing needed changing (a read, or a change already in place)
    DELEGATED = "delegated"  # executed: the work was handed to another agent
    PENDING = "pending"  # waits for an approver
    DENIED = "denied"  # the authorizer or the approver said no
    REFUSED = "refused"  # the broker had no usable credential for it
    FORBIDDEN = "forbidden"  # allowed, but the system's own check refused the credential
    UNRESOLVED = "unresolved"  # the episode ended before the approver answered
    INVALID = "invalid"  # malformed: unknown tool, bad arguments, unknown credential


EXECUTED: frozenset[Outcome] = frozenset({Outcome.APPLIED, Outcome.NOOP, Outcome.DELEGATED})
"""The outcomes of a call that ran. Every consumer (scores, monitors, agents, envs) uses this one set."""
REFUSED: frozenset[Outcome] = frozenset({Outcome.DENIED, Outcome.REFUSED, Outcome.FORBIDDEN, Outcome.UNRESOLVED})
"""The outcomes of a valid call that did not run. Every consumer uses this one set."""


class RecordKind(StrEnum):
    """The kinds of audit record (see :mod:`simenv.sim.records`)."""

    EPISODE = "episode"
    CALL = "call"
    APPROVAL = "approval"
    CREDENTIAL = "credential"
    CONTROL = "control"
    TICKET = "ticket"
    MONITOR = "monitor"
    EVENT = "event"
    END = "end"


class CredOp(StrEnum):
    """What a ``credential`` record says happened to a credential an agent holds."""

    ISSUE = "issue"
    REACH = "reach"  # its potential blast radius changed
    REVOKE = "revoke"
    EXPIRE = "expire"
    DROP = "drop"


CredId = int
"""Credential ids are integers in the loop, in issue order; :func:`cred_label` renders them for the log."""
CRED_PREFIX = "cred-"


def cred_label(cid: CredId) -> str:
    """The stable rendering of a credential id (``12`` → ``cred-12``), as logs and agents see it."""
    return f"{CRED_PREFIX}{cid}"


def parse_cred_label(label: object) -> CredId | None:
    """``cred-12`` → ``12``; anything else (an agent's garbage included) → ``None``.

    Only the canonical label names a credential: ASCII digits without a leading zero, so that
    ``cred-１`` (a full-width digit) or ``cred-01`` is not another spelling of ``cred-1``.

    >>> parse_cred_label("cred-12"), parse_cred_label("cred-x"), parse_cred_label(5)
    (12, None, None)
    >>> parse_cred_label("cred-１"), parse_cred_label("cred-01"), parse_cred_label("cred-٣")
    (None, None, None)
    """
    if not isinstance(label, str) or not label.startswith(CRED_PREFIX):
        return None
    digits = label[len(CRED_PREFIX):]
    ok = 0 < len(digits) < 12 and digits.isascii() and digits.isdigit() and digits[0] != "0"
    return int(digits) if ok else None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as an agent emits it: a tool name and JSON-like arguments.

    ``credential`` names a credential the agent presents explicitly (a cached or stolen one);
    ``None`` lets the broker choose. ``justification`` is the agent's own reason for the call
    (policies see it as ``context.justification``; approvers and the audit see it too). ``raw``
    keeps the original payload when the call came from a model (it may be malformed);
    ``problem`` says what :func:`simenv.agents.base.coerce_call` found wrong with it (an unknown
    field, arguments that are not JSON), and makes the call an invalid-call decision.
    """

    tool: Any
    args: Any = field(default_factory=dict)
    credential: str | None = None
    raw: Any = None
    justification: str | None = None
    problem: str | None = None
