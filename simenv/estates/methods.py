"""The AWS privilege-escalation methods simenv knows, with their ids in the public catalogues.

``rhino`` is the number of the method in Rhino Security Labs' 21 (Spencer Gietzen, "AWS
Privilege Escalation – Methods and Mitigation", 2018; IAMVulnerable's ``privesc1``..``privesc21``
follow it); ``pathfinding`` is the id at pathfinding.cloud (Datadog's catalogue), where it has
one. :func:`simenv.estates.aws.escalations` turns each into edges; :attr:`Method.shape` says how:

* ``self``: the principal can rewrite its own permissions: an edge to ``admin``;
* ``user``: it obtains the credentials of another user;
* ``service``: it runs code as a role that an AWS service may assume (``service`` names it): by
  passing the role to new compute (``passrole``) or by changing compute that already runs as it;
* ``trust``: it assumes a role whose trust policy lets it, or rewrites that trust policy;
* ``pair``: it obtains another principal's credentials *and* can rewrite that principal's
  permissions (the two-permission paths of pathfinding.cloud): an edge to ``admin``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Method:
    """One escalation method: the actions it needs, and how it turns into an edge."""

    id: str
    name: str
    actions: tuple[str, ...]
    shape: str
    rhino: int | None = None
    pathfinding: str | None = None
    service: str = ""
    passrole: bool = False
    existing: bool = False
    """It changes compute that already runs (a function, a stack, an instance), which the export does not list."""


M = Method
METHODS: tuple[Method, ...] = (
    M("iam:CreatePolicyVersion", "create a new default version of a policy attached to oneself",
      ("iam:CreatePolicyVersion",), "self", 1, "iam-001"),
    M("iam:SetDefaultPolicyVersion", "make a more privileged existing version of an attached policy the default",
      ("iam:SetDefaultPolicyVersion",), "self", 2),
    M("ec2:RunInstances", "pass a role to a new EC2 instance and use its credentials",
      ("iam:PassRole", "ec2:RunInstances"), "service", 3, "ec2-001", "ec2.amazonaws.com", passrole=True),
    M("iam:CreateAccessKey", "create an access key for another user", ("iam:CreateAccessKey",), "user", 4, "iam-002"),
    M("iam:CreateLoginProfile", "set a console password for a user that has none",
      ("iam:CreateLoginProfile",), "user", 5, "iam-004"),
    M("iam:UpdateLoginProfile", "change another user's console password", ("iam:UpdateLoginProfile",), "user", 6,
      "iam-006"),
    M("iam:AttachUserPolicy", "attach any managed policy to oneself (a user)", ("iam:AttachUserPolicy",), "self", 7,
      "iam-008"),
    M("iam:AttachGroupPolicy", "attach any managed policy to a group one is in", ("iam:AttachGroupPolicy",), "self", 8,
      "iam-010"),
    M("iam:AttachRolePolicy", "attach any managed policy to oneself (a role)", ("iam:AttachRolePolicy",), "self", 9,
      "iam-009"),
    M("iam:PutUserPolicy", "write an inline policy on oneself (a user)", ("iam:PutUserPolicy",), "self", 10, "iam-007"),
    M("iam:PutGroupPolicy", "write an inline policy on a group one is in", ("iam:PutGroupPolicy",), "self", 11,
      "iam-011"),
    M("iam:PutRolePolicy", "write an inline policy on oneself (a role)", ("iam:PutRolePolicy",), "self", 12, "iam-005"),
    M("iam:AddUserToGroup", "add oneself to a more privileged group", ("iam:AddUserToGroup",), "self", 13, "iam-013"),
    M("iam:UpdateAssumeRolePolicy", "rewrite a role's trust policy to trust oneself, then assume it",
      ("iam:UpdateAssumeRolePolicy",), "trust", 14, "iam-012"),
    M("lambda:CreateFunction+InvokeFunction", "pass a role to a new Lambda function and invoke it",
      ("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"), "service", 15, "lambda-001",
      "lambda.amazonaws.com", passrole=True),
    M("lambda:CreateFunction+CreateEventSourceMapping", "pass a role to a new Lambda function triggered by a stream",
      ("iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"), "service", 16, "lambda-002",
      "lambda.amazonaws.com", passrole=True),
    M("lambda:UpdateFunctionCode", "replace the code of an existing function that runs as a role",
      ("lambda:UpdateFunctionCode",), "service", 17, "lambda-003", "lambda.amazonaws.com", existing=True),
    M("glue:CreateDevEndpoint", "pass a role to a new Glue development endpoint",
      ("iam:PassRole", "glue:CreateDevEndpoint"), "service", 18, "glue-001", "glue.amazonaws.com", passrole=True),
    M("glue:UpdateDevEndpoint", "add one's SSH key to an existing Glue development endpoint",
      ("glue:UpdateDevEndpoint",), "service", 19, "glue-002", "glue.amazonaws.com", existing=True),
    M("cloudformation:CreateStack", "pass a role to a new CloudFormation stack",
      ("iam:PassRole", "cloudformation:CreateStack"), "service", 20, "cloudformation-001",
      "cloudformation.amazonaws.com", passrole=True),
    M("datapipeline:CreatePipeline", "pass a role to a new Data Pipeline that runs commands",
      ("iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
       "datapipeline:ActivatePipeline"), "service", 21, "datapipeline-001", "datapipeline.amazonaws.com",
      passrole=True),
    M("sts:AssumeRole", "assume a role whose trust policy allows it", ("sts:AssumeRole",), "trust", None, "sts-001"),
    M("codebuild:CreateProject+StartBuild", "pass a role to a new CodeBuild project and start a build",
      ("iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"), "service", None, "codebuild-001",
      "codebuild.amazonaws.com", passrole=True),
    M("codebuild:CreateProject+StartBuildBatch", "pass a role to a new CodeBuild project and start a batch build",
      ("iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuildBatch"), "service", None, "codebuild-004",
      "codebuild.amazonaws.com", passrole=True),
    M("sagemaker:CreateNotebookInstance", "pass a role to a new SageMaker notebook",
      ("iam:PassRole", "sagemaker:CreateNotebookInstance"), "service", None, "sagemaker-001",
      "sagemaker.amazonaws.com", passrole=True),
    M("sagemaker:CreateTrainingJob", "pass a role to a new SageMaker training job",
      ("iam:PassRole", "sagemaker:CreateTrainingJob"), "service", None, "sagemaker-002", "sagemaker.amazonaws.com",
      passrole=True),
    M("sagemaker:CreateProcessingJob", "pass a role to a new SageMaker processing job",
      ("iam:PassRole", "sagemaker:CreateProcessingJob"), "service", None, "sagemaker-003", "sagemaker.amazonaws.com",
      passrole=True),
    M("sagemaker:CreatePresignedNotebookInstanceUrl", "open an existing notebook that runs as a role",
      ("sagemaker:CreatePresignedNotebookInstanceUrl",), "service", None, "sagemaker-004", "sagemaker.amazonaws.com",
      existing=True),
    M("cloudformation:UpdateStack", "change an existing stack that runs as a role", ("cloudformation:UpdateStack",),
      "service", None, "cloudformation-002", "cloudformation.amazonaws.com", existing=True),
    M("ssm:StartSession", "open a shell on an instance that runs as a role", ("ssm:StartSession",), "service", None,
      "ssm-001", "ec2.amazonaws.com", existing=True),
    M("ssm:SendCommand", "run a command on an instance that runs as a role", ("ssm:SendCommand",), "service", None,
      "ssm-002", "ec2.amazonaws.com", existing=True),
    M("ec2-instance-connect:SendSSHPublicKey", "log in to an instance that runs as a role",
      ("ec2-instance-connect:SendSSHPublicKey",), "service", None, "ec2instanceconnect-003", "ec2.amazonaws.com",
      existing=True),
    M("iam:AttachRolePolicy+sts:AssumeRole", "attach an admin policy to a role one can assume",
      ("iam:AttachRolePolicy", "sts:AssumeRole"), "pair", None, "iam-014"),
    M("iam:AttachUserPolicy+iam:CreateAccessKey", "attach an admin policy to a user and create its access key",
      ("iam:AttachUserPolicy", "iam:CreateAccessKey"), "pair", None, "iam-015"),
    M("iam:CreatePolicyVersion+sts:AssumeRole", "rewrite a policy of a role one can assume",
      ("iam:CreatePolicyVersion", "sts:AssumeRole"), "pair", None, "iam-016"),
    M("iam:PutRolePolicy+sts:AssumeRole", "write an admin inline policy on a role one can assume",
      ("iam:PutRolePolicy", "sts:AssumeRole"), "pair", None, "iam-017"),
    M("iam:PutUserPolicy+iam:CreateAccessKey", "write an admin inline policy on a user and create its access key",
      ("iam:PutUserPolicy", "iam:CreateAccessKey"), "pair", None, "iam-018"),
)
"""Every method, in catalogue order."""
BY_ID = {m.id: m for m in METHODS}
ACTIONS: tuple[str, ...] = tuple(sorted({a.lower() for m in METHODS for a in m.actions}))
"""Every action some method needs (lower case)."""
