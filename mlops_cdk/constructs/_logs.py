"""The kit's CloudWatch log groups, with their secure defaults (Solutions Constructs style).

Every log group a construct creates has a retention (CloudWatch keeps logs forever by default)
and follows the construct's removal policy. Without a customer-managed key it relies on
CloudWatch Logs' own encryption, and the checkov finding for that is skipped with
:data:`~mlops_cdk.constructs._checkov.LOG_GROUP_KMS_REASON`.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON, skip_checkov


def build_log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    log_group_name: str | None = None,
    encryption_key: kms.IKey | None = None,
) -> logs.LogGroup:
    """A log group ``construct_id`` in ``scope`` with ``retention`` and ``removal_policy``.

    Args:
        scope: Where the log group is created.
        construct_id: Its construct id (and so its logical id).
        retention: How long CloudWatch keeps the events.
        removal_policy: For the log group.
        log_group_name: A fixed name, for groups a service writes to by name. Default generated.
        encryption_key: A key CloudWatch Logs may use (``build_logs_encryption_key``). Default
            ``None``: CloudWatch Logs' own encryption.
    """
    log_group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
    if encryption_key is None:
        skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
    return log_group
