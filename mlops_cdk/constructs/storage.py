"""PlatformStorage: the data bucket, the model-artifacts bucket and their access-log bucket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import BucketEncryption
from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._kms import build_encryption_key
from mlops_cdk.constructs._nag import acknowledge, acknowledge_stack_singleton
from mlops_cdk.constructs._props import ConstructValidator, check_existing_or_props, merge_props
from mlops_cdk.s3_keys import check_key_prefix


class PlatformStorage(Construct):
    """Encrypted, private, versioned buckets for training data and model artifacts.

    Every bucket blocks public access, enforces TLS, is versioned and logs requests to a
    dedicated access-log bucket. The data bucket sends events to EventBridge so the retraining
    trigger can match new files under ``data_prefix``.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        encryption: ``"kms"`` (default: a customer-managed key with rotation, so access needs
            both bucket and key permissions) or ``"s3"`` (SSE-S3, cheaper, no key to manage).
        data_prefix: Where new training data lands. Default ``incoming/``.
        incoming_expiration: Raw files under ``data_prefix`` expire after this. Default 365 days.
        noncurrent_version_expiration: Old versions expire after this. Default 90 days.
        access_logs_expiration: Access logs expire after this. Default 365 days.
        removal_policy: For buckets and key. Default ``RETAIN``; with ``DESTROY`` the buckets
            are also emptied on delete so ``cdk destroy`` works in development.
        existing_data_bucket: Reuse a data bucket (it must already send events to EventBridge).
        data_bucket_props: ``s3.Bucket`` keyword arguments merged over the data bucket defaults.
        existing_artifacts_bucket: Reuse a model-artifacts bucket.
        artifacts_bucket_props: ``s3.Bucket`` keyword arguments merged over its defaults.

    Attributes:
        data_bucket: Bucket receiving new training data.
        artifacts_bucket: Bucket holding ``model.tar.gz``, data capture and pipeline output.
        access_logs_bucket: Server access-log target (SSE-S3: log delivery cannot use KMS).
            Its object ownership is left to CDK: a bucket policy grants log delivery when the
            app enables ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``, else an ACL.
        encryption_key: The bucket key, or ``None`` with SSE-S3 or existing buckets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption: BucketEncryption = "kms",
        data_prefix: str = "incoming/",
        incoming_expiration: Duration = Duration.days(365),
        noncurrent_version_expiration: Duration = Duration.days(90),
        access_logs_expiration: Duration = Duration.days(365),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_data_bucket: s3.IBucket | None = None,
        data_bucket_props: Mapping[str, Any] | None = None,
        existing_artifacts_bucket: s3.IBucket | None = None,
        artifacts_bucket_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_existing_or_props(
            self,
            "existing_data_bucket",
            existing_data_bucket,
            "data_bucket_props",
            data_bucket_props,
        )
        check_existing_or_props(
            self,
            "existing_artifacts_bucket",
            existing_artifacts_bucket,
            "artifacts_bucket_props",
            artifacts_bucket_props,
        )
        self._validate(encryption, data_prefix)
        self.encryption_key: kms.Key | None = None
        if encryption == "kms" and not (existing_data_bucket and existing_artifacts_bucket):
            self.encryption_key = build_encryption_key(
                self,
                "BucketKey",
                description="Encrypts the mlops-cdk data and model-artifact buckets",
                removal_policy=removal_policy,
            )
        self.access_logs_bucket = self._access_logs_bucket(access_logs_expiration, removal_policy)
        self.data_bucket: s3.IBucket = existing_data_bucket or self._bucket(
            "DataBucket",
            removal_policy=removal_policy,
            user_props=data_bucket_props,
            required={"event_bridge_enabled": True},
            extra_rules=[
                s3.LifecycleRule(
                    id="ExpireIncoming", prefix=data_prefix, expiration=incoming_expiration
                )
            ],
            noncurrent_version_expiration=noncurrent_version_expiration,
        )
        acknowledge_stack_singleton(
            self,
            "BucketNotificationsHandler",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's own handler that turns on EventBridge notifications; it only needs to write "
            "its logs, which is exactly what this managed policy grants.",
        )
        self.artifacts_bucket: s3.IBucket = existing_artifacts_bucket or self._bucket(
            "ArtifactsBucket",
            removal_policy=removal_policy,
            user_props=artifacts_bucket_props,
            required={},
            extra_rules=[],
            noncurrent_version_expiration=noncurrent_version_expiration,
        )

    def _access_logs_bucket(self, expiration: Duration, removal_policy: RemovalPolicy) -> s3.Bucket:
        """The server access-log target of both buckets (SSE-S3: log delivery cannot use KMS)."""
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=expiration,
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This is the server access-log target; logging it to itself would loop.",
        )
        skip_checkov(
            bucket,
            "CKV_AWS_18",
            "This is the server access-log target; logging it to itself would loop.",
        )
        return bucket

    def _validate(self, encryption: str, data_prefix: str) -> None:
        check = ConstructValidator(self)
        check.check(
            "encryption", encryption, encryption in ("kms", "s3"), "unknown", "use 'kms' or 's3'"
        )
        check_key_prefix(check, "data_prefix", data_prefix, "incoming/")
        check.raise_if_any()

    def _bucket(
        self,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        user_props: Mapping[str, Any] | None,
        required: Mapping[str, Any],
        extra_rules: list[s3.LifecycleRule],
        noncurrent_version_expiration: Duration,
    ) -> s3.Bucket:
        encryption: dict[str, Any] = {"encryption": s3.BucketEncryption.S3_MANAGED}
        if self.encryption_key:
            encryption = {
                "encryption": s3.BucketEncryption.KMS,
                "encryption_key": self.encryption_key,
                "bucket_key_enabled": True,
            }
        defaults: dict[str, Any] = {
            **encryption,
            "versioned": True,
            "lifecycle_rules": [
                s3.LifecycleRule(
                    id="Housekeeping",
                    noncurrent_version_expiration=noncurrent_version_expiration,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                *extra_rules,
            ],
            "removal_policy": removal_policy,
            "auto_delete_objects": removal_policy == RemovalPolicy.DESTROY,
        }
        secure: dict[str, Any] = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "server_access_logs_bucket": self.access_logs_bucket,
            "server_access_logs_prefix": f"{construct_id}/",
            **required,
        }
        props = merge_props(
            self,
            defaults,
            user_props,
            secure,
            security_keys=(
                "encryption",
                "encryption_key",
                "versioned",
                "removal_policy",
                "auto_delete_objects",
            ),
        )
        return s3.Bucket(self, construct_id, **props)
