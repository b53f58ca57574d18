"""Reusable constructs; import them into any CDK app.

Example:
    from mlops_cdk.constructs import PlatformStorage, PlatformVpc
"""

from mlops_cdk.constructs.alarm_topic import AlarmTopic
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.constructs.model_image_repository import ModelImageRepository
from mlops_cdk.constructs.monthly_budget import MonthlyBudget
from mlops_cdk.constructs.network import PlatformVpc
from mlops_cdk.constructs.platform_monitoring import AlarmThresholds, PlatformMonitoring
from mlops_cdk.constructs.storage import PlatformStorage

__all__ = [
    "AlarmThresholds",
    "AlarmTopic",
    "GitHubTokenSecret",
    "ModelImageRepository",
    "MonthlyBudget",
    "PlatformMonitoring",
    "PlatformStorage",
    "PlatformVpc",
]
