"""RegistryStack: the model-server image repository."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
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
        if settings.image_tag == "latest":
            Annotations.of(self).add_warning_v2(
                "mlops-cdk:image-tag-latest",
                "image_tag = 'latest': tags are immutable, so no 'latest' image is ever pushed "
                "and serving would fail to pull it; build and push a tag (make image, docker "
                "push) and deploy with -c image_tag=<tag> (make deploy refuses without IMAGE_TAG)",
            )
        CfnOutput(
            self,
            "RepositoryUri",
            value=self.repository.repository_uri,
            description="Push the model-server image here (tags are immutable)",
        )
