"""Reusable constructs; import them into any CDK app.

Example:
    from mlops_cdk.constructs import PlatformStorage, PlatformVpc
"""

from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.constructs.model_api import ModelApi
from mlops_cdk.constructs.model_image_repository import ModelImageRepository
from mlops_cdk.constructs.network import PlatformVpc
from mlops_cdk.constructs.retraining import RetrainingDispatcher
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint
from mlops_cdk.constructs.storage import PlatformStorage

__all__ = [
    "EksFargateCluster",
    "EksModelServing",
    "GitHubTokenSecret",
    "ModelApi",
    "ModelImageRepository",
    "PlatformStorage",
    "PlatformVpc",
    "RetrainingDispatcher",
    "SageMakerModelEndpoint",
]
