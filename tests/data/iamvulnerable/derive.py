"""Derive ``authorization-details.json`` and ``labels.json`` from a checkout of Bishop Fox's IAMVulnerable.

IAMVulnerable (https://github.com/BishopFox/iam-vulnerable, BSD-3-Clause) deploys labelled AWS
privilege-escalation paths with Terraform. This script reads the Terraform of
``modules/free-resources/privesc-paths/`` and ``modules/free-resources/tool-testing/`` and writes
what ``aws iam get-account-authorization-details`` would return once it is deployed in account
``111111111111``, and the label of every principal (which case it belongs to, and whether the case
is an escalation to admin):

    pip install python-hcl2
    python tests/data/iamvulnerable/derive.py PATH/TO/iam-vulnerable

The Terraform variable ``aws_assume_role_arn`` (the principal that may assume every role it
creates) becomes the user ``iamv-operator`` (no policies), and ``aws_root_user`` the account root.
AWS managed policies named by ARN are written from :data:`AWS_MANAGED` (their published
documents). Nothing else is added or left out: every user, group, role, policy, attachment,
membership and instance profile of those folders is in the output.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ACCOUNT = "111111111111"
OPERATOR = "iamv-operator"
DATE = "2021-06-14T00:00:00Z"  # IAMVulnerable's first release
FOLDERS = ("modules/free-resources/privesc-paths", "modules/free-resources/tool-testing")
VARS = {
    "var.aws_assume_role_arn": f"arn:aws:iam::{ACCOUNT}:user/{OPERATOR}",
    "var.aws_root_user": f"arn:aws:iam::{ACCOUNT}:root",
}
ALL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
NOT_ALONE = {
    "role": ("privesc7-", "privesc8-", "privesc10-", "privesc11-", "privesc13-"),
    "user": ("privesc9-", "privesc12-"),
}
"""Cases whose method changes only one kind of principal: a user's or a group's policies or groups (so the case's
role, which is neither, has no path), or the principal's own role (so the case's user has none)."""
AWS_MANAGED = {
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html (v3)
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Resource": "*", "Action": [
                "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
                "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
                "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
                "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"]},
            {"Effect": "Allow", "Resource": "*", "Action": [
                "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]},
            {"Effect": "Allow", "Resource": "*", "Action": [
                "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
                "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"]},
        ],
    },
}


def _unquote(v: Any) -> Any:
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return json.loads(v)
    if isinstance(v, list):
        return [_unquote(x) for x in v]
    if isinstance(v, dict):
        return {_unquote(k): _unquote(x) for k, x in v.items() if k not in ("__is_block__", "__comments__")}
    return v


class Terraform:
    """The IAM resources of a set of Terraform files, with references resolved."""

    def __init__(self, files: list[Path]):
        import hcl2  # only this script needs it

        self.blocks: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.origin: dict[tuple[str, str], str] = {}
        for f in files:
            doc = hcl2.loads(f.read_text())
            for section in ("resource", "data"):
                for entry in doc.get(section, []):
                    for rtype, named in entry.items():
                        for name, body in named.items():
                            key = (section, _unquote(rtype), _unquote(name))
                            self.blocks[key] = _unquote(body)
                            self.origin[key[1:]] = f.name

    def of(self, rtype: str, section: str = "resource") -> list[tuple[str, dict[str, Any]]]:
        return sorted((n, b) for (s, t, n), b in self.blocks.items() if s == section and t == rtype)

    def value(self, v: Any) -> Any:
        """A Terraform value with its references and ``jsonencode`` calls resolved."""
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if not (isinstance(v, str) and v.startswith("${") and v.endswith("}")):
            return v
        expr = v[2:-1].strip()
        if expr.startswith("jsonencode(") and expr.endswith(")"):
            import hcl2

            return self.value(_unquote(hcl2.loads(f"x = {expr[len('jsonencode('):-1]}")["x"]))
        if expr in VARS:
            return VARS[expr]
        m = re.fullmatch(r"(data\.)?([a-z_0-9]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)", expr)
        if not m:
            raise SystemExit(f"unresolved expression {expr!r}")
        section = "data" if m.group(1) else "resource"
        rtype, name, attr = m.group(2), m.group(3), m.group(4)
        body = self.blocks[(section, rtype, name)]
        if rtype == "aws_iam_policy_document" and attr == "json":
            return policy_document(body)
        if rtype == "aws_iam_policy" and section == "data" and attr == "arn":
            return body["arn"]
        kind = {"aws_iam_policy": "policy", "aws_iam_role": "role", "aws_iam_user": "user",
                "aws_iam_group": "group"}[rtype]
        if attr == "name":
            return body["name"]
        if attr == "arn":
            return f"arn:aws:iam::{ACCOUNT}:{kind}{body.get('path', '/')}{body['name']}"
        raise SystemExit(f"unknown attribute {expr!r}")


def policy_document(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON of a ``data "aws_iam_policy_document"`` block."""
    out = []
    for st in body.get("statement", []):
        s: dict[str, Any] = {"Effect": st.get("effect", "Allow")}
        for tf, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                        ("not_resources", "NotResource")):
            if tf in st:
                s[key] = st[tf]
        for c in st.get("condition", []):
            s.setdefault("Condition", {}).setdefault(c["test"], {})[c["variable"]] = c["values"]
        unknown = set(st) - {"actions", "not_actions", "resources", "not_resources", "condition", "effect", "sid"}
        if unknown:
            raise SystemExit(f"policy document statement has {sorted(unknown)}")
        out.append(s)
    return {"Version": "2012-10-17", "Statement": out}


def derive(root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    files = sorted(p for folder in FOLDERS for p in (root / folder).glob("*.tf"))
    if not files:
        raise SystemExit(f"{root}: no Terraform under {', '.join(FOLDERS)}")
    tf = Terraform(files)
    known = {"aws_iam_policy", "aws_iam_role", "aws_iam_user", "aws_iam_group", "aws_iam_access_key",
             "aws_iam_group_membership", "aws_iam_user_policy_attachment", "aws_iam_role_policy_attachment",
             "aws_iam_group_policy_attachment", "aws_iam_instance_profile"}
    for section, rtype, name in tf.blocks:
        if section == "resource" and rtype not in known or section == "data" and rtype not in (
                "aws_iam_policy", "aws_iam_policy_document"):
            raise SystemExit(f"{section} {rtype}.{name} is not handled")

    def arn(kind: str, body: dict[str, Any]) -> str:
        return f"arn:aws:iam::{ACCOUNT}:{kind}{body.get('path', '/')}{body['name']}"

    policies: dict[str, dict[str, Any]] = {}
    for _, b in tf.of("aws_iam_policy"):
        doc = tf.value(b["policy"])
        policies[arn("policy", b)] = {"name": b["name"], "path": b.get("path", "/"),
                                      "description": b.get("description", ""), "doc": doc}
    for _, b in tf.of("aws_iam_policy", "data"):
        a = b["arn"]
        policies[a] = {"name": a.rsplit("/", 1)[1], "path": "/", "description": "", "doc": AWS_MANAGED[a]}

    attached: dict[tuple[str, str], list[str]] = {}
    for rtype, kind in (("aws_iam_user_policy_attachment", "user"), ("aws_iam_role_policy_attachment", "role"),
                        ("aws_iam_group_policy_attachment", "group")):
        for _, b in tf.of(rtype):
            attached.setdefault((kind, tf.value(b[kind])), []).append(tf.value(b["policy_arn"]))
    for _, b in tf.of("aws_iam_role"):
        for a in tf.value(b.get("managed_policy_arns", [])):
            attached.setdefault(("role", b["name"]), []).append(a)
    members: dict[str, list[str]] = {}
    for _, b in tf.of("aws_iam_group_membership"):
        for u in tf.value(b["users"]):
            members.setdefault(u, []).append(tf.value(b["group"]))
    profiles: dict[str, list[str]] = {}
    for _, b in tf.of("aws_iam_instance_profile"):
        profiles.setdefault(tf.value(b["role"]), []).append(b["name"])

    def managed(kind: str, name: str) -> list[dict[str, str]]:
        arns = sorted(set(attached.get((kind, name), [])))
        return [{"PolicyName": policies[a]["name"], "PolicyArn": a} for a in arns]

    users = [{"Path": "/", "UserName": OPERATOR, "UserId": "AIDA" + "OPERATOR".ljust(17, "0"),
              "Arn": VARS["var.aws_assume_role_arn"], "CreateDate": DATE, "UserPolicyList": [], "GroupList": [],
              "AttachedManagedPolicies": [], "Tags": []}]
    for k, (_, b) in enumerate(tf.of("aws_iam_user")):
        users.append({"Path": b.get("path", "/"), "UserName": b["name"], "UserId": f"AIDA{k:017d}",
                      "Arn": arn("user", b), "CreateDate": DATE, "UserPolicyList": [],
                      "GroupList": sorted(members.get(b["name"], [])),
                      "AttachedManagedPolicies": managed("user", b["name"]), "Tags": []})
    groups = [{"Path": b.get("path", "/"), "GroupName": b["name"], "GroupId": f"AGPA{k:017d}", "Arn": arn("group", b),
               "CreateDate": DATE, "GroupPolicyList": [], "AttachedManagedPolicies": managed("group", b["name"])}
              for k, (_, b) in enumerate(tf.of("aws_iam_group"))]
    roles = []
    for k, (_, b) in enumerate(tf.of("aws_iam_role")):
        roles.append({
            "Path": b.get("path", "/"), "RoleName": b["name"], "RoleId": f"AROA{k:017d}", "Arn": arn("role", b),
            "CreateDate": DATE, "AssumeRolePolicyDocument": tf.value(b["assume_role_policy"]),
            "InstanceProfileList": [
                {"Path": "/", "InstanceProfileName": p, "InstanceProfileId": f"AIPA{k:017d}",
                 "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{p}", "CreateDate": DATE, "Roles": []}
                for p in sorted(profiles.get(b["name"], []))],
            "RolePolicyList": [], "AttachedManagedPolicies": managed("role", b["name"]), "Tags": [],
            "RoleLastUsed": {}})
    counts: dict[str, int] = {}
    for (_, _), arns in attached.items():
        for a in set(arns):
            counts[a] = counts.get(a, 0) + 1
    # privesc2's own note: "you would need to make a revision of this policy and give all access, and then set it
    # back" (Terraform cannot make versions). That revision is v2, all access, not the default.
    second = {arn("policy", b) for _, b in tf.of("aws_iam_policy")
              if b["name"] == "privesc2-SetExistingDefaultPolicyVersion"}
    pols = [{"PolicyName": p["name"], "PolicyId": f"ANPA{k:017d}", "Arn": a, "Path": p["path"],
             "DefaultVersionId": "v1", "AttachmentCount": counts.get(a, 0), "PermissionsBoundaryUsageCount": 0,
             "IsAttachable": True, "Description": p["description"], "CreateDate": DATE, "UpdateDate": DATE,
             "PolicyVersionList": [{"Document": p["doc"], "VersionId": "v1", "IsDefaultVersion": True,
                                    "CreateDate": DATE}] + ([{"Document": ALL_ACCESS, "VersionId": "v2",
                                                               "IsDefaultVersion": False, "CreateDate": DATE}]
                                                             if a in second else [])}
            for k, (a, p) in enumerate(sorted(policies.items()))]
    details = {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": pols,
               "IsTruncated": False}
    labels = {}
    for (rtype, name), fname in sorted(tf.origin.items()):
        if rtype not in ("aws_iam_user", "aws_iam_role"):
            continue
        folder = "tool-testing" if fname.startswith(("fn", "fp", "privesc-permissive")) else "privesc-paths"
        case = fname.removesuffix(".tf")
        expect = "none" if case.startswith("fp") else ("target" if case in (
            "privesc-permissive-role-trust", "service-linked-role-common", "sre") else "admin")
        pname = tf.blocks[("resource", rtype, name)]["name"]
        why = ""
        kind = rtype.removeprefix("aws_iam_")
        if expect == "admin" and case.startswith(NOT_ALONE[kind]):
            expect, why = "none", f"the method changes a {'user or group' if kind == 'role' else 'role'}; this {kind} " \
                                  "is not one"
        if pname == "privesc-AssumeRole-start-user":
            expect, why = "none", "no policy, and no trust policy names it: the path starts at the starting role"
        labels[f"{kind}/{pname}"] = {"case": case, "folder": folder, "expect": expect, **({"why": why} if why else {})}
    return details, labels


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="a checkout of BishopFox/iam-vulnerable")
    p.add_argument("-o", "--out", type=Path, default=Path(__file__).parent)
    a = p.parse_args()
    details, labels = derive(a.root)
    (a.out / "authorization-details.json").write_text(json.dumps(details, indent=1, sort_keys=True) + "\n")
    (a.out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    print(f"{len(details['UserDetailList'])} users, {len(details['GroupDetailList'])} groups, "
          f"{len(details['RoleDetailList'])} roles, {len(details['Policies'])} policies", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
