"""The published request model as a Cedar schema (``policies/cedar/simenv.cedarschema``).

The schema is generated from the tool catalog, so it names every action; a test checks that
the committed file equals :func:`schema_text`. Regenerate it with
``python -m simenv.governance.cedar_schema > policies/cedar/simenv.cedarschema``.

Mapping of :meth:`AccessRequest.to_input` to Cedar (namespace ``Simenv``):

- ``principal`` → ``Simenv::Identity::"<name>"`` (attributes kind, owner?, trust_tier, shared,
  spiffe_id, tenant, owner_active, enabled); ``context.represents`` and
  ``context.target_identity?`` are Identity references.
- ``resource`` → ``Simenv::Resource::"<name>"`` (type, system, sensitivity as a ``decimal``
  with 4 places, owner?, tenant, marks as a set).
- ``action`` → ``Simenv::Action::"<tool>"``, a member of the action groups of its risk class
  (``Simenv::Action::"privilege_grant"``) and of its system (``Simenv::Action::"vault"``).
- ``context`` → the request's ``context`` record; null fields are absent (test with ``has``);
  ``chain`` is a set (its order is lost; ``chain_depth`` keeps the depth).
"""

from __future__ import annotations

from simenv.types import RISK_CLASSES, SYSTEMS
from simenv.world.catalog import CATALOG

NAMESPACE = "Simenv"
IDENTITY = f"{NAMESPACE}::Identity"
RESOURCE = f"{NAMESPACE}::Resource"
ACTION = f"{NAMESPACE}::Action"


def arg_names() -> list[str]:
    """Every tool argument name of the catalog (the optional attributes of ``context.args``)."""
    return sorted({p.name for spec in CATALOG.values() for p in spec.params})


def schema_text() -> str:
    """The Cedar schema of the request model."""
    args = ", ".join(f"{n}?: String" for n in arg_names())
    groups = ", ".join(f'"{g}"' for g in (*map(str, RISK_CLASSES), *map(str, SYSTEMS)))
    lines = [
        "// The simenv request model as a Cedar schema: generated from the tool catalog by",
        "// simenv.governance.cedar_schema; see the README's section for policy authors.",
        f"namespace {NAMESPACE} {{",
        "  // every identity: human, service_account or agent (principal, represents, target_identity)",
        "  entity Identity = {",
        "    kind: String, owner?: String, trust_tier: Long, shared: Bool, spiffe_id: String,",
        "    tenant: String, owner_active: Bool, enabled: Bool",
        "  };",
        "  // every resource; sensitivity is a decimal with 4 places; marks label it for approval rules",
        "  entity Resource = {",
        "    type: String, system: String, sensitivity: decimal, owner?: String, tenant: String, marks: Set<String>",
        "  };",
        "  type Credential = { id?: String, kind?: String, ttl?: Long, covers: Bool };",
        f"  type Args = {{ {args} }};",
        "  type Context = {",
        "    represents: Identity, target_identity?: Identity, ticket?: String,",
        "    declared_systems: Set<String>, declared_risks: Set<String>, in_declared_scope: Bool,",
        "    approval: String, credential: Credential, chain: Set<String>, chain_depth: Long,",
        "    self_target: Bool, cross_tenant: Bool, justification?: String, lifetime?: Long,",
        "    tick: Long, session: Long, args: Args",
        "  };",
        "  // action groups: the risk classes and the systems",
        f"  action {groups};",
    ]
    for name, spec in CATALOG.items():
        lines.append(f'  action "{name}" in ["{spec.risk}", "{spec.system}"] '
                     "appliesTo { principal: Identity, resource: Resource, context: Context };")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
