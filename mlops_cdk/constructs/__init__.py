"""Reusable constructs; import them into any CDK app.

Example:
    from mlops_cdk.constructs import PlatformStorage, PlatformVpc
"""

from mlops_cdk.constructs.alarm_topic import AlarmTopic
from mlops_cdk.constructs.capture_log_routing import CaptureLogRouting
from mlops_cdk.constructs.drift_monitor import DriftMonitor
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.constructs.fargate_container_insights import FargateContainerInsights
from mlops_cdk.constructs.github_oidc import GitHubActionsRole, GitHubOidcProvider
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.constructs.mlflow_app import MlflowApp
from mlops_cdk.constructs.mlflow_tracking_server import MlflowTrackingServer
from mlops_cdk.constructs.model_api import LoadBalancerBackend, ModelApi, SageMakerBackend
from mlops_cdk.constructs.model_image_repository import ModelImageRepository
from mlops_cdk.constructs.monthly_budget import MonthlyBudget
from mlops_cdk.constructs.network import PlatformVpc
from mlops_cdk.constructs.platform_monitoring import AlarmThresholds, PlatformMonitoring
from mlops_cdk.constructs.retrain_pipeline import RetrainPipeline
from mlops_cdk.constructs.retraining import RetrainingDispatcher
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint
from mlops_cdk.constructs.storage import PlatformStorage

__all__ = [
    "AlarmThresholds",
    "AlarmTopic",
    "CaptureLogRouting",
    "DriftMonitor",
    "EksFargateCluster",
    "EksModelServing",
    "FargateContainerInsights",
    "GitHubActionsRole",
    "GitHubOidcProvider",
    "GitHubTokenSecret",
    "LoadBalancerBackend",
    "MlflowApp",
    "MlflowTrackingServer",
    "ModelApi",
    "ModelImageRepository",
    "MonthlyBudget",
    "PlatformMonitoring",
    "PlatformStorage",
    "PlatformVpc",
    "RetrainPipeline",
    "RetrainingDispatcher",
    "SageMakerBackend",
    "SageMakerModelEndpoint",
]
