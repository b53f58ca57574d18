"""RegistryStack: the account's model-server image repository, created or imported."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs._image import image_uri
from mlops_cdk.constructs.model_image_repository import ModelImageRepository


class RegistryStack(Stack):
    """Holds :class:`ModelImageRepository`; exposes ``repository``.

    One repository per account, shared by its environments, so the image retraining pushes
    and gates is the image (the digest) dev, staging and prod serve. The environment with
    ``registry.create`` creates it, always retained since the others serve from it; the others
    import it by name and hold no repository resource. Each records the image it deploys in
    the SSM parameter ``/mlops-cdk/<env>/model-image`` (the one to roll back to is in its
    history).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry = settings.registry
        if registry.create:
            self.image_repository = ModelImageRepository(
                self,
                "ModelImage",
                keep_last=registry.keep_last_images,
                removal_policy=RemovalPolicy.RETAIN,
                repository_props={"repository_name": registry.repository_name},
            )
        else:
            self.image_repository = ModelImageRepository(
                self,
                "ModelImage",
                existing_repository=ecr.Repository.from_repository_name(
                    self, "SharedRepository", registry.repository_name
                ),
            )
        self.repository = self.image_repository.repository
        if settings.image_tag == "latest" and settings.image_digest is None:
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
        self.deployed_image = ssm.StringParameter(
            self,
            "DeployedImage",
            parameter_name=f"/mlops-cdk/{settings.env_name}/model-image",
            string_value=image_uri(self.repository, settings.image_tag, settings.image_digest),
            description=f"Model-server image {settings.env_name} serves (tag {settings.image_tag})",
        )
        CfnOutput(self, "ImageTag", value=settings.image_tag, description="Tag deployed")
        if settings.image_digest is not None:
            CfnOutput(
                self,
                "ImageDigest",
                value=settings.image_digest,
                description="Digest every serving template references",
            )
