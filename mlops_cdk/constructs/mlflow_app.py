"""MlflowApp: SageMaker's serverless MLflow, storing artifacts in S3."""

from __future__ import annotations

import re

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_cdk.constructs._mlflow import artifact_store_role
from mlops_cdk.constructs._props import ConstructValidator
from mlops_cdk.s3_keys import check_key_prefix

APP_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}"
"""``AWS::SageMaker::MlflowApp`` ``Name``: letters and digits, single dashes between them."""

MAINTENANCE_WINDOW_PATTERN = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d"
"""``WeeklyMaintenanceWindowStart``: ``Ddd:HH:MM`` in UTC."""

MLFLOW_APP_CLIENT_ACTIONS = (
    "sagemaker:CallMlflowAppApi",
    "sagemaker-mlflow:*",
    "sagemaker:DescribeMlflowApp",
    "sagemaker:CreatePresignedMlflowAppUrl",
)
"""What a client needs on one app, as in AWS's managed SageMaker policies:
``CallMlflowAppApi`` gates every call to the app's MLflow REST API, ``sagemaker-mlflow:*`` the
MLflow operations, ``DescribeMlflowApp`` resolves the ARN to the app's URL (the
``sagemaker-mlflow`` plugin does this) and the presigned URL opens the UI."""


class MlflowApp(Construct):
    """A serverless SageMaker MLflow App (``AWS::SageMaker::MlflowApp``).

    No instance to size and no hourly charge: SageMaker runs and scales the MLflow server. The
    app stores artifacts under ``s3://<artifacts bucket>/<artifact_prefix>`` and its role may
    read and write that prefix only. Clients (the retrain workflow) use :attr:`tracking_uri`,
    the app's ARN, as ``MLFLOW_TRACKING_URI`` with the ``sagemaker-mlflow`` plugin; give them
    access with :meth:`grant_access`. The app picks its MLflow 3.x version (read-only in
    CloudFormation); the client pin in model/requirements.txt is a 3.x release.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        artifacts_bucket: Bucket of the artifact store.
        app_name: App name (letters, digits and single dashes, at most 256).
        artifact_prefix: Key prefix of the artifact store. Default ``mlflow/``.
        weekly_maintenance_window_start: UTC window start. Default ``Sun:03:00``, after the
            nightly retrain.

    Attributes:
        mlflow_app_arn: ARN of the app.
        tracking_uri: The same ARN: ``MLFLOW_TRACKING_URI`` for the ``sagemaker-mlflow`` plugin.
        app_name: Name.
        role: The app's role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket: s3.IBucket,
        app_name: str,
        artifact_prefix: str = "mlflow/",
        weekly_maintenance_window_start: str = "Sun:03:00",
    ) -> None:
        super().__init__(scope, construct_id)
        check = ConstructValidator(self)
        check.check(
            "app_name",
            app_name,
            lambda name: re.fullmatch(APP_NAME_PATTERN, name) is not None,
            "is not an MLflow App name",
            "use letters, digits and single '-' between them, e.g. 'mlopscdk-prod-mlflow'",
        )
        check_key_prefix(check, "artifact_prefix", artifact_prefix, "mlflow/")
        check.check(
            "weekly_maintenance_window_start",
            weekly_maintenance_window_start,
            lambda start: re.fullmatch(MAINTENANCE_WINDOW_PATTERN, start) is not None,
            "is not a weekly window start",
            "use Ddd:HH:MM in UTC, e.g. 'Sun:03:00'",
        )
        check.raise_if_any()
        self.role = artifact_store_role(
            self,
            artifacts_bucket=artifacts_bucket,
            artifact_prefix=artifact_prefix,
            description=f"MLflow App {app_name}: its artifact store",
        )
        self.app = sagemaker.CfnMlflowApp(
            self,
            "App",
            name=app_name,
            artifact_store_uri=artifacts_bucket.s3_url_for_object(artifact_prefix),
            role_arn=self.role.role_arn,
            model_registration_mode="AutoModelRegistrationDisabled",
            weekly_maintenance_window_start=weekly_maintenance_window_start,
        )
        # The app validates its role at creation: the grants must exist first.
        self.app.node.add_dependency(self.role)
        self.mlflow_app_arn: str = self.app.attr_arn
        self.tracking_uri: str = self.mlflow_app_arn
        self.app_name = app_name

    def grant_access(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` log runs, register models, move aliases and open the UI of this app.

        The actions (:data:`MLFLOW_APP_CLIENT_ACTIONS`) are scoped to this app's ARN. The
        grantee still needs S3 access to the artifact prefix: clients upload artifacts directly.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(MLFLOW_APP_CLIENT_ACTIONS),
            resource_arns=[self.mlflow_app_arn],
        )
