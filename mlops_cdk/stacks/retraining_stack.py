"""RetrainingStack: new data, the nightly schedule or data drift starts a retraining run."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.drift_monitor import DriftMonitor
from mlops_cdk.constructs.github_oidc import warn_if_placeholder_repository
from mlops_cdk.constructs.retraining import RetrainingDispatcher
from mlops_cdk.stacks._common import capture_prefix, removal_policy, retention

BASELINE_KEY = "models/fraud-detection/baseline.json"
"""Where retrain.yml puts the deployed model's ``baseline.json`` (the drift check reads it)."""


class RetrainingStack(Stack):
    """Holds :class:`RetrainingDispatcher` and, with ``drift.enabled``, :class:`DriftMonitor`.

    With ``retraining.target = sagemaker`` both start the pipeline named
    ``settings.retraining_pipeline_name`` (``mlopscdk-<env>-retrain`` unless configured), the
    name the pipeline's own stack uses; with ``github`` both send a ``repository_dispatch``
    (``retraining.event_type``, and ``drift-detected`` for drift). The drift monitor reads
    ``capture/<env>/`` and :data:`BASELINE_KEY` in ``artifacts_bucket`` and alarms to
    ``alarm_topic``.

    Attributes:
        dispatcher: The :class:`RetrainingDispatcher`, for alarms and dashboards.
        drift_monitor: The :class:`DriftMonitor`, or ``None`` when ``drift.enabled`` is off.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        data_bucket: s3.IBucket,
        github_token_secret: secretsmanager.ISecret,
        artifacts_bucket: s3.IBucket,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retraining = settings.retraining
        github = retraining.target == "github"
        if github:
            warn_if_placeholder_repository(self, retraining.github_repository)
        self.dispatcher = RetrainingDispatcher(
            self,
            "Retraining",
            data_bucket=data_bucket,
            target=retraining.target,
            github_repository=retraining.github_repository if github else None,
            github_token_secret=github_token_secret if github else None,
            github_api_url=retraining.github_api_url,
            event_type=retraining.event_type,
            pipeline_name=None if github else settings.retraining_pipeline_name,
            data_prefix=retraining.data_prefix,
            schedule=retraining.schedule,
            batching_window=Duration.seconds(retraining.batching_window_seconds),
            batch_size=retraining.batch_size,
            max_receive_count=retraining.max_receive_count,
            reserved_concurrency=retraining.reserved_concurrency,
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        self.drift_monitor: DriftMonitor | None = None
        if settings.drift.enabled:
            self.drift_monitor = self._drift_monitor(
                settings, data_bucket, github_token_secret, artifacts_bucket, alarm_topic
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

    def _drift_monitor(
        self,
        settings: Settings,
        data_bucket: s3.IBucket,
        github_token_secret: secretsmanager.ISecret,
        artifacts_bucket: s3.IBucket,
        alarm_topic: sns.ITopic,
    ) -> DriftMonitor:
        retraining, drift = settings.retraining, settings.drift
        github = retraining.target == "github"
        monitor = DriftMonitor(
            self,
            "DriftMonitor",
            artifacts_bucket=artifacts_bucket,
            capture_prefix=capture_prefix(settings),
            baseline_key=BASELINE_KEY,
            alarm_topic=alarm_topic,
            target=retraining.target,
            github_repository=retraining.github_repository if github else None,
            github_token_secret=github_token_secret if github else None,
            github_api_url=retraining.github_api_url,
            pipeline_name=None if github else settings.retraining_pipeline_name,
            data_bucket=data_bucket,
            data_prefix=retraining.data_prefix,
            schedule=drift.schedule,
            window_hours=drift.window_hours,
            threshold=drift.threshold,
            min_rows=drift.min_rows,
            # Unique per environment: several may share an account and region.
            service_name=f"drift-check-{settings.env_name}",
            # One run at a time only where the dispatcher reserves too: reserving fails on new
            # accounts with a low quota (idempotency still guards each window).
            reserved_concurrency=1 if retraining.reserved_concurrency else None,
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        CfnOutput(
            self,
            "DriftCheckFunctionName",
            value=monitor.function.function_name,
            description='The scheduled drift check (invoke with {"window_end": ...} by hand)',
        )
        return monitor
