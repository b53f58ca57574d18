"""RetrainingStack: new data or the nightly schedule starts a retraining run."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.github_oidc import warn_if_placeholder_repository
from mlops_cdk.constructs.retraining import RetrainingDispatcher
from mlops_cdk.stacks._common import removal_policy, retention


class RetrainingStack(Stack):
    """Holds :class:`RetrainingDispatcher`; exposes ``dispatcher`` for alarms and dashboards.

    With ``retraining.target = sagemaker`` the function starts the pipeline named
    ``settings.retraining_pipeline_name`` (``mlopscdk-<env>-retrain`` unless configured), the
    name the pipeline's own stack uses.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        data_bucket: s3.IBucket,
        github_token_secret: secretsmanager.ISecret,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        r = settings.retraining
        github = r.target == "github"
        if github:
            warn_if_placeholder_repository(self, r.github_repository)
        self.dispatcher = RetrainingDispatcher(
            self,
            "Retraining",
            data_bucket=data_bucket,
            target=r.target,
            github_repository=r.github_repository if github else None,
            github_token_secret=github_token_secret if github else None,
            github_api_url=r.github_api_url,
            event_type=r.event_type,
            pipeline_name=None if github else settings.retraining_pipeline_name,
            data_prefix=r.data_prefix,
            schedule=r.schedule,
            batching_window=Duration.seconds(r.batching_window_seconds),
            batch_size=r.batch_size,
            max_receive_count=r.max_receive_count,
            reserved_concurrency=r.reserved_concurrency,
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        CfnOutput(
            self,
            "QueueUrl",
            value=self.dispatcher.queue.queue_url,
            description="S3 new-data events waiting for the retraining dispatcher",
        )
        if self.dispatcher.dead_letter_queue is not None:
            CfnOutput(
                self,
                "DeadLetterQueueUrl",
                value=self.dispatcher.dead_letter_queue.queue_url,
                description="Records the dispatcher failed; redrive them after a fix",
            )
        CfnOutput(
            self,
            "DeliveryDeadLetterQueueUrl",
            value=self.dispatcher.delivery_dead_letter_queue.queue_url,
            description="Events EventBridge/Scheduler could not deliver and failed nightly runs",
        )
        CfnOutput(
            self,
            "FunctionName",
            value=self.dispatcher.function.function_name,
            description="The retraining dispatcher Lambda",
        )
