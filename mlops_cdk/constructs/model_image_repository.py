"""ModelImageRepository: the ECR repository of the model-server image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from mlops_cdk.constructs._props import ConstructValidator, merge_props


class ModelImageRepository(Construct):
    """A private ECR repository for the image both serving paths run.

    Tags are immutable (a tag always names the same image, so a rollback is exact), images are
    scanned on push, encrypted with KMS, and a lifecycle rule keeps the newest ``keep_last``.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        keep_last: Images kept by the lifecycle rule. Default 20.
        removal_policy: Default ``RETAIN``; with ``DESTROY`` the repository is emptied on delete.
        existing_repository: Reuse a repository instead of creating one.
        repository_props: ``ecr.Repository`` keyword arguments merged over the defaults;
            ``image_scan_on_push`` and ``image_tag_mutability`` stay as set here.

    Attributes:
        repository: The repository; grant pulls with ``repository.grant_pull(role)``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        keep_last: int = 20,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_repository: ecr.IRepository | None = None,
        repository_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check = ConstructValidator(self)
        check.check_existing_or_props(
            "existing_repository", existing_repository, "repository_props", repository_props
        )
        check.check(
            "keep_last", keep_last, 1 <= keep_last <= 10000, "out of range", "keep 1-10000 images"
        )
        check.raise_if_any()
        if existing_repository is not None:
            self.repository: ecr.IRepository = existing_repository
            return
        defaults: dict[str, Any] = {
            "encryption": ecr.RepositoryEncryption.KMS,
            "lifecycle_rules": [
                ecr.LifecycleRule(
                    description=f"Keep the newest {keep_last} images",
                    max_image_count=keep_last,
                )
            ],
            "removal_policy": removal_policy,
            "empty_on_delete": removal_policy == RemovalPolicy.DESTROY,
        }
        required: dict[str, Any] = {
            "image_scan_on_push": True,
            "image_tag_mutability": ecr.TagMutability.IMMUTABLE,
        }
        self.repository = ecr.Repository(
            self,
            "Repository",
            **merge_props(
                self,
                defaults,
                repository_props,
                required,
                security_keys=("encryption", "encryption_key", "removal_policy", "empty_on_delete"),
            ),
        )
