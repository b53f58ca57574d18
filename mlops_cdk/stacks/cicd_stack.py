"""CicdStack: the GitHub OIDC provider and the roles the workflows in .github/workflows assume."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs._nag import acknowledge_findings, bucket_grant_findings
from mlops_cdk.constructs.github_oidc import (
    GitHubActionsRole,
    GitHubOidcProvider,
    warn_if_placeholder_repository,
)
from mlops_cdk.constructs.mlflow_app import MlflowApp
from mlops_cdk.constructs.mlflow_tracking_server import MlflowTrackingServer
from mlops_cdk.constructs.retrain_pipeline import RetrainPipeline

MODEL_ARTIFACTS_PREFIX = "models/"
"""Where retrain.yml uploads ``models/fraud-detection/<version>/model.tar.gz``."""
MLFLOW_ARTIFACTS_PREFIX = "mlflow/"
"""MLflow clients upload artifacts to the store directly, with their own credentials."""
CHAMPION_RECORD_PREFIX = "models/fraud-detection/champion/"
"""Where ``make promote`` records the champion's metrics (``model/fraud_model/promotion.py``)."""
PROMOTING_ENVIRONMENT = "prod"
"""The GitHub environment whose deploy job runs ``make promote`` (deploy-environment.yml)."""
RETRAIN_WORKFLOW = "retrain.yml"
"""The workflow file the retrain role is bound to with ``cicd.bind_workflow``."""
DEPLOY_WORKFLOW = "deploy-environment.yml"
"""The reusable workflow whose job assumes the deploy role (``deploy.yml`` calls it)."""


class CicdStack(Stack):
    """Two roles, each trusted by one repository and its branch or GitHub environment.

    - ``retrain`` (branch; ``retrain.yml`` with ``cicd.bind_workflow``): reads new data, writes
      models and MLflow artifacts, pushes the image, logs to the MLflow server and starts the
      SageMaker pipeline when those exist.
    - ``deploy`` (this environment's GitHub environment; ``deploy-environment.yml`` on the
      branch with ``cicd.bind_workflow``): may only assume the ``cdk bootstrap`` roles, so what
      a deploy can change is exactly what CloudFormation's execution policy allows.

    ``ci.yml`` needs no AWS access (synthesis is offline), so there is no ci role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        repository: ecr.IRepository,
        tracking_server: MlflowApp | MlflowTrackingServer | None = None,
        retrain_pipeline: RetrainPipeline | None = None,
        serving_api: apigwv2.IHttpApi | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cicd = settings.cicd
        github_repository = settings.retraining.github_repository
        warn_if_placeholder_repository(self, github_repository)
        existing_provider = None
        if cicd.existing_oidc_provider_arn:
            existing_provider = GitHubOidcProvider.from_arn(
                self, "ImportedGitHubOidc", cicd.existing_oidc_provider_arn
            )
        self.oidc = GitHubOidcProvider(
            self,
            "GitHubOidc",
            existing_provider=existing_provider,
            removal_policy=RemovalPolicy.RETAIN,
        )
        role_props: dict[str, Any] = {
            "provider": self.oidc.provider,
            "repository": github_repository,
            "max_session_duration": Duration.minutes(cicd.max_session_minutes),
        }
        self.retrain = GitHubActionsRole(
            self,
            "RetrainRole",
            branch=cicd.branch,
            workflow=RETRAIN_WORKFLOW if cicd.bind_workflow else None,
            description=f"retrain.yml on {github_repository}@{cicd.branch}: data, models, image",
            **role_props,
        )
        role = self.retrain.role
        data_bucket.grant_read(role, f"{settings.retraining.data_prefix}*")
        artifacts_bucket.grant_read_write(role, f"{MODEL_ARTIFACTS_PREFIX}*")
        repository.grant_pull_push(role)
        if tracking_server is not None:
            tracking_server.grant_access(role)
            artifacts_bucket.grant_read_write(role, f"{MLFLOW_ARTIFACTS_PREFIX}*")
        if retrain_pipeline is not None:
            retrain_pipeline.grant_start_execution(role)

        self.deploy = self._deploy_role(settings, role_props, serving_api)
        if cicd.deploy_environment == PROMOTING_ENVIRONMENT:
            self._grant_promotion(
                artifacts_bucket=artifacts_bucket, tracking_server=tracking_server
            )

        self._acknowledge_grants(
            role,
            data_bucket=data_bucket,
            artifacts_bucket=artifacts_bucket,
            data_prefix=settings.retraining.data_prefix,
            tracking_server=tracking_server,
            retrain_pipeline=retrain_pipeline,
        )
        self._outputs(
            cicd.deploy_environment,
            data_bucket=data_bucket,
            artifacts_bucket=artifacts_bucket,
            repository=repository,
        )

    def _deploy_role(
        self,
        settings: Settings,
        role_props: dict[str, Any],
        serving_api: apigwv2.IHttpApi | None,
    ) -> GitHubActionsRole:
        """The role deploy-environment.yml assumes: the CDK bootstrap roles, and the smoke test."""
        cicd = settings.cicd
        deploy = GitHubActionsRole(
            self,
            "DeployRole",
            environment=cicd.deploy_environment,
            branch=cicd.branch if cicd.bind_workflow else None,
            workflow=DEPLOY_WORKFLOW if cicd.bind_workflow else None,
            description=f"deploy.yml in GitHub environment {cicd.deploy_environment!r}: "
            "assumes the CDK bootstrap roles only",
            **role_props,
        )
        deploy.allow_assume_cdk_bootstrap_roles(qualifier=cicd.bootstrap_qualifier)
        # The smoke test after a deploy calls the IAM-authenticated API as this role: only the
        # predict route of the serving API (none with front_door=public_alb).
        if serving_api is not None:
            predict_path = f"/v1/models/{settings.api.model_name}:predict"
            deploy.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[serving_api.arn_for_execute_api("POST", predict_path, "$default")],
                )
            )
        return deploy

    def _outputs(
        self,
        deploy_environment: str,
        *,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        repository: ecr.IRepository,
    ) -> None:
        """What the workflows need, as outputs described by where each value goes."""
        outputs = {
            "GitHubOidcProviderArn": (
                self.oidc.provider.oidc_provider_arn,
                "Pass as -c github_oidc_provider_arn= to every other environment in this account",
            ),
            "RetrainRoleArn": (self.retrain.role.role_arn, "GitHub variable AWS_RETRAIN_ROLE_ARN"),
            "DeployRoleArn": (
                self.deploy.role.role_arn,
                f"GitHub variable AWS_DEPLOY_ROLE_ARN in environment {deploy_environment!r}",
            ),
            "DataBucketName": (data_bucket.bucket_name, "GitHub variable DATA_BUCKET"),
            "ArtifactsBucketName": (
                artifacts_bucket.bucket_name,
                "GitHub variable ARTIFACTS_BUCKET",
            ),
            "EcrRepositoryName": (repository.repository_name, "GitHub variable ECR_REPOSITORY"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

    def _grant_promotion(
        self,
        *,
        artifacts_bucket: s3.IBucket,
        tracking_server: MlflowApp | MlflowTrackingServer | None,
    ) -> None:
        """Let the prod deploy job run ``make promote``.

        It reads a release's ``metrics.json``, writes the champion record next to the models
        and moves MLflow's ``champion`` alias.
        """
        deploy = self.deploy.role
        artifacts_bucket.grant_read(deploy, f"{MODEL_ARTIFACTS_PREFIX}*")
        artifacts_bucket.grant_put(deploy, f"{CHAMPION_RECORD_PREFIX}*")
        findings = {
            *bucket_grant_findings(artifacts_bucket, [MODEL_ARTIFACTS_PREFIX], write=False),
            *bucket_grant_findings(artifacts_bucket, [CHAMPION_RECORD_PREFIX], write=True),
        }
        if tracking_server is not None:
            tracking_server.grant_access(deploy)
            findings.add("Action::sagemaker-mlflow:*")
        acknowledge_findings(
            deploy.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            sorted(findings),
            "make promote, after the prod deploy: reads objects under models/ (a release's "
            "metrics.json), writes under models/fraud-detection/champion/ only (CDK's S3/KMS "
            "action groups), and sagemaker-mlflow:* on the one MLflow app or tracking server "
            "(AWS's documented client policy) to move the champion alias.",
        )

    def _acknowledge_grants(
        self,
        role: Any,
        *,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        data_prefix: str,
        tracking_server: MlflowApp | MlflowTrackingServer | None,
        retrain_pipeline: RetrainPipeline | None,
    ) -> None:
        mlflow = [MLFLOW_ARTIFACTS_PREFIX] if tracking_server is not None else []
        findings = {
            *bucket_grant_findings(data_bucket, [data_prefix], write=False),
            *bucket_grant_findings(artifacts_bucket, [MODEL_ARTIFACTS_PREFIX, *mlflow], write=True),
            "Resource::*",
        }
        if tracking_server is not None:
            findings.add("Action::sagemaker-mlflow:*")
        if retrain_pipeline is not None:
            findings.add(f"Resource::{retrain_pipeline.pipeline_arn}/execution/*")
        acknowledge_findings(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            sorted(findings),
            "Wildcards come only from grants of this app's resources: objects under the data "
            "prefix and the models/ (and mlflow/) prefixes of the artifacts bucket, CDK's S3/KMS "
            "action groups, ecr:GetAuthorizationToken (no resource-level permissions, so "
            "Resource::*), sagemaker-mlflow:* on the one MLflow app or tracking server (AWS's "
            "documented client policy) and executions of the one retraining pipeline.",
        )
