"""Where a retraining run starts, as ``RetrainingDispatcher`` and ``DriftMonitor`` both take it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mlops_cdk.constructs._grants import grant_secret_read


@dataclass(frozen=True)
class DispatchTarget:
    """Where a retraining run starts, as a construct's arguments give it (the construct validates).

    ``github``: a ``repository_dispatch`` of ``event_type`` to ``github_repository`` with the
    token in ``github_token_secret``; ``sagemaker``: an execution of ``pipeline_name``.
    """

    target: str
    github_repository: str | None
    github_token_secret: secretsmanager.ISecret | None
    github_api_url: str
    event_type: str
    pipeline_name: str | None

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> DispatchTarget:
        """The target from a construct's keyword arguments of the same names (its ``locals()``).

        Both constructs take these six arguments under these names; reading them by field name
        keeps their one list here rather than in every construct.
        """
        return cls(**{field.name: arguments[field.name] for field in fields(cls)})

    def environment(self) -> dict[str, str]:
        """The variables ``retrain_dispatch`` and the drift check read to dispatch."""
        if self.target == "github" and self.github_token_secret is not None:
            return {
                "GITHUB_REPOSITORY": str(self.github_repository),
                "GITHUB_TOKEN_SECRET_ARN": self.github_token_secret.secret_arn,
                "GITHUB_API_URL": self.github_api_url,
                "GITHUB_EVENT_TYPE": self.event_type,
            }
        if self.target == "sagemaker" and self.pipeline_name:
            return {"SAGEMAKER_PIPELINE_NAME": str(self.pipeline_name)}
        return {}

    def pipeline_arn(self, scope: Construct) -> str | None:
        """The pipeline's ARN (SageMaker uses the lowercased name), for ``sagemaker`` only."""
        if self.target != "sagemaker" or not self.pipeline_name:
            return None
        return Stack.of(scope).format_arn(
            service="sagemaker", resource="pipeline", resource_name=self.pipeline_name.lower()
        )

    def grant_start(self, scope: Construct, function: lambda_.IFunction) -> None:
        """Let ``function`` (made in ``scope``) start runs: read the token, or start the pipeline.

        No L2 grant exists for a pipeline created elsewhere (possibly in another stack): one
        action on one pipeline ARN.
        """
        if self.target == "github" and self.github_token_secret is not None:
            grant_secret_read(scope, self.github_token_secret, function)
        pipeline_arn = self.pipeline_arn(scope)
        if pipeline_arn is not None:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:StartPipelineExecution"], resources=[pipeline_arn]
                )
            )
