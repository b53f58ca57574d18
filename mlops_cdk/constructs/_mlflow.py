"""What both MLflow constructs create the same way: the role of the artifact store."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.constructs._nag import acknowledge_findings, bucket_grant_findings


def artifact_store_role(
    scope: Construct, *, artifacts_bucket: s3.IBucket, artifact_prefix: str, description: str
) -> iam.Role:
    """A SageMaker-assumed role ``Role`` in ``scope`` that may read and write the prefix only."""
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description=description,
    )
    artifacts_bucket.grant_read_write(role, f"{artifact_prefix}*")
    acknowledge_findings(
        role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5",
        bucket_grant_findings(artifacts_bucket, [artifact_prefix], write=True),
        "The artifact store is every object under the MLflow prefix of the artifacts bucket; "
        "the S3/KMS action groups are CDK's grant_read_write.",
    )
    return role
