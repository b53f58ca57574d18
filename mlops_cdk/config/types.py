"""The ``Literal`` types and constants that settings and constructs share (one definition)."""

from __future__ import annotations

from typing import Literal

from mlops_cdk.front_door import FrontDoor as _FrontDoor

__all__ = [
    "ALARM_PERIOD_MINUTES",
    "LOG_RETENTION",
    "LOG_RETENTION_DAYS",
    "OFFLINE_ACCOUNT",
    "RESERVED_NAMESPACES",
    "SERVERLESS_MEMORY_MB",
    "ApiAuth",
    "BucketEncryption",
    "EndpointAccess",
    "FrontDoor",
    "MlflowKind",
    "MlflowSize",
    "RetrainingTarget",
    "SageMakerVariant",
    "ServingEngine",
    "ServingPath",
]

ServingPath = Literal["eks", "sagemaker"]
ServingEngine = Literal["deployment", "kserve"]
RetrainingTarget = Literal["github", "sagemaker"]
EndpointAccess = Literal["public_and_private", "private"]
SageMakerVariant = Literal["realtime", "serverless"]
ApiAuth = Literal["iam", "api_key", "jwt"]
BucketEncryption = Literal["kms", "s3"]
MlflowSize = Literal["Small", "Medium", "Large"]
MlflowKind = Literal["serverless", "tracking_server"]
FrontDoor = _FrontDoor
"""How clients reach EKS serving: the HTTP API (``api``) or the internet-facing ALB."""

OFFLINE_ACCOUNT = "123456789012"
"""Placeholder account used when neither context nor ``CDK_DEFAULT_ACCOUNT`` names one.

It lets ``make synth`` run with no AWS credentials. ``cdk deploy`` runs with credentials, so the
CLI sets ``CDK_DEFAULT_ACCOUNT`` and the placeholder is never deployed.
"""

LOG_RETENTION: dict[int, str] = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip
"""CloudWatch Logs retention periods (days) and their ``aws_logs.RetentionDays`` member names."""

LOG_RETENTION_DAYS = tuple(LOG_RETENTION)
"""The retention periods (days) CloudWatch Logs accepts."""

RESERVED_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "cert-manager",
    "kserve",
)
"""Namespaces the model server may not use: Kubernetes' own and the kit's controllers'."""

ALARM_PERIOD_MINUTES = (1, 5, 10, 15, 30, 60)
"""Alarm periods offered: CloudWatch takes 10, 30 or any multiple of 60 seconds; these are the
ones that make sense for a serving platform."""

SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
"""Memory sizes a SageMaker serverless endpoint accepts."""
