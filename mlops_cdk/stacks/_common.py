"""Helpers the stacks share to turn settings into CDK values."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from mlops_cdk.config import LOG_RETENTION, Settings


def retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a validated number of days (``LOG_RETENTION``)."""
    return getattr(logs.RetentionDays, LOG_RETENTION[days])


def removal_policy(settings: Settings) -> RemovalPolicy:
    """``RETAIN`` where the environment keeps its data (prod), else ``DESTROY``."""
    return RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
