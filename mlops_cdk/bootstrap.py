"""One scoped CDK bootstrap per environment: names, the boundary and the execution policy.

``cdk bootstrap`` gives CloudFormation ``AdministratorAccess`` unless told otherwise. This module
derives what the environment's stacks need from their synthesized templates instead:

- the **execution policy** (``--cloudformation-execution-policies``): ``<service>:*`` for each
  service whose resource types the templates declare, what CDK assets and custom resources need,
  and, for IAM, only the actions the stacks use, with role creation and policy changes allowed
  only on roles carrying the boundary;
- the **permissions boundary** (``--custom-permissions-boundary``, also set on every role the app
  creates): the services the execution role and the app's roles use, and denies on creating
  unbounded roles, removing a boundary or editing the boundary or the execution policy.

Everything here is a pure function of templates (plain dicts) and names, so tests and
``scripts/bootstrap.py`` share it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk

from mlops_cdk.config import Settings

BOOTSTRAP_QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
"""Context key every ``DefaultStackSynthesizer`` reads its qualifier from."""

SERVICE_PREFIXES: dict[str, str] = {
    "ApiGateway": "apigateway",
    "ApiGatewayV2": "apigateway",
    "ApplicationAutoScaling": "application-autoscaling",
    "Budgets": "budgets",
    "CertificateManager": "acm",
    "CloudFormation": "cloudformation",
    "CloudWatch": "cloudwatch",
    "DynamoDB": "dynamodb",
    "EC2": "ec2",
    "ECR": "ecr",
    "EKS": "eks",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "Events": "events",
    "KMS": "kms",
    "KinesisFirehose": "firehose",
    "Lambda": "lambda",
    "Logs": "logs",
    "S3": "s3",
    "SNS": "sns",
    "SQS": "sqs",
    "SSM": "ssm",
    "SageMaker": "sagemaker",
    "Scheduler": "scheduler",
    "SecretsManager": "secretsmanager",
    "StepFunctions": "states",
    "WAFv2": "wafv2",
}
"""CloudFormation namespace (``AWS::<namespace>::Type``) -> IAM service prefix. A namespace not
listed fails generation, so a new kind of resource is a reviewed change to this table."""

COMPANION_SERVICES: dict[str, tuple[str, ...]] = {
    # Target tracking policies create and delete their CloudWatch alarms with the caller's rights.
    "application-autoscaling": ("cloudwatch",),
}
"""Services a service's CloudFormation handlers call on the caller's behalf."""

IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": (
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListRoleTags",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRole",
    ),
    "AWS::IAM::Policy": (),
    "AWS::IAM::ManagedPolicy": (
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ),
    "AWS::IAM::OIDCProvider": (
        "iam:CreateOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "iam:GetOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UntagOpenIDConnectProvider",
    ),
}
"""IAM resource types the stacks may declare and the actions managing them needs, besides the
boundary-conditioned ones (``BOUNDED_ROLE_ACTIONS``). Any other IAM type fails generation."""

BOUNDED_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)
"""Role actions that set or change permissions: allowed only when ``iam:PermissionsBoundary``
is the boundary (IAM evaluates that key on exactly these role actions)."""

SERVICE_LINKED_ROLES: dict[str, str] = {
    "AWS::EKS::Cluster": "eks.amazonaws.com",
    "AWS::EKS::FargateProfile": "eks-fargate.amazonaws.com",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing.amazonaws.com",
}
"""Resource types whose creation creates a service-linked role (``iam:AWSServiceName``); an
``AWS::ApplicationAutoScaling::ScalableTarget`` adds ``<namespace>.application-autoscaling``."""

MANAGED_POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "service-role/AWSLambdaBasicExecutionRole": ("logs:*",),
    "service-role/AWSLambdaVPCAccessExecutionRole": ("ec2:*", "logs:*"),
    "AmazonEKSClusterPolicy": (
        "autoscaling:*",
        "ec2:*",
        "elasticloadbalancing:*",
        "kms:*",
        "iam:CreateServiceLinkedRole",
    ),
    "AmazonEKSFargatePodExecutionRolePolicy": ("ecr:*",),
    "AmazonEC2ContainerRegistryReadOnly": ("ecr:*",),
    "AmazonElasticContainerRegistryPublicReadOnly": ("ecr-public:*", "sts:GetServiceBearerToken"),
}
"""AWS managed policies the app's roles attach, as the boundary must allow them: services as
``<service>:*``, identity services action by action. An unlisted policy fails generation."""

_IDENTITY_SERVICES = ("iam", "sts")
"""Allowed action by action in the boundary, never as ``<service>:*``."""
_SKIPPED_TYPES = ("AWS::CDK::Metadata",)
_MANAGED_POLICY_RE = re.compile(r"iam::aws:policy/([A-Za-z0-9+=,.@/_-]+)")


@dataclass(frozen=True)
class BootstrapTarget:
    """Where and under which names one environment is bootstrapped."""

    partition: str
    account: str
    region: str
    qualifier: str
    stack_prefix: str

    @classmethod
    def from_settings(cls, settings: Settings, partition: str = "aws") -> BootstrapTarget:
        """The target of ``settings`` (its account, region, qualifier and stack names)."""
        return cls(
            partition=partition,
            account=settings.account,
            region=settings.region,
            qualifier=settings.cicd.bootstrap_qualifier,
            stack_prefix=settings.stack_prefix,
        )

    def policy_arn(self, name: str) -> str:
        """ARN of the customer-managed policy ``name`` in the target account."""
        return f"arn:{self.partition}:iam::{self.account}:policy/{name}"

    @property
    def boundary_arn(self) -> str:
        """ARN of the permissions boundary."""
        return self.policy_arn(boundary_name(self.qualifier))

    @property
    def execution_policy_arn(self) -> str:
        """ARN of the CloudFormation execution policy."""
        return self.policy_arn(execution_policy_name(self.qualifier))

    @property
    def own_roles(self) -> str:
        """The environment's roles: CloudFormation names them ``<stack name>-<id>-<suffix>``."""
        return f"arn:{self.partition}:iam::{self.account}:role/{self.stack_prefix}-*"


def boundary_name(qualifier: str) -> str:
    """Name of the permissions boundary of the bootstrap ``qualifier``."""
    return f"cdk-{qualifier}-role-boundary"


def execution_policy_name(qualifier: str) -> str:
    """Name of the CloudFormation execution policy of the bootstrap ``qualifier``."""
    return f"cdk-{qualifier}-cfn-exec-policy"


def permissions_boundary(settings: Settings) -> cdk.PermissionsBoundary | None:
    """The boundary every role of the environment carries (``None`` when turned off)."""
    if not settings.cicd.permissions_boundary:
        return None
    return cdk.PermissionsBoundary.from_name(boundary_name(settings.cicd.bootstrap_qualifier))


def _resources(templates: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    for template in templates:
        yield from template.get("Resources", {}).values()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def service_prefix(resource_type: str) -> str:
    """IAM service prefix of a CloudFormation resource type (``AWS::EC2::VPC`` -> ``ec2``).

    Raises:
        ValueError: The namespace is not in ``SERVICE_PREFIXES``.
    """
    parts = resource_type.split("::")
    if len(parts) != 3 or parts[0] != "AWS" or parts[1] not in SERVICE_PREFIXES:
        raise ValueError(
            f"{resource_type}: no IAM service prefix known; add its namespace to "
            "mlops_cdk.bootstrap.SERVICE_PREFIXES"
        )
    return SERVICE_PREFIXES[parts[1]]


def _is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == (
        "AWS::CloudFormation::CustomResource"
    )


def deployed_services(templates: Iterable[Mapping[str, Any]]) -> set[str]:
    """Service prefixes CloudFormation needs for the templates' non-IAM resources.

    Custom resources need ``lambda`` (CloudFormation invokes their provider function).

    Raises:
        ValueError: A resource type has no known service or IAM mapping.
    """
    services: set[str] = set()
    for resource in _resources(templates):
        resource_type = resource["Type"]
        if resource_type in _SKIPPED_TYPES:
            continue
        if _is_custom_resource(resource_type):
            services.add("lambda")
        elif resource_type.startswith("AWS::IAM::"):
            if resource_type not in IAM_ACTIONS:
                raise ValueError(
                    f"{resource_type}: no IAM actions mapped; add them to "
                    "mlops_cdk.bootstrap.IAM_ACTIONS"
                )
        else:
            services.add(service_prefix(resource_type))
    for service in list(services):
        services.update(COMPANION_SERVICES.get(service, ()))
    return services


def _iam_types(templates: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        resource["Type"]
        for resource in _resources(templates)
        if resource["Type"].startswith("AWS::IAM::")
    }


def passed_to_services(templates: Iterable[Mapping[str, Any]]) -> list[str]:
    """Service principals the templates' roles trust: the services roles are passed to."""
    services = {
        service
        for resource in _resources(templates)
        if resource["Type"] == "AWS::IAM::Role"
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for service in _as_list(statement.get("Principal", {}).get("Service", []))
        if isinstance(service, str)
    }
    return sorted(services)


def service_linked_roles(templates: Iterable[Mapping[str, Any]]) -> list[str]:
    """``iam:AWSServiceName`` of the service-linked roles creating the resources may create."""
    names = set()
    for resource in _resources(templates):
        resource_type = resource["Type"]
        if resource_type in SERVICE_LINKED_ROLES:
            names.add(SERVICE_LINKED_ROLES[resource_type])
        elif resource_type == "AWS::ApplicationAutoScaling::ScalableTarget":
            namespace = resource["Properties"]["ServiceNamespace"]
            names.add(f"{namespace}.application-autoscaling.amazonaws.com")
    return sorted(names)


def _iam_resource(resource_type: str, target: BootstrapTarget) -> str:
    """What the stacks' IAM resources of ``resource_type`` are named: after their stack."""
    iam = f"arn:{target.partition}:iam::{target.account}"
    return {
        "AWS::IAM::Role": target.own_roles,
        "AWS::IAM::ManagedPolicy": f"{iam}:policy/{target.stack_prefix}-*",
        "AWS::IAM::OIDCProvider": f"{iam}:oidc-provider/*",
    }[resource_type]


def _iam_statements(templates: list[Mapping[str, Any]], target: BootstrapTarget) -> list[dict]:
    iam_types = _iam_types(templates)
    statements: list[dict[str, Any]] = []
    if "AWS::IAM::Role" in iam_types:
        statements += [
            {
                "Sid": "ChangeOnlyBoundedRoles",
                "Effect": "Allow",
                "Action": list(BOUNDED_ROLE_ACTIONS),
                "Resource": target.own_roles,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": target.boundary_arn}},
            },
            {
                "Sid": "PassOwnRolesToTheirServices",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": target.own_roles,
                "Condition": {
                    "StringEquals": {"iam:PassedToService": passed_to_services(templates)}
                },
            },
        ]
    for resource_type in sorted(iam_types):
        if IAM_ACTIONS[resource_type]:
            statements.append(
                {
                    "Sid": "Manage" + resource_type.split("::")[2],
                    "Effect": "Allow",
                    "Action": list(IAM_ACTIONS[resource_type]),
                    "Resource": _iam_resource(resource_type, target),
                }
            )
    linked = service_linked_roles(templates)
    if linked:
        statements.append(
            {
                "Sid": "CreateServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"arn:{target.partition}:iam::{target.account}:role/aws-service-role/*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": linked}},
            }
        )
    return statements


def _bootstrap_statements(target: BootstrapTarget) -> list[dict[str, Any]]:
    """What deploying CDK assets needs: the bootstrap's assets and its version parameter."""
    name = f"cdk-{target.qualifier}-assets-{target.account}-{target.region}"
    repository = f"cdk-{target.qualifier}-container-assets-{target.account}-{target.region}"
    region_account = f"{target.region}:{target.account}"
    return [
        {
            "Sid": "ReadCdkAssets",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": [
                f"arn:{target.partition}:s3:::{name}",
                f"arn:{target.partition}:s3:::{name}/*",
            ],
        },
        {
            "Sid": "ReadCdkImageAssets",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:{target.partition}:ecr:{region_account}:repository/{repository}",
        },
        {
            "Sid": "ReadBootstrapVersion",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": f"arn:{target.partition}:ssm:{region_account}:parameter/cdk-bootstrap/"
            f"{target.qualifier}/version",
        },
    ]


def _guard_statements(target: BootstrapTarget) -> list[dict[str, Any]]:
    """Denies of both policies: no unbounded role, no boundary removed, no policy edited."""
    return [
        {
            "Sid": "DenyUnboundedRolesAndUsers",
            "Effect": "Deny",
            "Action": [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:CreateUser",
                "iam:PutUserPermissionsBoundary",
            ],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": target.boundary_arn}},
        },
        {
            "Sid": "DenyBoundaryRemoval",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "DenyBootstrapPolicyEdits",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            "Resource": [target.boundary_arn, target.execution_policy_arn],
        },
    ]


def _allow_everywhere(sid: str, actions: list[str]) -> dict[str, Any]:
    """An ``Allow`` statement of ``actions`` on ``Resource: *``."""
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}


def execution_policy(templates: Iterable[Mapping[str, Any]], target: BootstrapTarget) -> dict:
    """The CloudFormation execution policy for deploying ``templates`` to ``target``.

    Raises:
        ValueError: A resource type has no known service or IAM mapping.
    """
    templates = list(templates)
    services = sorted(deployed_services(templates))
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow_everywhere("DeployTheStacksServices", [f"{service}:*" for service in services]),
            *_bootstrap_statements(target),
            *_iam_statements(templates, target),
            *_guard_statements(target),
        ],
    }


def _allowed_actions(document: Mapping[str, Any]) -> Iterator[str]:
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            raise ValueError(f"NotAction in {json.dumps(statement)}: a boundary cannot cap it")
        for action in _as_list(statement.get("Action", [])):
            if not isinstance(action, str) or ":" not in action:
                raise ValueError(f"action {action!r}: the boundary needs a service:action")
            yield action


def role_actions(templates: Iterable[Mapping[str, Any]]) -> set[str]:
    """Actions the templates' roles are granted: their policies and attached managed policies.

    Raises:
        ValueError: A policy uses ``*``, ``NotAction`` or an unlisted AWS managed policy.
    """
    actions: set[str] = set()
    for resource in _resources(templates):
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            actions.update(_allowed_actions(properties["PolicyDocument"]))
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in properties.get("Policies", []):
            actions.update(_allowed_actions(policy["PolicyDocument"]))
        for name in _MANAGED_POLICY_RE.findall(json.dumps(properties.get("ManagedPolicyArns"))):
            if name not in MANAGED_POLICY_ACTIONS:
                raise ValueError(
                    f"AWS managed policy {name}: its actions are unknown; add them to "
                    "mlops_cdk.bootstrap.MANAGED_POLICY_ACTIONS"
                )
            actions.update(MANAGED_POLICY_ACTIONS[name])
    return actions


def boundary_policy(templates: Iterable[Mapping[str, Any]], target: BootstrapTarget) -> dict:
    """The permissions boundary: what the execution role and the app's roles may ever do.

    Raises:
        ValueError: As :func:`execution_policy` and :func:`role_actions`.
    """
    templates = list(templates)
    execution = execution_policy(templates, target)
    actions = role_actions(templates) | {
        action
        for statement in execution["Statement"]
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }
    services = sorted({action.split(":")[0] for action in actions} - set(_IDENTITY_SERVICES))
    identity = sorted(action for action in actions if action.startswith(_IDENTITY_SERVICES))
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow_everywhere(
                "ServicesTheEnvironmentUses", [f"{service}:*" for service in services]
            ),
            _allow_everywhere("IdentityActionsTheEnvironmentUses", identity),
            *_guard_statements(target),
        ],
    }


def bootstrap_command(target: BootstrapTarget) -> list[str]:
    """``cdk bootstrap`` of ``target`` with its qualifier, execution policy and boundary.

    Each qualifier gets its own toolkit stack (``CDKToolkit-<qualifier>``): two environments
    in one account must not replace each other's bootstrap.
    """
    return [
        "npx",
        "cdk",
        "bootstrap",
        f"aws://{target.account}/{target.region}",
        "--qualifier",
        target.qualifier,
        "--toolkit-stack-name",
        f"CDKToolkit-{target.qualifier}",
        "--cloudformation-execution-policies",
        target.execution_policy_arn,
        "--custom-permissions-boundary",
        boundary_name(target.qualifier),
    ]
