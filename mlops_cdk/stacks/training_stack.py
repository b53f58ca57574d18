"""TrainingStack: the MLflow tracking server and the SageMaker retraining pipeline."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.mlflow_tracking_server import MlflowTrackingServer
from mlops_cdk.constructs.retrain_pipeline import RetrainPipeline
from mlops_cdk.pipelines import retrain_pipeline_name


class TrainingStack(Stack):
    """Holds what training runs against: the MLflow server and the SageMaker pipeline.

    Built only when ``mlflow.enabled`` or ``retraining.target == "sagemaker"``. Exposes
    ``tracking_server`` and ``retrain_pipeline`` (each ``None`` when not configured) so
    :class:`~mlops_cdk.stacks.cicd_stack.CicdStack` grants the retrain role access to them.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tracking_server: MlflowTrackingServer | None = None
        self.retrain_pipeline: RetrainPipeline | None = None
        if settings.mlflow.enabled:
            self.tracking_server = MlflowTrackingServer(
                self,
                "Mlflow",
                artifacts_bucket=artifacts_bucket,
                tracking_server_name=f"{settings.stack_prefix}-mlflow".lower(),
                size=settings.mlflow.size,
            )
            CfnOutput(
                self,
                "MlflowTrackingServerArn",
                value=self.tracking_server.tracking_server_arn,
                description="MLFLOW_TRACKING_URI for the sagemaker-mlflow plugin (set it as the "
                "GitHub variable MLFLOW_TRACKING_URI)",
            )
        if settings.retraining.target == "sagemaker":
            self.retrain_pipeline = RetrainPipeline(
                self,
                "RetrainPipeline",
                pipeline_name=retrain_pipeline_name(settings.stack_prefix),
                data_bucket=data_bucket,
                artifacts_bucket=artifacts_bucket,
                serving_image_repository=repository,
                serving_image_tag=settings.image_tag,
                serving_image_digest=settings.image_digest,
                data_prefix=settings.retraining.data_prefix,
            )
            CfnOutput(
                self,
                "RetrainPipelineName",
                value=self.retrain_pipeline.pipeline_name,
                description="Start with parameters InputBucket and InputPrefix",
            )
