"""Seeded generator of the synthetic part of an estate ("filler") around a scenario's named part.

The size knob is the number of generated identities, from tens to 100,000. Ratios:

* non-human to human identities: 50:1, inside the 45:1 to 80:1 range that industry surveys of
  real estates report (see docs/architecture.md, calibration);
* one resource for every two identities, spread over the five systems;
* one vaulted key for every ten service accounts: each is an escalation edge to that account;
* one admin role per system (every risk class on the whole system), the rest narrow roles.

Sensitivities are log-normal (median 1), scaled by resource type (keys and secrets weigh more).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simenv.types import IdentityKind, ResourceType, RiskClass, System
from simenv.world.model import Identity, Permission, Resource

TYPE_WEIGHT = {
    ResourceType.GROUP: 1.0, ResourceType.ROLE: 2.0, ResourceType.SECRET: 4.0, ResourceType.KEY: 5.0,
    ResourceType.PIPELINE: 2.0, ResourceType.TABLE: 3.0, ResourceType.CA_RULE: 6.0,
}
SYSTEM_TYPES = {
    System.IDP: (ResourceType.GROUP, ResourceType.ROLE, ResourceType.CA_RULE),
    System.CLOUD: (ResourceType.ROLE,),
    System.VAULT: (ResourceType.SECRET, ResourceType.KEY),
    System.CICD: (ResourceType.PIPELINE,),
    System.DB: (ResourceType.TABLE,),
}
NHI_PER_HUMAN = 50
RW = frozenset({RiskClass.READ, RiskClass.WRITE})


@dataclass
class Filler:
    """Generated identities, resources and grants, indexed after the named part."""

    identities: list[Identity] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    grants: list[tuple[int, int]] = field(default_factory=list)


def generate(size: int, rng: np.random.Generator, id_offset: int, res_offset: int) -> Filler:
    """Generate ``size`` identities and their resources; indices start at the given offsets."""
    out = Filler()
    if size <= 0:
        return out
    n_humans = max(1, size // (NHI_PER_HUMAN + 1))
    for k in range(size):
        human = k < n_humans
        out.identities.append(
            Identity(id_offset + k, f"u{k:06d}" if human else f"sa{k:06d}",
                     IdentityKind.HUMAN if human else IdentityKind.SERVICE_ACCOUNT,
                     shared=bool(not human and k % 17 == 0))
        )
    n_res = max(len(System) * 2, size // 2)
    per_system = n_res // len(System)
    # as Python numbers (the same values): indexing numpy arrays element by element costs more than the rest of the loop
    sens = np.exp(rng.normal(0.0, 1.0, size=n_res + len(System))).tolist()
    owners = rng.integers(0, n_humans, size=n_res + len(System)).tolist()
    r = res_offset
    roles_by_system: dict[System, list[int]] = {}
    keys: list[int] = []
    j = 0
    for system in System:
        types = SYSTEM_TYPES[system]
        narrow_roles: dict[ResourceType, tuple[Permission, ...]] = {}
        # the admin role of the system
        out.resources.append(Resource(r, f"{system}-admin-role", ResourceType.ROLE, system, id_offset + owners[j],
                                      round(sens[j] * 10.0, 4),
                                      (Permission(system, frozenset(RiskClass)),)))
        roles_by_system[system] = [r]
        r += 1
        j += 1
        for k in range(per_system):
            t = types[k % len(types)]
            perms: tuple[Permission, ...] = ()
            if t is ResourceType.ROLE:
                narrow = SYSTEM_TYPES[system][(k // len(types)) % len(types)]
                perms = narrow_roles.get(narrow) or narrow_roles.setdefault(
                    narrow, (Permission(system, RW, types=frozenset({narrow})),))  # equal atoms, one object
            res = Resource(r, f"{system}-{t}-{k:06d}", t, system, id_offset + owners[j],
                           round(sens[j] * TYPE_WEIGHT[t], 4), perms)
            if t is ResourceType.ROLE:
                roles_by_system[system].append(r)
            if t is ResourceType.KEY:
                keys.append(len(out.resources))
            out.resources.append(res)
            r += 1
            j += 1
    # keys yield service accounts: escalation edges
    sa_idx = np.arange(n_humans, size)
    if len(sa_idx):
        targets = rng.choice(sa_idx, size=min(len(keys), max(1, len(sa_idx) // 10)), replace=False)
        for pos, tgt in zip(keys, targets, strict=False):
            res = out.resources[pos]
            out.resources[pos] = Resource(res.idx, res.name, res.type, res.system, res.owner, res.sensitivity,
                                          yields=id_offset + int(tgt),
                                          yields_via=frozenset({RiskClass.READ, RiskClass.KEY_EXPORT}))
    # standing grants: each identity holds one to three roles, admin roles are rare
    systems = list(System)
    grants_of = rng.integers(1, 4, size=size)
    total = int(grants_of.sum())
    pick_sys = rng.integers(0, len(systems), size=total)
    pick_role = rng.random(size=total)
    out.grants = _grants(grants_of, pick_sys, pick_role, [roles_by_system[s] for s in systems], id_offset)
    return out


def _grants(grants_of: np.ndarray, pick_sys: np.ndarray, pick_role: np.ndarray, roles: list[list[int]],
            id_offset: int) -> list[tuple[int, int]]:
    """The grants ``(identity, role)`` the draws pick, sorted and without duplicates, computed on whole arrays.

    Grant ``g`` goes to identity ``k`` (``grants_of[k]`` grants each, in identity order), on a role of system
    ``pick_sys[g]``: its admin role (``roles[s][0]``) when ``pick_role[g] < 0.01`` or it has no other, else
    ``roles[s][1 + int(u * (n - 1)) % (n - 1)]`` for ``u = pick_role[g]`` and its ``n`` roles.
    """
    holder = np.repeat(np.arange(id_offset, id_offset + len(grants_of), dtype=np.int64), grants_of)
    count = np.array([len(r) for r in roles], dtype=np.int64)[pick_sys]
    start = np.cumsum([0] + [len(r) for r in roles[:-1]], dtype=np.int64)[pick_sys]
    narrow = count > 1
    pos = np.zeros(len(pick_role), dtype=np.int64)
    others = count[narrow] - 1  # float64 product, truncated: the same value int(u * (n - 1)) gives
    pos[narrow] = 1 + (pick_role[narrow] * others).astype(np.int64) % others
    pos[pick_role < 0.01] = 0
    flat = [r for rs in roles for r in rs]
    role = np.array(flat, dtype=np.int64)[start + pos]
    span = int(role.max()) + 1 if len(role) else 1
    pairs = np.sort(holder * span + role)  # sorted by (identity, role), then duplicates dropped: np.unique's
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs  # hashing is 35x slower
    # one int object per identity and per role (as the loop shared them), not one per grant: 9 MiB less at 100k
    idents = list(range(id_offset, id_offset + len(grants_of)))
    same = {r: r for r in flat}
    return [(idents[i - id_offset], same[r]) for i, r in zip((pairs // span).tolist(), (pairs % span).tolist(),
                                                              strict=True)]
