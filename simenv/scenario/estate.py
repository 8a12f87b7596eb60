"""A scenario on an imported estate: the estate file's principals and edges as named identities, resources and grants.

``estate: {file: NAME.yaml}`` names an estate file (``simenv import aws-iam``) beside the scenario;
:func:`with_estate` adds its parts after the scenario's own, so that tickets, agents (``acts_as:
role/NAME``) and grants name them like any other identity or resource. Each principal ``P`` becomes:

* an identity ``P`` (a user is a human, a role a service account);
* a cloud role ``creds:P``, which ``P`` holds: what holding ``P``'s credentials gives. Its permissions
  are the escalation edges of ``P``: ``credential_issue`` on ``creds:Q`` for an edge to principal
  ``Q`` (exercised with ``cloud_assume_role``), ``privilege_grant`` on ``aws-admin`` for an edge to
  admin (``cloud_attach_role``), every risk class on the cloud if ``P`` is admin, and read on its own;
* ``aws-admin``, the cloud role AdministratorAccess stands for (every risk class on the cloud).

So :func:`simenv.world.reach.closure`, and with it ``potential_blast_radius`` and ``exposure``, follows
the imported escalation edges with no change to the world model. Sensitivity is the principal's
(``sensitivity`` in the estate file); ``aws-admin`` weighs what the admin rule gives.
"""

from __future__ import annotations

from pathlib import Path

from simenv import files
from simenv.errors import SpecError
from simenv.estates.aws import EVERY
from simenv.estates.estate import ADMIN, ADMIN_ROLE, MAX_ESTATE_BYTES, RULES, EstateFile, load
from simenv.scenario.schema import GrantSpec, IdentitySpec, PermissionSpec, ResourceSpec, RiskName, ScenarioSpec

ALL_RISKS: list[RiskName] = ["read", "write", "privilege_grant", "key_export", "cross_domain", "credential_issue",
                             "agent_invoke"]


def creds(name: str) -> str:
    """The cloud role that stands for holding principal ``name``'s credentials."""
    return f"creds:{name}"


def parts(est: EstateFile) -> tuple[list[IdentitySpec], list[ResourceSpec], list[GrantSpec]]:
    """The identities, resources and grants of an estate, in scenario form."""
    to_principals: dict[str, set[str]] = {}
    to_admin: set[str] = set()
    for e in est.escalations:
        if e.to == ADMIN:
            to_admin.add(e.src)
        else:
            to_principals.setdefault(e.src, set()).add(e.to)
    of_type = {w: [p.name for p in est.principals if p.type == k] for k, w in EVERY.items()}
    for src in list(to_principals):
        for w, members in of_type.items():
            if w in to_principals[src]:
                to_principals[src].discard(w)
                to_principals[src].update(m for m in members if m != src)
    idents, res, grants = [], [ResourceSpec(name=ADMIN_ROLE, type="role", system="cloud",
                                            sensitivity=RULES["admin"][0],
                                            permissions=[PermissionSpec(system="cloud", risks=list(ALL_RISKS))])], []
    for p in est.principals:
        idents.append(IdentitySpec(name=p.name, kind=p.kind, purpose=f"AWS IAM {p.type} {p.arn}"))
        perms = [PermissionSpec(system="cloud", risks=["read"], types=["role"], resources=[creds(p.name)])]
        if p.admin:
            perms.append(PermissionSpec(system="cloud", risks=list(ALL_RISKS)))
        if p.name in to_principals:
            perms.append(PermissionSpec(system="cloud", risks=["credential_issue"], types=["role"],
                                        resources=[creds(q) for q in sorted(to_principals[p.name])]))
        if p.name in to_admin:
            perms.append(PermissionSpec(system="cloud", risks=["privilege_grant"], types=["role"],
                                        resources=[ADMIN_ROLE]))
        res.append(ResourceSpec(name=creds(p.name), type="role", system="cloud", sensitivity=p.sensitivity,
                                permissions=perms))
        grants.append(GrantSpec(identity=p.name, resource=creds(p.name)))
    return idents, res, grants


def estate_path(spec: ScenarioSpec, path: Path) -> Path | None:
    """The estate file the scenario at ``path`` names, confined to its folder tree; ``None`` if it names none."""
    if spec.estate.file is None:
        return None
    try:
        return files.confined(path, spec.estate.file, max_bytes=MAX_ESTATE_BYTES)
    except ValueError as e:
        raise SpecError(str(path), [("estate.file", str(e))]) from None


def estate_of(spec: ScenarioSpec, path: Path) -> EstateFile | None:
    """The estate file the scenario at ``path`` names, loaded; ``None`` if it names none."""
    target = estate_path(spec, path)
    return None if target is None else load(target)


def with_estate(spec: ScenarioSpec, path: Path) -> ScenarioSpec:
    """``spec`` with the parts of the estate file it names after its own (whose field paths stay as written)."""
    est = estate_of(spec, path)
    if est is None:
        return spec
    idents, res, grants = parts(est)
    return spec.model_copy(update={"identities": list(spec.identities) + idents,
                                   "resources": list(spec.resources) + res, "grants": list(spec.grants) + grants})
