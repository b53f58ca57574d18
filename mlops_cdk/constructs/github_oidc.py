"""GitHub Actions OIDC: the identity provider and roles whose trust names one repository and ref."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
CDK_BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")
"""The roles ``cdk bootstrap`` creates; ``npx cdk deploy`` assumes them, never anything else."""


class GitHubOidcProvider(Construct):
    """The account's ``token.actions.githubusercontent.com`` identity provider, or an existing one.

    Uses the native ``AWS::IAM::OIDCProvider`` resource (no custom-resource Lambda). IAM holds
    one provider per URL per account: the second environment in an account passes the first
    one's ARN as ``existing_provider_arn``.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        existing_provider_arn: Reuse this provider instead of creating one. Default ``None``.
        removal_policy: For a created provider. Default ``RETAIN``: other stacks' roles in the
            account may trust it.

    Attributes:
        provider: The provider (``oidc_provider_arn`` for trust policies).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_provider_arn: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_provider_arn:
            self.provider: iam.IOidcProvider = iam.OidcProviderNative.from_oidc_provider_arn(
                self, "Provider", existing_provider_arn
            )
            return
        self.provider = iam.OidcProviderNative(
            self,
            "Provider",
            url=f"https://{GITHUB_OIDC_ISSUER}",
            client_ids=[GITHUB_OIDC_AUDIENCE],
            removal_policy=removal_policy,
        )


class GitHubActionsRole(Construct):
    """An IAM role that only one repository's workflows can assume, from one branch or environment.

    The trust policy pins the token audience and subject with ``StringEquals`` (no wildcards):
    ``repo:<owner>/<name>:ref:refs/heads/<branch>`` for a job on a branch, or
    ``repo:<owner>/<name>:environment:<environment>`` for a job bound to a GitHub environment
    (whose protection rules, such as required reviewers, then guard the role). The role starts
    with no permissions: grant them from the resources (``bucket.grant_read(role.role)``).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        provider: The GitHub OIDC provider.
        repository: ``owner/name``.
        branch: Branch allowed to assume the role. Exactly one of ``branch`` / ``environment``.
        environment: GitHub environment allowed to assume the role.
        description: Role description.
        max_session_duration: Default one hour: enough for a retrain or a deploy.

    Attributes:
        role: The role; its ARN goes into the workflow's ``role-to-assume``.
        subject: The ``sub`` claim the trust policy requires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider: iam.IOidcProvider,
        repository: str,
        branch: str | None = None,
        environment: str | None = None,
        description: str,
        max_session_duration: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (branch is None) == (environment is None):
            raise ValueError(f"{construct_id}: pass exactly one of branch or environment")
        self.subject = (
            f"repo:{repository}:ref:refs/heads/{branch}"
            if branch is not None
            else f"repo:{repository}:environment:{environment}"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.WebIdentityPrincipal(
                provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_ISSUER}:aud": GITHUB_OIDC_AUDIENCE,
                        f"{GITHUB_OIDC_ISSUER}:sub": self.subject,
                    }
                },
            ),
            description=description,
            max_session_duration=max_session_duration or Duration.hours(1),
        )

    def allow_assume_cdk_bootstrap_roles(
        self, *, qualifier: str = "hnb659fds", kinds: Sequence[str] = CDK_BOOTSTRAP_ROLE_KINDS
    ) -> None:
        """Let the role assume the named ``cdk bootstrap`` roles of this stack's account/region.

        A hand-written statement because those roles are not constructs of this app; each ARN
        is spelled out (no wildcard), so the role can do nothing the bootstrap roles cannot.
        """
        unknown = sorted(set(kinds) - set(CDK_BOOTSTRAP_ROLE_KINDS))
        if unknown:
            raise ValueError(f"unknown bootstrap role kinds {unknown}")
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=f"cdk-{qualifier}-{kind}-role-{stack.account}-{stack.region}",
                    )
                    for kind in kinds
                ],
            )
        )
