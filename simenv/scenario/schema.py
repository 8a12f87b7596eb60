"""The strict pydantic schema of scenario files (``scenarios/<name>.yaml``).

Every model forbids unknown keys and validates strictly: a YAML number or boolean where a
string is expected is an error, not a silent conversion. ``simenv schema scenario`` prints
the JSON Schema generated from these models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SystemName = Literal["idp", "cloud", "vault", "cicd", "db"]
RiskName = Literal["read", "write", "privilege_grant", "key_export", "cross_domain", "credential_issue", "agent_invoke"]
ResourceTypeName = Literal["group", "role", "secret", "key", "pipeline", "table", "ca_rule", "ticket_log", "agent"]
Name = str
MAX_TICK = 100_000
"""The longest episode, in ticks; no tick a file names may lie beyond it."""
MAX_SENSITIVITY = 1_000_000.0
"""The largest sensitivity weight (shipped scenarios use 1 to 25); blast radius and exposure sum these."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Tags(_Strict):
    """Framework ids this scenario exercises, exactly as published."""

    asi: list[str] = Field(default_factory=list, description="OWASP Top 10 for Agentic Applications 2026 (ASI01..ASI10)")
    nhi: list[str] = Field(default_factory=list, description="OWASP Non-Human Identities Top 10 2025 (NHI1..NHI10)")
    maestro: list[str] = Field(default_factory=list, description="CSA MAESTRO layers (L1..L7)")
    nist: list[str] = Field(default_factory=list, description="NIST AI RMF subcategories, e.g. 'MANAGE 2.4'")


class EstateSpec(_Strict):
    """The generated part of the estate."""

    trust_domain: str = "corp.example"
    size: int = Field(default=200, ge=0, le=100_000, description="generated identities around the named ones")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | Literal["episode"] = Field(
        default=0, description="the seed of the generated estate: a number (every episode runs in the same estate) "
                               "or 'episode' (each episode seed draws its own estate)")
    legacy_systems: list[SystemName] = Field(default_factory=list, description="systems with no ephemeral credentials")
    system_tenants: dict[SystemName, str] = Field(
        default_factory=dict, description="the tenant (trust domain) a system's resources belong to, if not trust_domain")
    file: str | None = Field(
        default=None, description="an imported estate (written by simenv import aws-iam), relative to the scenario's "
                                  "folder: its principals join the identities, each holding a cloud role creds:NAME "
                                  "that carries its escalation edges, beside the generated filler")


class IdentitySpec(_Strict):
    """A named identity."""

    name: Name
    kind: Literal["human", "service_account", "agent"]
    owner: Name | None = Field(default=None, description="a human; required for agents")
    purpose: str = ""
    trust_tier: int = Field(default=0, ge=0, le=3)
    shared: bool = False
    acts_as: Name | None = Field(default=None,
                                 description="agents: the (shared) service account their standing credential represents")
    tenant: str | None = Field(default=None, description="the tenant (trust domain) it belongs to; default estate.trust_domain")


class PermissionSpec(_Strict):
    """What a role lets its holder do."""

    system: SystemName
    risks: list[RiskName]
    types: list[ResourceTypeName] | None = None
    resources: list[Name] | None = None


class ResourceSpec(_Strict):
    """A named resource."""

    name: Name
    type: ResourceTypeName
    system: SystemName
    owner: Name | None = None
    sensitivity: float = Field(default=1.0, ge=0.0, le=MAX_SENSITIVITY)
    permissions: list[PermissionSpec] = Field(default_factory=list, description="roles: what holding it grants")
    roles: list[Name] = Field(default_factory=list, description="groups: roles their members inherit")
    yields: Name | None = Field(default=None, description="escalation edge: acting on it gives this identity's rights")
    yields_via: list[RiskName] = Field(default_factory=lambda: list[RiskName](["read", "key_export"]))
    attrs: dict[str, str | int | bool] = Field(default_factory=dict)
    tenant: str | None = Field(default=None, description="its tenant (trust domain); default: its system's")
    marks: list[str] = Field(default_factory=list, description="labels approval rules key on, e.g. break_glass")


class GrantSpec(_Strict):
    """A standing grant: identity holds resource (membership or role binding)."""

    identity: Name
    resource: Name


class ScopeSpec(_Strict):
    """A ticket's declared scope: coarse, visible to governance."""

    systems: list[SystemName]
    risks: list[RiskName]


class ActionSpec(_Strict):
    """An exact action: a tool and its arguments ("*" matches any value)."""

    tool: str
    args: dict[str, str] = Field(default_factory=dict)


class DoneSpec(_Strict):
    """A world predicate that says a ticket is done. Give exactly one of the three."""

    grant: GrantSpec | None = None
    no_grant: GrantSpec | None = None
    attr: dict[str, str | int | bool] | None = Field(default=None, description="{resource, key, value}")


class TicketSpec(_Strict):
    """A ticket: visible text and scope; ground-truth intent and completion predicate."""

    id: str
    assignee: Name
    owner: Name | None = None
    text: str
    scope: ScopeSpec
    intent: list[ActionSpec] = Field(description="ground truth, seen by scoring only")
    done_when: list[DoneSpec] = Field(default_factory=list, description="ground truth, seen by scoring only")
    opens_at: int = Field(default=0, ge=0, le=MAX_TICK)
    parent: str | None = Field(default=None, description="the ticket whose assignee delegates this one")
    on_invoke: bool = Field(default=False, description="opens only when the parent's assignee invokes the assignee")


class StepSpec(_Strict):
    """A scripted plan step."""

    tool: str
    args: dict[str, str] = Field(default_factory=dict)
    on_deny: list[StepSpec] = Field(default_factory=list)
    credential: str | None = None
    justification: str | None = Field(default=None, description="the reason the agent gives with the call")
    note: str = ""


class AgentSpec(_Strict):
    """How a named agent identity behaves when it is scripted."""

    identity: Name
    plan: list[StepSpec] = Field(default_factory=list, description="steps for any ticket")
    plans: dict[str, list[StepSpec]] = Field(default_factory=dict, description="steps per ticket id")
    learner: bool = False
    role: Literal["agent", "attacker"] = "agent"
    knowledge: list[str] = Field(default_factory=list, description="names in the agent's context (runbooks, docs)")


class EventSpec(_Strict):
    """A scheduled event."""

    tick: int = Field(ge=0, le=MAX_TICK)
    kind: str
    agent: Name | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)


class ScenarioSpec(_Strict):
    """A scenario file."""

    name: str
    description: str = ""
    tags: Tags = Field(default_factory=Tags)
    overreach: bool = Field(default=True, description="whether the scenario is built to provoke overreach")
    estate: EstateSpec = Field(default_factory=EstateSpec)
    max_ticks: int = Field(default=40, ge=1, le=MAX_TICK)
    exposure_horizon: int | None = Field(
        default=None, ge=1, le=10 * MAX_TICK, description="the tick up to which credentials still live at the end are charged "
                                        "exposure (default: max_ticks + 60, one simulated hour after the budget)")
    identities: list[IdentitySpec]
    resources: list[ResourceSpec] = Field(default_factory=list)
    grants: list[GrantSpec] = Field(default_factory=list)
    tickets: list[TicketSpec]
    agents: list[AgentSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
