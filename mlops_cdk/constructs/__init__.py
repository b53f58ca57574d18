"""Reusable constructs; import them into any CDK app.

Example:
    from mlops_cdk.constructs import PlatformStorage, PlatformVpc
"""

from mlops_cdk.constructs.github_oidc import GitHubActionsRole, GitHubOidcProvider
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.constructs.mlflow_tracking_server import MlflowTrackingServer
from mlops_cdk.constructs.model_image_repository import ModelImageRepository
from mlops_cdk.constructs.network import PlatformVpc
from mlops_cdk.constructs.retrain_pipeline import RetrainPipeline
from mlops_cdk.constructs.storage import PlatformStorage

__all__ = [
    "GitHubActionsRole",
    "GitHubOidcProvider",
    "GitHubTokenSecret",
    "MlflowTrackingServer",
    "ModelImageRepository",
    "PlatformStorage",
    "PlatformVpc",
    "RetrainPipeline",
]
