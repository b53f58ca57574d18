"""MlflowTrackingServer: a SageMaker managed MLflow tracking server storing artifacts in S3."""

from __future__ import annotations

import re

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_cdk.config import MlflowSize
from mlops_cdk.constructs._mlflow import artifact_store_role
from mlops_cdk.constructs._props import ConstructValidator
from mlops_cdk.s3_keys import check_key_prefix

MLFLOW_VERSION = "3.17.2"
"""The server's MLflow version: the client pin (``mlflow`` in model/requirements.txt, with
``sagemaker-mlflow``), so the retrain workflow talks to the API version it was built for."""


class MlflowTrackingServer(Construct):
    """A SageMaker managed MLflow tracking server (``AWS::SageMaker::MlflowTrackingServer``).

    Artifacts go to ``s3://<artifacts bucket>/<artifact_prefix>``. The server's role may read
    and write that prefix only. Clients (training jobs, the retrain workflow) use the server's
    ARN as ``MLFLOW_TRACKING_URI`` with the ``sagemaker-mlflow`` plugin; give them access with
    :meth:`grant_access`. Users who run their own MLflow server skip this construct and set
    ``MLFLOW_TRACKING_URI`` to its URL instead.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        artifacts_bucket: Bucket of the artifact store.
        tracking_server_name: Server name (unique per account and region).
        size: ``Small`` (default; up to 25 users), ``Medium`` or ``Large``.
        artifact_prefix: Key prefix of the artifact store. Default ``mlflow/``.
        mlflow_version: MLflow version. Default :data:`MLFLOW_VERSION`, the client's pin: a
            server SageMaker picks would drift away from the client.
        weekly_maintenance_window_start: UTC window start. Default ``Sun:03:00``, after the
            nightly retrain.

    Attributes:
        tracking_server_arn: ARN of the server.
        tracking_uri: The same ARN: ``MLFLOW_TRACKING_URI`` for the ``sagemaker-mlflow`` plugin.
        tracking_server_name: Name.
        role: The server's role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket: s3.IBucket,
        tracking_server_name: str,
        size: MlflowSize = "Small",
        artifact_prefix: str = "mlflow/",
        mlflow_version: str = MLFLOW_VERSION,
        weekly_maintenance_window_start: str = "Sun:03:00",
    ) -> None:
        super().__init__(scope, construct_id)
        check = ConstructValidator(self)
        check.check(
            "size",
            size,
            size in ("Small", "Medium", "Large"),
            "unknown size",
            "use 'Small', 'Medium' or 'Large'",
        )
        check_key_prefix(check, "artifact_prefix", artifact_prefix, "mlflow/")
        check.check(
            "mlflow_version",
            mlflow_version,
            lambda version: re.fullmatch(r"\d+\.\d+(\.\d+)?", version) is not None,
            "is not an MLflow version",
            f"e.g. {MLFLOW_VERSION!r}",
        )
        check.raise_if_any()
        self.role = artifact_store_role(
            self,
            artifacts_bucket=artifacts_bucket,
            artifact_prefix=artifact_prefix,
            description=f"MLflow tracking server {tracking_server_name}: its artifact store",
        )
        self.server = sagemaker.CfnMlflowTrackingServer(
            self,
            "Server",
            tracking_server_name=tracking_server_name,
            artifact_store_uri=artifacts_bucket.s3_url_for_object(artifact_prefix),
            role_arn=self.role.role_arn,
            tracking_server_size=size,
            mlflow_version=mlflow_version,
            automatic_model_registration=False,
            weekly_maintenance_window_start=weekly_maintenance_window_start,
        )
        # The server validates its role at creation: the grants must exist first.
        self.server.node.add_dependency(self.role)
        self.tracking_server_arn: str = self.server.attr_tracking_server_arn
        self.tracking_uri: str = self.tracking_server_arn
        self.tracking_server_name = tracking_server_name

    def grant_access(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` log runs and models to this server (and open its UI).

        ``sagemaker-mlflow:*`` is AWS's documented client permission; it is scoped to this
        server's ARN. The grantee still needs S3 access to the artifact prefix to upload.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker-mlflow:*",
                "sagemaker:DescribeMlflowTrackingServer",
                "sagemaker:CreatePresignedMlflowTrackingServerUrl",
            ],
            resource_arns=[self.tracking_server_arn],
        )
