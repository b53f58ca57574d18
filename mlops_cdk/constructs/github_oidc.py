"""GitHub Actions OIDC: the identity provider and roles whose trust names one repository and ref."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops_cdk.constructs._props import ConstructValidator

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
GITHUB_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
WORKFLOW_FILE_RE = re.compile(r"^[A-Za-z0-9_.-]+\.ya?ml$")
PLACEHOLDER_REPOSITORY = "example-org/mlops-cdk"
"""The shipped default of ``github_repository``: synth warns, ``make deploy`` refuses it."""
CDK_BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")
"""The roles ``cdk bootstrap`` creates; ``npx cdk deploy`` assumes them, never anything else."""


def is_github_repository(value: str | None) -> bool:
    """Whether ``value`` is a GitHub ``owner/name``."""
    return bool(value) and GITHUB_REPOSITORY_RE.match(value) is not None


def warn_if_placeholder_repository(scope: Construct, repository: str | None) -> None:
    """A synth warning when ``repository`` is still the shipped ``example-org/mlops-cdk``."""
    if repository == PLACEHOLDER_REPOSITORY:
        Annotations.of(scope).add_warning_v2(
            "mlops-cdk:placeholder-repository",
            f"{scope.node.path}: github_repository = {repository!r} is the placeholder; "
            "deploy with -c github_repository=<owner>/<name> (make deploy refuses it)",
        )


def _validate_role_arguments(
    scope: Construct,
    repository: str,
    branch: str | None,
    environment: str | None,
    workflow: str | None,
) -> None:
    check = ConstructValidator(scope)
    check.check(
        "repository",
        repository,
        is_github_repository,
        "is not 'owner/name'",
        "pass the GitHub repository as owner/name, e.g. my-org/mlops-cdk",
    )
    if branch is None and environment is None:
        check.add(
            "branch",
            branch,
            "a branch or a GitHub environment is needed (environment = None)",
            "pass a branch (retrain) or a GitHub environment (deploy)",
        )
    if branch is not None and environment is not None and workflow is None:
        check.add(
            "branch",
            branch,
            f"with environment = {environment!r} a branch only names the ref of workflow",
            "pass workflow=<file> too, or drop branch",
        )
    if workflow is not None:
        check.check(
            "workflow",
            workflow,
            lambda value: WORKFLOW_FILE_RE.match(value) is not None,
            "is not a workflow file name",
            "pass the file name under .github/workflows/, e.g. deploy-environment.yml",
        )
        if branch is None:
            check.add(
                "workflow",
                workflow,
                "binds the workflow at refs/heads/<branch>, but branch = None",
                "pass the branch the workflow runs from, e.g. main",
            )
    check.raise_if_any()


class GitHubOidcProvider(Construct):
    """The account's ``token.actions.githubusercontent.com`` identity provider, or an existing one.

    Uses the native ``AWS::IAM::OIDCProvider`` resource (no custom-resource Lambda). IAM holds
    one provider per URL per account, so creating a second one fails with
    ``EntityAlreadyExists``: every environment after the first in an account, and any account
    that already federates GitHub, passes ``existing_provider`` (``from_account`` imports it by
    its deterministic ARN). It is created by default because a role that trusts a provider can
    only be created once that provider exists: a fresh account's first deploy needs it.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        existing_provider: Reuse this provider instead of creating one. Default ``None``.
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
        existing_provider: iam.IOidcProvider | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.provider: iam.IOidcProvider = existing_provider or iam.OidcProviderNative(
            self,
            "Provider",
            url=f"https://{GITHUB_OIDC_ISSUER}",
            client_ids=[GITHUB_OIDC_AUDIENCE],
            removal_policy=removal_policy,
        )

    @staticmethod
    def arn_for_account(scope: Construct) -> str:
        """``arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com``."""
        return Stack.of(scope).format_arn(
            service="iam", region="", resource="oidc-provider", resource_name=GITHUB_OIDC_ISSUER
        )

    @staticmethod
    def from_arn(scope: Construct, construct_id: str, arn: str) -> iam.IOidcProvider:
        """Import a provider (e.g. ``arn_for_account(scope)``) as ``existing_provider``."""
        return iam.OidcProviderNative.from_oidc_provider_arn(scope, construct_id, arn)


class GitHubActionsRole(Construct):
    """An IAM role that only one repository's workflows can assume, from one branch or environment.

    The trust policy pins the token audience and subject with ``StringEquals`` (no wildcards):
    ``repo:<owner>/<name>:ref:refs/heads/<branch>`` for a job on a branch, or
    ``repo:<owner>/<name>:environment:<environment>`` for a job bound to a GitHub environment
    (whose protection rules, such as required reviewers and deployment branches, then guard the
    role). With ``workflow`` the subject also names the workflow file the job runs, as GitHub
    writes it once the repository's subject template is ``repo, context, job_workflow_ref``:
    ``...:job_workflow_ref:<owner>/<name>/.github/workflows/<workflow>@refs/heads/<branch>``.
    The role starts with no permissions: grant them from the resources
    (``bucket.grant_read(role.role)``).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        provider: The GitHub OIDC provider.
        repository: ``owner/name``.
        branch: Branch allowed to assume the role; with ``environment``, only the ref of
            ``workflow``.
        environment: GitHub environment allowed to assume the role. One of ``branch`` /
            ``environment`` is needed.
        workflow: File name under ``.github/workflows/`` the job must run (needs ``branch``).
            Default ``None``: any workflow of the branch or environment (GitHub's default
            subject carries no workflow).
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
        workflow: str | None = None,
        description: str,
        max_session_duration: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _validate_role_arguments(self, repository, branch, environment, workflow)
        context = (
            f"environment:{environment}" if environment is not None else f"ref:refs/heads/{branch}"
        )
        self.subject = f"repo:{repository}:{context}"
        if workflow is not None:
            self.subject += (
                f":job_workflow_ref:{repository}/.github/workflows/{workflow}@refs/heads/{branch}"
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
