"""StorageStack: data and model-artifact buckets."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.storage import PlatformStorage
from mlops_cdk.stacks._common import removal_policy


class StorageStack(Stack):
    """Holds :class:`PlatformStorage`; exposes ``data_bucket`` and ``artifacts_bucket``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage_settings = settings.storage
        self.storage = PlatformStorage(
            self,
            "Storage",
            encryption=storage_settings.encryption,
            data_prefix=settings.retraining.data_prefix,
            incoming_expiration=Duration.days(storage_settings.incoming_expiration_days),
            noncurrent_version_expiration=Duration.days(
                storage_settings.noncurrent_version_expiration_days
            ),
            access_logs_expiration=Duration.days(storage_settings.access_logs_expiration_days),
            removal_policy=removal_policy(settings),
        )
        self.data_bucket = self.storage.data_bucket
        self.artifacts_bucket = self.storage.artifacts_bucket
