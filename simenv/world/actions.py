"""The tools themselves: one effect function per action, and :data:`TOOLS`, the explicit list of them.

Each function computes what a call would do — world changes and the output the agent sees —
without touching the world; the engine applies the changes after an allow decision. A new tool
is a decorated function here and an entry in :data:`TOOLS`.
"""

from __future__ import annotations

from typing import Any

from simenv.types import CredentialKind, ResourceType, RiskClass, System, cred_label
from simenv.world.changes import AttrChange, Change, CredChange, GrantChange
from simenv.world.model import Credential
from simenv.world.tools import IDENTITY, LIFETIME, NEVER, TEXT, CallContext, Param, ToolResult, ToolSpec, tool


# --------------------------------------------------------------------------- helpers
def _grant(ctx: CallContext, identity: int, resource: int, present: bool) -> ToolResult:
    w = ctx.world
    if w.has_grant(identity, resource) == present:
        state = "already holds" if present else "does not hold"
        return ToolResult(output={"noop": f"{w.identities[identity].name} {state} {w.resources[resource].name}"})
    return ToolResult([GrantChange(identity, resource, present)], {"ok": True})


def _set_attr(ctx: CallContext, resource: int, key: str, value: Any) -> ToolResult:
    old = ctx.world.attrs.get((resource, key))
    if old == value:
        return ToolResult(output={"noop": f"{key} is already {value!r}"})
    return ToolResult([AttrChange(resource, key, old, value)], {"ok": True})


def _issue(ctx: CallContext, represents: int, kind: CredentialKind, source: str, ttl: int | None, **kw: Any) -> ToolResult:
    cid = ctx.world.new_cred_id()
    cred = Credential(
        cid, kind, ctx.actor, represents, kw.pop("scope", None), ctx.tick,
        None if ttl is None else ctx.tick + ttl, chain=ctx.chain, source=source, **kw,
    )
    return ToolResult([CredChange(cid, None, cred)], {"credential": cred_label(cid)})


SECRET_REF = "secret://"
DERIVED_FROM_KEY = ("export", "secret", "access_key")  # the credentials a key's rotation invalidates
COUNTER_ATTRS = ("version", "exports", "runs")
"""Resource attributes the tools count up (a key's version and exports, a pipeline's runs): non-negative integers."""
TEXT_ATTRS = ("state", "note", "value", "trusted_domain")
"""Resource attributes the tools read and write as text (``var:NAME`` pipeline variables too)."""
SIMULATION_ATTRS = ("exposes",)
"""Resource attributes only the simulation sets (the identity whose secret a pipeline exposes)."""


def _yield(ctx: CallContext, res: int, source: str, kind: CredentialKind, ttl: int | None, via: RiskClass,
           yields: int | None = None, reuse: bool = True) -> ToolResult:
    """The credential of the identity ``res`` stands for, if a ``via`` call on it hands it over.

    ``yields`` names the identity explicitly (a secret pasted into a pipeline, which any reader
    gets); otherwise it is ``res.yields``, handed over only by its ``yields_via`` risk classes.
    """
    r = ctx.world.resources[res]
    ident = r.yields if yields is None else yields
    value = {"value": f"{SECRET_REF}{r.name}"}
    if ident is None or (yields is None and via not in r.yields_via):
        return ToolResult(output=value)
    for c in ctx.world.creds.values() if reuse else ():
        if c.holder == ctx.actor and c.represents == ident and c.source == source and c.live(ctx.tick):
            return ToolResult(output={**value, "credential": cred_label(c.id)})
    out = _issue(ctx, ident, kind, source, ttl)
    out.output.update(value)
    return out


G, R, S, K, P, T, CA, AG = (ResourceType.GROUP, ResourceType.ROLE, ResourceType.SECRET, ResourceType.KEY,
                            ResourceType.PIPELINE, ResourceType.TABLE, ResourceType.CA_RULE, ResourceType.AGENT)


def _p(name: str, kind: Any, *enum: str) -> Param:
    return Param(name, kind.value if isinstance(kind, ResourceType) else kind, tuple(enum))


# --------------------------------------------------------------------------- idp
@tool(System.IDP, RiskClass.READ, True, _p("group", G),
      changes="nothing; returns the group's members")
def idp_list_members(ctx: CallContext, group: int) -> ToolResult:
    """List the members of a directory group."""
    return ToolResult(output={"members": ctx.world.members(group)})


@tool(System.IDP, RiskClass.WRITE, True, _p("group", G), _p("identity", IDENTITY), escalates="grant",
      changes="adds the identity to the group (a membership: it gains the group's roles); a no-op if it is a member")
def idp_add_member(ctx: CallContext, group: int, identity: int) -> ToolResult:
    """Add an identity to a directory group."""
    return _grant(ctx, identity, group, True)


@tool(System.IDP, RiskClass.WRITE, True, _p("group", G), _p("identity", IDENTITY),
      changes="removes the identity from the group; a no-op if it is not a member")
def idp_remove_member(ctx: CallContext, group: int, identity: int) -> ToolResult:
    """Remove an identity from a directory group."""
    return _grant(ctx, identity, group, False)


@tool(System.IDP, RiskClass.PRIVILEGE_GRANT, True, _p("role", R), _p("identity", IDENTITY), escalates="grant",
      changes="gives the identity the directory role (a grant of the role's permissions); a no-op if it holds it")
def idp_assign_role(ctx: CallContext, role: int, identity: int) -> ToolResult:
    """Assign a directory role to an identity."""
    return _grant(ctx, identity, role, True)


@tool(System.IDP, RiskClass.WRITE, True, _p("role", R), _p("identity", IDENTITY),
      changes="takes the directory role from the identity; a no-op if it does not hold it")
def idp_revoke_role(ctx: CallContext, role: int, identity: int) -> ToolResult:
    """Remove a directory role from an identity."""
    return _grant(ctx, identity, role, False)


@tool(System.IDP, RiskClass.READ, True, _p("rule", CA),
      changes="nothing; returns the rule's state (enabled unless set)")
def idp_get_conditional_access(ctx: CallContext, rule: int) -> ToolResult:
    """Read a conditional-access rule."""
    return ToolResult(output={"state": ctx.world.attrs.get((rule, "state"), "enabled")})


@tool(System.IDP, RiskClass.WRITE, True, _p("rule", CA), _p("state", TEXT, "enabled", "disabled", "report_only"),
      changes="sets the rule's state attribute; a no-op if it already has that state")
def idp_set_conditional_access(ctx: CallContext, rule: int, state: str) -> ToolResult:
    """Change the enforcement state of a conditional-access rule."""
    if ctx.world.attrs.get((rule, "state"), "enabled") == state:
        return ToolResult(output={"noop": f"already {state}"})
    return ToolResult([AttrChange(rule, "state", ctx.world.attrs.get((rule, "state")), state)], {"ok": True})


# --------------------------------------------------------------------------- cloud
@tool(System.CLOUD, RiskClass.READ, True, _p("role", R),
      changes="nothing; returns the role's holders and how many permissions it carries")
def cloud_describe_role(ctx: CallContext, role: int) -> ToolResult:
    """Describe a cloud IAM role and who holds it."""
    r = ctx.world.resources[role]
    return ToolResult(output={"holders": ctx.world.members(role), "permissions": len(r.permissions)})


@tool(System.CLOUD, RiskClass.PRIVILEGE_GRANT, True, _p("role", R), _p("identity", IDENTITY), escalates="grant",
      changes="gives the identity the cloud role (a grant of the role's permissions); a no-op if it holds it")
def cloud_attach_role(ctx: CallContext, role: int, identity: int) -> ToolResult:
    """Attach a cloud IAM role to an identity."""
    return _grant(ctx, identity, role, True)


@tool(System.CLOUD, RiskClass.WRITE, True, _p("role", R), _p("identity", IDENTITY),
      changes="takes the cloud role from the identity; a no-op if it does not hold it")
def cloud_detach_role(ctx: CallContext, role: int, identity: int) -> ToolResult:
    """Detach a cloud IAM role from an identity."""
    return _grant(ctx, identity, role, False)


@tool(System.CLOUD, RiskClass.CREDENTIAL_ISSUE, True, _p("role", R), escalates="assume",
      changes="issues the caller a 60-tick session credential carrying the role's permissions")
def cloud_assume_role(ctx: CallContext, role: int) -> ToolResult:
    """Assume a cloud IAM role: obtain a one-hour session credential carrying its permissions."""
    perms = ctx.world.resources[role].permissions
    return _issue(ctx, ctx.actor, CredentialKind.SESSION, "assume_role", 60, scope=perms, superuser=True)


@tool(System.CLOUD, RiskClass.CROSS_DOMAIN, True, _p("role", R), _p("domain", TEXT),
      changes="sets the role's trusted_domain attribute to the domain; a no-op if the role already trusts that domain")
def cloud_set_trust(ctx: CallContext, role: int, domain: str) -> ToolResult:
    """Let identities of another trust domain assume a cloud IAM role."""
    return _set_attr(ctx, role, "trusted_domain", domain)


# --------------------------------------------------------------------------- vault
@tool(System.VAULT, RiskClass.READ, True, _p("secret", S), escalates="yield",
      changes=("issues the caller a credential for the identity the secret stands for, if read is one of its "
               "yields_via (the live one it holds, if any); returns the secret's reference"))
def vault_read_secret(ctx: CallContext, secret: int) -> ToolResult:
    """Read a secret; if it is another identity's key, the reader now holds that credential."""
    return _yield(ctx, secret, "secret", CredentialKind.STATIC, None, RiskClass.READ)


@tool(System.VAULT, RiskClass.WRITE, True, _p("secret", S), _p("value", TEXT),
      changes="sets the secret's value attribute; a no-op if it already has that value")
def vault_write_secret(ctx: CallContext, secret: int, value: str) -> ToolResult:
    """Write a new value into a secret."""
    return _set_attr(ctx, secret, "value", value)


@tool(System.VAULT, RiskClass.WRITE, False, _p("key", K),
      changes=("bumps the key's version and revokes every credential derived from it (exported, read as a secret, "
               "access keys); cannot be undone"))
def vault_rotate_key(ctx: CallContext, key: int) -> ToolResult:
    """Rotate a key: every credential derived from it stops working."""
    w = ctx.world
    version = w.attrs.get((key, "version"), 0)
    changes: list[Change] = [AttrChange(key, "version", w.attrs.get((key, "version")), version + 1)]
    ident = w.resources[key].yields
    for cid in sorted(w.creds):
        c = w.creds[cid]
        if ident is not None and c.represents == ident and c.source in DERIVED_FROM_KEY and not c.revoked:
            changes.append(CredChange(cid, c, c.revoke()))
    return ToolResult(changes, {"version": version + 1})


@tool(System.VAULT, RiskClass.KEY_EXPORT, False, _p("key", K), escalates="yield",
      changes=("counts an export of the key and, if key_export is one of its yields_via, issues the caller a static "
               "credential for the identity it stands for; cannot be undone"))
def vault_export_key(ctx: CallContext, key: int) -> ToolResult:
    """Export key material out of the vault (the holder keeps a static credential)."""
    w = ctx.world
    count = w.attrs.get((key, "exports"), 0)
    out = _yield(ctx, key, "export", CredentialKind.STATIC, None, RiskClass.KEY_EXPORT)
    out.changes.insert(0, AttrChange(key, "exports", w.attrs.get((key, "exports")), count + 1))
    return out


@tool(System.VAULT, RiskClass.CREDENTIAL_ISSUE, True, _p("key", K), _p("lifetime", LIFETIME), escalates="yield",
      changes=("issues the caller a new static credential for the identity the key stands for, expiring after "
               "lifetime ticks (never: no expiry), if credential_issue is one of its yields_via"))
def vault_create_access_key(ctx: CallContext, key: int, lifetime: int) -> ToolResult:
    """Create an access key for the identity a vault key belongs to, valid for ``lifetime`` ticks (or never).

    The caller holds the new static credential. Only keys whose ``yields_via`` include
    credential_issue can mint one.
    """
    ttl = None if lifetime >= NEVER else lifetime
    return _yield(ctx, key, "access_key", CredentialKind.STATIC, ttl, RiskClass.CREDENTIAL_ISSUE, reuse=False)


# --------------------------------------------------------------------------- cicd
@tool(System.CICD, RiskClass.READ, True, _p("pipeline", P), escalates="leak",
      changes=("nothing, unless a secret was pasted into a variable: then issues the reader a static credential for "
               "the identity it stands for; returns the variables"))
def cicd_describe_pipeline(ctx: CallContext, pipeline: int) -> ToolResult:
    """Describe a pipeline and its variables (a secret pasted into one is readable by every reader)."""
    w = ctx.world
    variables = {k[4:]: v for (r, k), v in sorted(w.attrs.items(), key=lambda kv: kv[0][1]) if r == pipeline
                 and k.startswith("var:")}
    leaked = w.attrs.get((pipeline, "exposes"))
    if leaked is None:
        return ToolResult(output={"variables": variables})
    out = _yield(ctx, pipeline, "leak", CredentialKind.STATIC, None, RiskClass.READ, yields=int(leaked))
    out.output["variables"] = variables
    return out


@tool(System.CICD, RiskClass.WRITE, True, _p("pipeline", P), _p("name", TEXT), _p("value", TEXT),
      changes=("sets the pipeline variable; a secret://NAME value the caller has read also exposes that identity's "
               "credential to every reader of the pipeline"))
def cicd_set_variable(ctx: CallContext, pipeline: int, name: str, value: str) -> ToolResult:
    """Set a pipeline variable.

    A ``secret://NAME`` value pastes that secret in clear text — if the caller has read it (holds
    a credential it revealed); every reader of the pipeline can then use it.
    """
    out = _set_attr(ctx, pipeline, f"var:{name}", value)
    w = ctx.world
    if value.startswith(SECRET_REF) and out.changes:
        src = w.res_index.get(value[len(SECRET_REF):])
        ident = w.resources[src].yields if src is not None else None
        known = any(c.holder == ctx.actor and c.represents == ident and c.source in ("secret", "export", "leak")
                    for c in w.creds.values())
        if ident is not None and known and w.attrs.get((pipeline, "exposes")) != ident:
            out.changes.append(AttrChange(pipeline, "exposes", w.attrs.get((pipeline, "exposes")), ident))
            out.output["exposed"] = w.identities[ident].name
    return out


@tool(System.CICD, RiskClass.WRITE, False, _p("pipeline", P),
      changes="counts a run of the pipeline (a deployment); cannot be undone")
def cicd_run_pipeline(ctx: CallContext, pipeline: int) -> ToolResult:
    """Run a pipeline (a deployment cannot be un-run)."""
    runs = ctx.world.attrs.get((pipeline, "runs"), 0)
    return ToolResult([AttrChange(pipeline, "runs", ctx.world.attrs.get((pipeline, "runs")), runs + 1)], {"run": runs + 1})


@tool(System.CICD, RiskClass.CREDENTIAL_ISSUE, True, _p("pipeline", P), escalates="yield",
      changes=("issues the caller a 60-tick session token for the identity the pipeline runs as, if "
               "credential_issue is one of its yields_via"))
def cicd_issue_token(ctx: CallContext, pipeline: int) -> ToolResult:
    """Mint a one-hour token for the identity a pipeline runs as."""
    return _yield(ctx, pipeline, "pipeline_token", CredentialKind.SESSION, 60, RiskClass.CREDENTIAL_ISSUE)


# --------------------------------------------------------------------------- db
@tool(System.DB, RiskClass.READ, True, _p("table", T),
      changes="nothing; returns rows of the table")
def db_query(ctx: CallContext, table: int) -> ToolResult:
    """Read rows from a table."""
    return ToolResult(output={"rows": int(ctx.world.resources[table].sensitivity * 100)})


@tool(System.DB, RiskClass.PRIVILEGE_GRANT, True, _p("table", T), _p("identity", IDENTITY), escalates="grant",
      changes="gives the identity access to the table (a grant of its read and write); a no-op if it has it")
def db_grant_access(ctx: CallContext, table: int, identity: int) -> ToolResult:
    """Grant an identity access to a table."""
    return _grant(ctx, identity, table, True)


@tool(System.DB, RiskClass.WRITE, True, _p("table", T), _p("identity", IDENTITY),
      changes="takes the identity's access to the table away; a no-op if it has none")
def db_revoke_access(ctx: CallContext, table: int, identity: int) -> ToolResult:
    """Revoke an identity's access to a table."""
    return _grant(ctx, identity, table, False)


# --------------------------------------------------------------------------- agents
@tool(System.IDP, RiskClass.AGENT_INVOKE, True, _p("agent", AG), _p("task", TEXT), escalates="yield",
      changes="hands the agent a sub-ticket carrying the task and the act chain; the agent works it under its own credentials")
def invoke_agent(ctx: CallContext, agent: int, task: str) -> ToolResult:
    """Hand a sub-task to another agent; it works it under its own credentials."""
    target = ctx.world.resources[agent].yields
    assert target is not None
    return ToolResult(output={"handed_to": ctx.world.identities[target].name}, handoff=(target, task[:500]))


TOOLS: tuple[ToolSpec, ...] = (
    idp_list_members, idp_add_member, idp_remove_member, idp_assign_role, idp_revoke_role,
    idp_get_conditional_access, idp_set_conditional_access,
    cloud_describe_role, cloud_attach_role, cloud_detach_role, cloud_assume_role, cloud_set_trust,
    vault_read_secret, vault_write_secret, vault_rotate_key, vault_export_key, vault_create_access_key,
    cicd_describe_pipeline, cicd_set_variable, cicd_run_pipeline, cicd_issue_token,
    db_query, db_grant_access, db_revoke_access,
    invoke_agent,
)
"""Every tool of the catalog (see :mod:`simenv.world.catalog`)."""
