"""RegistryStack: the model-server image repository."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.model_image_repository import ModelImageRepository
from mlops_cdk.stacks._common import removal_policy


class RegistryStack(Stack):
    """Holds :class:`ModelImageRepository`; exposes ``repository``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.image_repository = ModelImageRepository(
            self,
            "ModelImage",
            keep_last=settings.registry.keep_last_images,
            removal_policy=removal_policy(settings),
        )
        self.repository = self.image_repository.repository
        CfnOutput(
            self,
            "RepositoryUri",
            value=self.repository.repository_uri,
            description="Push the model-server image here (tags are immutable)",
        )
