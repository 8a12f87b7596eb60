"""Read an AWS IAM authorization-details export and find its escalation edges.

The input is what ``aws iam get-account-authorization-details`` writes (every page, with the
AWS managed policies that are attached). :func:`read` checks its shape strictly: a key, a
policy statement or a condition operator it does not know is a one-line error naming the JSON
path (``RoleDetailList[3].AssumeRolePolicyDocument.Statement[0].Principal.Foo``), never a silent
drop. :class:`Analysis` evaluates each principal's policies (inline, attached, its groups', and
its permissions boundary) with :mod:`simenv.estates.policy`; :func:`escalations` applies every
method of :mod:`simenv.estates.methods` and returns the edges.

Rules the analysis follows (each is a documented approximation):

* **admin** is a principal allowed every action on every resource (``*`` on ``*``, as
  ``AdministratorAccess``), or every IAM action on every resource (``iam:*``: it can grant itself
  the rest). A group or a policy version is admin by the same rule applied to its statements.
* **compute that already runs** (functions, stacks, instances, notebooks, dev endpoints) is not in
  the export: a method that changes it is taken to find it running as any role that the service
  may assume (an EC2 role also needs an instance profile).
* **login profiles** are not in the export: CreateLoginProfile and UpdateLoginProfile are taken to
  apply to every user.
* **non-IAM resources**: a method's service actions (``lambda:CreateFunction``) are allowed when an
  Allow statement's resources can match some ARN of that service; a Deny stops them only when it
  covers all of them.
* **conditions** are evaluated where their key is known (the time of the analysis); otherwise an
  Allow may apply and a Deny is not counted on, and the edge is marked ``conditional``.
* **sts:AssumeRole**: a trust policy that names a principal's ARN lets it assume the role; one that
  names the account (``:root``) or ``*`` needs the principal's own policies to allow it too.

Not modelled: service control policies, resource policies other than role trust policies, session
policies, and permissions a principal gets outside IAM (:data:`NOT_MODELLED`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simenv.errors import SpecError
from simenv.estates import policy as pol
from simenv.estates.methods import METHODS, Method
from simenv.estates.policy import Context, PolicyError, Statement

NOT_MODELLED = (
    "service control policies (AWS Organizations)",
    "resource-based policies other than role trust policies (S3 bucket, KMS key, Lambda function policies)",
    "session policies and session tags",
    "compute and login profiles that exist in the account (the export does not list them; see the rules above)",
)
MAX_EXPORT_BYTES = 256 * 2**20
"""The largest export read (256 MiB; an account of 5,000 principals exports about 10 MiB)."""

_TOP = {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies", "IsTruncated", "Marker"}
_USER = {"Path", "UserName", "UserId", "Arn", "CreateDate", "UserPolicyList", "GroupList", "AttachedManagedPolicies",
         "PermissionsBoundary", "Tags"}
_GROUP = {"Path", "GroupName", "GroupId", "Arn", "CreateDate", "GroupPolicyList", "AttachedManagedPolicies"}
_ROLE = {"Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument", "Description",
         "MaxSessionDuration", "PermissionsBoundary", "Tags", "RoleLastUsed", "InstanceProfileList", "RolePolicyList",
         "AttachedManagedPolicies"}
_POLICY = {"PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount",
           "PermissionsBoundaryUsageCount", "IsAttachable", "Description", "CreateDate", "UpdateDate",
           "PolicyVersionList", "Tags"}
_VERSION = {"Document", "VersionId", "IsDefaultVersion", "CreateDate"}
_INLINE = {"PolicyName", "PolicyDocument"}
_ATTACHED = {"PolicyName", "PolicyArn"}
_BOUNDARY = {"PermissionsBoundaryType", "PermissionsBoundaryArn"}
_ARN_SERVICE = {"ec2-instance-connect": "ec2", "ssm": "*"}
"""Action prefixes whose resources are ARNs of another service (``*``: of several)."""


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy: its default version's statements, and those of its other versions."""

    arn: str
    name: str
    default: tuple[Statement, ...]
    others: tuple[tuple[Statement, ...], ...]
    aws_managed: bool


@dataclass(frozen=True, slots=True)
class Group:
    """An IAM group: its attached policies and inline statements."""

    arn: str
    name: str
    attached: tuple[str, ...]
    inline: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Principal:
    """An IAM user or role. ``name`` is ``user/NAME`` or ``role/NAME``, unique in the account."""

    name: str
    kind: str
    arn: str
    attached: tuple[str, ...]
    inline: tuple[Statement, ...]
    groups: tuple[str, ...] = ()
    boundary: str | None = None
    trust: tuple[Statement, ...] = ()
    services: tuple[str, ...] = ()
    instance_profile: bool = False


@dataclass
class Account:
    """What an authorization-details export says, checked and indexed."""

    account: str
    principals: list[Principal]
    groups: dict[str, Group]
    policies: dict[str, ManagedPolicy]
    newest: str
    source: str = ""

    def by_name(self) -> dict[str, Principal]:
        """Principals by their ``user/NAME`` or ``role/NAME``."""
        return {p.name: p for p in self.principals}


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.dates: list[str] = []

    def fail(self, where: str, msg: str) -> SpecError:
        return SpecError(self.file, [(where, msg)])

    def obj(self, v: Any, where: str, keys: set[str], required: Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(where, "expected a JSON object")
        unknown = sorted(set(v) - keys)
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", f"unknown key; this importer knows {', '.join(sorted(keys))}")
        for k in required:
            if k not in v:
                raise self.fail(f"{where}.{k}", "required")
        if isinstance(v.get("CreateDate"), str):
            self.dates.append(v["CreateDate"])
        return v

    def lst(self, v: Any, where: str) -> list[Any]:
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(where, "expected a JSON list")
        return v

    def text(self, v: Any, where: str) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(where, "expected a non-empty string")
        return v

    def statements(self, raw: Any, where: str, trust: bool = False) -> tuple[Statement, ...]:
        try:
            return pol.parse(raw, where, trust)
        except PolicyError as e:
            field, _, msg = str(e).partition(": ")
            raise self.fail(field, msg) from None

    def inline(self, entries: Any, where: str) -> tuple[Statement, ...]:
        out: list[Statement] = []
        for k, e in enumerate(self.lst(entries, where)):
            e = self.obj(e, f"{where}[{k}]", _INLINE, ("PolicyDocument",))
            out.extend(self.statements(e["PolicyDocument"], f"{where}[{k}].PolicyDocument"))
        return tuple(out)

    def attached(self, entries: Any, where: str, policies: dict[str, ManagedPolicy]) -> tuple[str, ...]:
        out = []
        for k, e in enumerate(self.lst(entries, where)):
            e = self.obj(e, f"{where}[{k}]", _ATTACHED, ("PolicyArn",))
            arn = self.text(e["PolicyArn"], f"{where}[{k}].PolicyArn")
            if arn not in policies:
                raise self.fail(f"{where}[{k}].PolicyArn", f"{arn} is attached but not in Policies; export the "
                                "attached AWS managed policies too (the default of get-account-authorization-details)")
            out.append(arn)
        return tuple(sorted(set(out)))

    def boundary(self, v: Any, where: str, policies: dict[str, ManagedPolicy]) -> str | None:
        if v is None:
            return None
        v = self.obj(v, where, _BOUNDARY, ("PermissionsBoundaryArn",))
        arn = self.text(v["PermissionsBoundaryArn"], f"{where}.PermissionsBoundaryArn")
        if arn not in policies:
            raise self.fail(f"{where}.PermissionsBoundaryArn", f"{arn} is not in Policies")
        return arn


def read(path: str | Path) -> Account:
    """Read and check an authorization-details export (raises :class:`SpecError` naming the JSON path)."""
    from simenv import files

    p = Path(path)
    if not p.is_file():
        raise SpecError(str(p), [("<root>", "no such file; pass the JSON that aws iam get-account-authorization-details "
                                            "writes")])
    text = files.read_text(p, MAX_EXPORT_BYTES)
    try:
        data = json.loads(text)
    except ValueError as e:
        raise SpecError(str(p), [("<root>", f"not JSON ({e})")]) from None
    return parse(data, str(p))


def parse(data: Any, file: str) -> Account:
    """An :class:`Account` from the parsed JSON of an export."""
    r = _Reader(file)
    top = r.obj(data, "<root>", _TOP)
    if top.get("IsTruncated"):
        raise r.fail("IsTruncated", "the export is one page of several; rerun the export without --max-items")
    policies: dict[str, ManagedPolicy] = {}
    for k, e in enumerate(r.lst(top.get("Policies"), "Policies")):
        w = f"Policies[{k}]"
        e = r.obj(e, w, _POLICY, ("Arn", "PolicyVersionList"))
        arn = r.text(e["Arn"], f"{w}.Arn")
        default: tuple[Statement, ...] | None = None
        others = []
        for j, v in enumerate(r.lst(e["PolicyVersionList"], f"{w}.PolicyVersionList")):
            vw = f"{w}.PolicyVersionList[{j}]"
            v = r.obj(v, vw, _VERSION, ("Document",))
            sts = r.statements(v["Document"], f"{vw}.Document")
            if v.get("IsDefaultVersion") is True or v.get("VersionId") == e.get("DefaultVersionId"):
                default = sts
            else:
                others.append(sts)
        if default is None:
            raise r.fail(f"{w}.PolicyVersionList", "no default version; the export lists it with IsDefaultVersion")
        policies[arn] = ManagedPolicy(arn, str(e.get("PolicyName", arn.rsplit("/", 1)[-1])), default, tuple(others),
                                      ":aws:policy/" in arn)
    groups: dict[str, Group] = {}
    group_by_name: dict[str, str] = {}
    for k, e in enumerate(r.lst(top.get("GroupDetailList"), "GroupDetailList")):
        w = f"GroupDetailList[{k}]"
        e = r.obj(e, w, _GROUP, ("GroupName", "Arn"))
        g = Group(r.text(e["Arn"], f"{w}.Arn"), r.text(e["GroupName"], f"{w}.GroupName"),
                  r.attached(e.get("AttachedManagedPolicies"), f"{w}.AttachedManagedPolicies", policies),
                  r.inline(e.get("GroupPolicyList"), f"{w}.GroupPolicyList"))
        groups[g.arn] = g
        group_by_name[g.name] = g.arn
    principals: list[Principal] = []
    accounts: set[str] = set()
    for k, e in enumerate(r.lst(top.get("UserDetailList"), "UserDetailList")):
        w = f"UserDetailList[{k}]"
        e = r.obj(e, w, _USER, ("UserName", "Arn"))
        gl = []
        for j, g in enumerate(r.lst(e.get("GroupList"), f"{w}.GroupList")):
            if g not in group_by_name:
                raise r.fail(f"{w}.GroupList[{j}]", f"group {g!r} is not in GroupDetailList")
            gl.append(group_by_name[g])
        arn = r.text(e["Arn"], f"{w}.Arn")
        accounts.add(arn.split(":")[4] if arn.count(":") >= 5 else "")
        principals.append(Principal(
            f"user/{r.text(e['UserName'], f'{w}.UserName')}", "user", arn,
            r.attached(e.get("AttachedManagedPolicies"), f"{w}.AttachedManagedPolicies", policies),
            r.inline(e.get("UserPolicyList"), f"{w}.UserPolicyList"), tuple(sorted(gl)),
            r.boundary(e.get("PermissionsBoundary"), f"{w}.PermissionsBoundary", policies)))
    for k, e in enumerate(r.lst(top.get("RoleDetailList"), "RoleDetailList")):
        w = f"RoleDetailList[{k}]"
        e = r.obj(e, w, _ROLE, ("RoleName", "Arn", "AssumeRolePolicyDocument"))
        trust = r.statements(e["AssumeRolePolicyDocument"], f"{w}.AssumeRolePolicyDocument", trust=True)
        services = sorted({v for st in trust if st.allow and pol.action_matches(st, "sts:assumerole")
                           for kind, v in st.principals if kind == "Service"})
        arn = r.text(e["Arn"], f"{w}.Arn")
        accounts.add(arn.split(":")[4] if arn.count(":") >= 5 else "")
        principals.append(Principal(
            f"role/{r.text(e['RoleName'], f'{w}.RoleName')}", "role", arn,
            r.attached(e.get("AttachedManagedPolicies"), f"{w}.AttachedManagedPolicies", policies),
            r.inline(e.get("RolePolicyList"), f"{w}.RolePolicyList"), (),
            r.boundary(e.get("PermissionsBoundary"), f"{w}.PermissionsBoundary", policies),
            trust, tuple(services), bool(r.lst(e.get("InstanceProfileList"), f"{w}.InstanceProfileList"))))
    names = [p.name for p in principals]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise r.fail("<root>", f"{dup} is listed twice")
    if len(accounts - {""}) > 1:
        raise r.fail("<root>", f"principals of several accounts ({', '.join(sorted(accounts))}); import one account")
    newest = max(r.dates) if r.dates else "1970-01-01T00:00:00Z"
    return Account(next(iter(accounts - {""}), ""), principals, groups, policies, newest, file)


# --------------------------------------------------------------------------- analysis
@dataclass(frozen=True, slots=True)
class Targets:
    """The resources of one kind an action is allowed on: all of them, or these ARNs."""

    all: bool
    arns: frozenset[str] = frozenset()
    conditional: bool = False

    def __contains__(self, arn: str) -> bool:
        return self.all or arn in self.arns

    def __bool__(self) -> bool:
        return self.all or bool(self.arns)


NONE = Targets(False)
_ALL_ACTIONS = ("*", "iam:*")


def _service_of(action: str) -> str:
    prefix = action.split(":", 1)[0]
    return _ARN_SERVICE.get(prefix, prefix)


def _may_match_service(pattern: str, service: str) -> bool:
    if service == "*" or pattern == "*":
        return True
    head = f"arn:aws:{service}:"
    pre = pattern.split("*", 1)[0].split("?", 1)[0]
    return pre.startswith(head) or head.startswith(pre)


def _covers_service(pattern: str, service: str) -> bool:
    return pattern == "*" or (pattern.endswith("*") and f"arn:aws:{service}:".startswith(pattern[:-1]))


@dataclass
class Analysis:
    """Each principal's effective permissions, evaluated lazily and shared between principals with the same policies."""

    account: Account
    now: str = ""
    _cache: dict[tuple[Any, ...], Targets] = field(default_factory=dict)
    _sets: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...] | None, tuple[str, ...]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self.ctx = Context(self.now or self.account.newest)
        self.arns: dict[str, list[str]] = {
            "user": [p.arn for p in self.account.principals if p.kind == "user"],
            "role": [p.arn for p in self.account.principals if p.kind == "role"],
            "group": sorted(self.account.groups),
            "policy": sorted(self.account.policies),
        }

    def statements(self, p: Principal) -> tuple[tuple[Statement, ...], tuple[Statement, ...] | None, tuple[str, ...]]:
        """The principal's identity statements, its boundary's (or None), and the key they are cached under."""
        hit = self._sets.get(p.name)
        if hit is None:
            pols = self.account.policies
            sts: list[Statement] = list(p.inline)
            key: list[str] = [f"inline:{p.name}"] if p.inline else []
            for arn in p.attached:
                sts.extend(pols[arn].default)
                key.append(arn)
            for g in p.groups:
                grp = self.account.groups[g]
                sts.extend(grp.inline)
                key.append(f"group:{g}")
                for arn in grp.attached:
                    sts.extend(pols[arn].default)
                    key.append(arn)
            bound = pols[p.boundary].default if p.boundary else None
            if p.boundary:
                key.append(f"boundary:{p.boundary}")
            hit = self._sets[p.name] = (tuple(sts), bound, tuple(sorted(set(key))))
        return hit

    def targets(self, p: Principal, action: str, kind: str) -> Targets:
        """Which resources of ``kind`` (user, role, group, policy, or a service's) ``p`` may apply ``action`` to."""
        sts, bound, key = self.statements(p)
        ck = (key, action, kind)
        hit = self._cache.get(ck)
        if hit is None:
            hit = self._targets(sts, action, kind)
            if bound is not None and hit:
                b = self._targets(bound, action, kind)
                cond = hit.conditional or b.conditional
                if not b:
                    hit = NONE
                elif hit.all and b.all:
                    hit = Targets(True, conditional=cond)
                else:
                    arns = b.arns if hit.all else hit.arns if b.all else hit.arns & b.arns
                    hit = Targets(False, arns, cond) if arns else NONE
            self._cache[ck] = hit
        return hit

    def _targets(self, sts: tuple[Statement, ...], action: str, kind: str) -> Targets:
        rel = []
        for st in sts:
            if pol.action_matches(st, action):
                held = pol.conditions_hold(st, self.ctx)
                if held is not False:
                    rel.append((st, held))
        if not any(st.allow for st, _ in rel):
            return NONE
        if kind not in self.arns:  # a service's resources, which the export does not list
            service = _service_of(action)
            if any(not st.allow and held and not st.not_resource and any(_covers_service(r, service)
                                                                           for r in st.resources) for st, held in rel):
                return NONE
            ok = [held for st, held in rel if st.allow and (st.not_resource and st.resources != ("*",) or not
                                                            st.not_resource and any(_may_match_service(r, service)
                                                                                    for r in st.resources))]
            return Targets(True, conditional=not any(ok)) if ok else NONE
        if all(st.resources == ("*",) and not st.not_resource for st, _ in rel):
            if any(not st.allow and held for st, held in rel):
                return NONE
            return Targets(True, conditional=not any(st.allow and held for st, held in rel))
        only = tuple(st for st, _ in rel)
        hits, cond = [], False
        for arn in self.arns[kind]:
            v = pol.evaluate(only, action, arn, self.ctx)
            if v.allowed:
                hits.append(arn)
                cond = cond or v.conditional
        return Targets(False, frozenset(hits), cond) if hits else NONE

    def denied(self, p: Principal, action: str, arn: str) -> bool:
        """Whether an explicit, unconditional Deny of ``p``'s policies stops ``action`` on ``arn``."""
        sts, _, _ = self.statements(p)
        return any(not st.allow and pol.action_matches(st, action) and pol.resource_matches(st, arn)
                   and pol.conditions_hold(st, self.ctx) is True for st in sts)

    def is_admin_statements(self, sts: tuple[Statement, ...]) -> bool:
        """Whether statements alone allow ``*`` (or ``iam:*``) on every resource, unconditionally."""
        for action in _ALL_ACTIONS:
            rel = [st for st in sts if pol.action_matches(st, action)]
            if any(not st.allow and pol.conditions_hold(st, self.ctx) is not False for st in sts
                   if _deny_touches(st, action)):
                continue
            if any(st.allow and not st.not_action and any(a in (action, "*") for a in st.actions)
                   and st.resources == ("*",) and not st.not_resource and pol.conditions_hold(st, self.ctx) is True
                   for st in rel):
                return True
        return False

    def is_admin(self, p: Principal) -> bool:
        """Whether ``p`` is admin (see the module docstring); a permissions boundary must allow it too."""
        sts, bound, _ = self.statements(p)
        return self.is_admin_statements(sts) and (bound is None or self.is_admin_statements(bound))


def _deny_touches(st: Statement, action: str) -> bool:
    """Whether a Deny statement takes away any part of ``action`` (``*`` or ``iam:*``)."""
    if st.not_action:
        return not any(pol.wild(a, action, True) for a in st.actions)
    prefix = action.split(":", 1)[0] if action != "*" else ""
    return any(a == "*" or not prefix or a.startswith(prefix + ":") for a in st.actions)


# --------------------------------------------------------------------------- edges
@dataclass(frozen=True, slots=True)
class Edge:
    """``src`` can obtain ``dst``'s permissions (``dst`` is ``admin`` for a self-escalation) by ``method``."""

    src: str
    dst: str
    method: str
    conditional: bool = False
    via: str = ""
    """The resource the method acts on when it is not ``dst`` itself (a policy, a group, a role one assumes)."""


def _trusts(role: Principal, p: Principal, account: str) -> str:
    """How ``role``'s trust policy lets ``p`` assume it: ``arn`` (names it), ``account`` (root or ``*``), or ``""``."""
    how = ""
    for st in role.trust:
        if not pol.action_matches(st, "sts:assumerole"):
            continue
        named = account_wide = False
        for kind, v in st.principals:
            if kind == "AWS" and (v == p.arn or pol.wild(v, p.arn)) and v not in ("*",):
                named = True
            elif kind == "*" or (kind == "AWS" and v in ("*", f"arn:aws:iam::{account}:root", account)):
                account_wide = True
        if not st.allow and (named or account_wide):
            return ""
        if st.allow:
            how = "arn" if named else (how or ("account" if account_wide else ""))
    return how


EVERY = {"user": "user/*", "role": "role/*"}
"""The target of an edge that applies to every user (or role) but its source: one edge, not thousands."""


class _TrustIndex:
    """Which roles' trust policies may let a principal assume them, without scanning every role."""

    def __init__(self, roles: list[Principal], account: str):
        self.named: dict[str, list[Principal]] = {}
        self.other: list[Principal] = []  # trust the account, everyone, or an ARN pattern
        for r in roles:
            arns = {v for st in r.trust if st.allow for kind, v in st.principals if kind == "AWS"}
            wide = any(kind == "*" or kind == "AWS" and ("*" in v or v in (account, f"arn:aws:iam::{account}:root"))
                       for st in r.trust if st.allow for kind, v in st.principals)
            if wide:
                self.other.append(r)
            for a in sorted(arns):
                if "*" not in a:
                    self.named.setdefault(a, []).append(r)

    def candidates(self, p: Principal, may_assume: bool) -> list[Principal]:
        """Roles that name ``p``, and (if its own policies allow sts:AssumeRole) those that trust more widely."""
        return self.named.get(p.arn, []) + (self.other if may_assume else [])


def escalations(an: Analysis) -> tuple[list[Edge], set[str]]:
    """Every escalation edge of the account, and the names of its admin principals."""
    acct = an.account
    trust_index = _TrustIndex(roles := [p for p in acct.principals if p.kind == "role"], acct.account)
    users = [p for p in acct.principals if p.kind == "user"]
    admins = {p.name for p in acct.principals if an.is_admin(p)}
    admin_groups = {g.arn for g in acct.groups.values()
                    if an.is_admin_statements(tuple(s for a in g.attached for s in acct.policies[a].default) + g.inline)}
    by_service: dict[str, list[Principal]] = {}
    for r in roles:
        for s in r.services:
            if s != "ec2.amazonaws.com" or r.instance_profile:
                by_service.setdefault(s, []).append(r)
    edges: list[Edge] = []
    for p in acct.principals:
        if p.name in admins:
            continue
        out = _edges_of(an, p, users, roles, by_service, trust_index, admin_groups)
        edges.extend(out)
    return edges, admins


def _attached_customer(an: Analysis, p: Principal) -> list[str]:
    arns = set(p.attached)
    for g in p.groups:
        arns.update(an.account.groups[g].attached)
    return sorted(a for a in arns if not an.account.policies[a].aws_managed)


def _edges_of(an: Analysis, p: Principal, users: list[Principal], roles: list[Principal],
              by_service: dict[str, list[Principal]], trust_index: _TrustIndex, admin_groups: set[str]) -> list[Edge]:
    out: list[Edge] = []
    acct = an.account
    t = an.targets

    def add(dst: str, m: Method, cond: bool, via: str = "") -> None:
        out.append(Edge(p.name, dst, m.id, cond, via))

    assumable: dict[str, tuple[bool, Principal]] = {}
    for m in METHODS:
        if m.shape == "self":
            a = m.actions[0].lower()
            if a in ("iam:createpolicyversion", "iam:setdefaultpolicyversion"):
                ts = t(p, a, "policy")
                for arn in _attached_customer(an, p):
                    mp = acct.policies[arn]
                    if arn in ts and (a == "iam:createpolicyversion" or any(an.is_admin_statements(o)
                                                                            for o in mp.others)):
                        add("admin", m, ts.conditional, arn)
                        break
            elif a in ("iam:attachuserpolicy", "iam:putuserpolicy", "iam:attachrolepolicy", "iam:putrolepolicy"):
                kind = "user" if "user" in a else "role"
                if p.kind == kind and p.arn in (ts := t(p, a, kind)):
                    add("admin", m, ts.conditional)
            elif a in ("iam:attachgrouppolicy", "iam:putgrouppolicy"):
                ts = t(p, a, "group")
                for g in p.groups:
                    if g in ts:
                        add("admin", m, ts.conditional, g)
                        break
            elif a == "iam:addusertogroup" and p.kind == "user":
                ts = t(p, a, "group")
                for g in sorted(admin_groups - set(p.groups)):
                    if g in ts:
                        add("admin", m, ts.conditional, g)
                        break
        elif m.shape == "user":
            ts = t(p, m.actions[0].lower(), "user")
            if ts.all:
                add(EVERY["user"], m, ts.conditional)
            elif ts:
                for u in users:
                    if u.name != p.name and u.arn in ts:
                        add(u.name, m, ts.conditional)
        elif m.shape == "service":
            cands = by_service.get(m.service, [])
            if not cands:
                continue
            others = [t(p, a.lower(), "service") for a in m.actions if a != "iam:PassRole"]
            if not all(others):
                continue
            cond = any(o.conditional for o in others)
            if m.passrole:
                pr = t(p, "iam:passrole", "role")
                for r in cands:
                    if r.name != p.name and r.arn in pr:
                        add(r.name, m, cond or pr.conditional)
            else:
                for r in cands:
                    if r.name != p.name:
                        add(r.name, m, cond)
        elif m.shape == "trust":
            if m.id == "sts:AssumeRole":
                ts = t(p, "sts:assumerole", "role")
                for r in trust_index.candidates(p, bool(ts)):
                    if r.name == p.name:
                        continue
                    how = _trusts(r, p, acct.account)
                    if how == "arn" and not an.denied(p, "sts:assumerole", r.arn) or how == "account" and r.arn in ts:
                        assumable[r.name] = (how == "account" and ts.conditional, r)
                        add(r.name, m, how == "account" and ts.conditional)
            else:
                ts = t(p, "iam:updateassumerolepolicy", "role")
                if ts.all:
                    add(EVERY["role"], m, ts.conditional)
                    continue
                for r in roles:
                    if r.name != p.name and r.arn in ts:
                        assumable.setdefault(r.name, (ts.conditional, r))
                        add(r.name, m, ts.conditional)
    # pairs: obtain a principal's credentials and rewrite its permissions
    pairs = {m.pathfinding: m for m in METHODS if m.shape == "pair"}
    for name, (cond, r) in sorted(assumable.items()):
        for pid, action in (("iam-014", "iam:attachrolepolicy"), ("iam-017", "iam:putrolepolicy")):
            ts = t(p, action, "role")
            if r.arn in ts:
                add("admin", pairs[pid], cond or ts.conditional, name)
        ts = t(p, "iam:createpolicyversion", "policy")
        if any(a in ts for a in _attached_customer(an, r)):
            add("admin", pairs["iam-016"], cond or ts.conditional, name)
    keys = t(p, "iam:createaccesskey", "user")
    if keys:
        for pid, action in (("iam-015", "iam:attachuserpolicy"), ("iam-018", "iam:putuserpolicy")):
            ts = t(p, action, "user")
            if not ts:
                continue
            victim = next((u for u in users if u.name != p.name and u.arn in keys and u.arn in ts), None)
            if victim is not None:
                add("admin", pairs[pid], keys.conditional or ts.conditional, victim.name)
    return out
