"""DriftMonitor: hourly PSI of captured traffic against the training baseline, alarm, retraining."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._dispatch_target import DispatchTarget
from mlops_cdk.constructs._function_parts import (
    dispatching_function,
    idempotency_table,
    queue_depth_alarm,
    schedule_expression,
    schedule_role,
)
from mlops_cdk.constructs._nag import acknowledge, acknowledge_findings
from mlops_cdk.drift.rules import drift_check_problems

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""``mlops_cdk/``: the function ships the parts of this package it imports (no layer needed)."""
ASSET_PARTS = (
    "__init__.py",
    "drift",
    "lambdas/__init__.py",
    "lambdas/drift_check",
    "lambdas/retrain_dispatch",
)
HANDLER = "mlops_cdk.lambdas.drift_check.handler.handler"
METRICS_NAMESPACE = "MlopsCdk/Drift"
SERVICE_NAME = "drift-check"
_TARGETS = ("github", "sagemaker")
TABLE_ENCRYPTION_REASON = (
    "The table holds only window digests, status and expiry (no data); AWS-managed encryption "
    "is enough. Pass table props to use your own key."
)
FUNCTION_CHECKOV_SKIPS = {
    "CKV_AWS_116": "Failed runs go to the dead-letter queue through the on-failure "
    "destination (and undeliverable schedules through Scheduler's); a function DLQ "
    "would duplicate it.",
    "CKV_AWS_117": "The function reaches only public endpoints (S3, DynamoDB, GitHub, "
    "SageMaker); a VPC would add NAT cost and reach nothing private.",
    "CKV_AWS_173": "Its environment holds names and ARNs only, no secrets.",
}
UNRESERVED_REASON = (
    "Reserved concurrency is opt-in: a reservation is taken from the account's pool, "
    "10 in a new account; one schedule invokes it once an hour and idempotency keeps "
    "a second run of a window from dispatching."
)


@jsii.implements(ILocalBundling)
class _CopyPackageParts:
    """Bundles the function without Docker: copies ``ASSET_PARTS`` (Python sources only)."""

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ASSET_PARTS:
            source, target = PACKAGE_DIR / part, Path(output_dir) / "mlops_cdk" / part
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        return True


def function_code() -> lambda_.Code:
    """The function's asset: the drift package and the handlers it imports, hashed by content."""
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR / "lambdas" / "drift_check"),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/lambda/python:3.13"),
            local=_CopyPackageParts(),
        ),
    )


def validate_drift_monitor(
    *,
    dispatch: DispatchTarget,
    capture_prefix: str,
    baseline_key: str,
    threshold: float,
    min_rows: int,
    window_hours: int,
    schedule: str | None = None,
) -> None:
    """Raise one ValueError naming every inconsistent argument and its fix."""
    errors = drift_check_problems(
        threshold=threshold, min_rows=min_rows, window_hours=window_hours, schedule=schedule
    )
    target, repository = dispatch.target, dispatch.github_repository
    if target not in _TARGETS:
        errors.append(f"target = {target!r}; use 'github' or 'sagemaker'")
    if target == "github" and (not repository or repository.count("/") != 1):
        errors.append(
            f"target = 'github' needs github_repository = 'owner/name' (got {repository!r})"
        )
    if target == "github" and dispatch.github_token_secret is None:
        errors.append("target = 'github' needs github_token_secret (the token's secret)")
    if target == "sagemaker" and not dispatch.pipeline_name:
        errors.append("target = 'sagemaker' needs pipeline_name (the pipeline to start)")
    if not Token.is_unresolved(capture_prefix) and (
        not capture_prefix.endswith("/") or capture_prefix.startswith("/")
    ):
        errors.append(f"capture_prefix = {capture_prefix!r}; use e.g. 'capture/prod/'")
    if not Token.is_unresolved(baseline_key) and (
        not baseline_key or baseline_key.startswith("/") or baseline_key.endswith("/")
    ):
        errors.append(
            f"baseline_key = {baseline_key!r}; use an object key like "
            "'models/fraud-detection/baseline.json'"
        )
    if errors:
        raise ValueError("DriftMonitor: " + "; ".join(errors))


def _function_environment(
    *,
    artifacts_bucket: s3.IBucket,
    capture_prefix: str,
    baseline_key: str,
    table: dynamodb.ITable,
    dispatch: DispatchTarget,
    threshold: float,
    min_rows: int,
    window_hours: int,
    data_bucket: s3.IBucket | None,
    data_prefix: str,
    service_name: str,
    log_level: str,
) -> dict[str, str]:
    """The drift check's environment (``handler.Settings`` reads it)."""
    environment = {
        "ARTIFACTS_BUCKET_NAME": artifacts_bucket.bucket_name,
        "CAPTURE_PREFIX": capture_prefix,
        "BASELINE_KEY": baseline_key,
        "IDEMPOTENCY_TABLE_NAME": table.table_name,
        "DISPATCH_TARGET": dispatch.target,
        "DRIFT_THRESHOLD": str(threshold),
        "MIN_ROWS": str(min_rows),
        "WINDOW_HOURS": str(window_hours),
        "DATA_PREFIX": data_prefix,
        "POWERTOOLS_SERVICE_NAME": service_name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": log_level,
    }
    if data_bucket is not None:
        environment["DATA_BUCKET_NAME"] = data_bucket.bucket_name
    return environment | dispatch.environment()


class DriftMonitor(Construct):
    """Scheduled data-drift check of captured traffic, with metrics, an alarm and retraining.

    An EventBridge Scheduler schedule (default hourly, at :10) invokes a Lambda with the
    scheduled time.
    The function reads the capture objects of the whole hours before it under
    ``capture_prefix`` in ``artifacts_bucket`` (SageMaker's ``<endpoint>/<variant>/yyyy/mm/dd/hh/``
    layout and the EKS ``eks/yyyy/mm/dd/hh/`` one), compares them with the baseline at
    ``baseline_key`` (population stability index per feature), and publishes ``MaxPsi`` and
    ``Psi`` (dimension ``Feature``) in ``MlopsCdk/Drift`` with dimension ``service`` =
    ``service_name`` as embedded metric format logs (no ``cloudwatch:PutMetricData`` needed).
    When ``MaxPsi > threshold`` over at least ``min_rows`` rows it starts retraining once per
    window: a GitHub ``repository_dispatch`` of ``event_type`` or a SageMaker pipeline run.
    An alarm on ``MaxPsi > threshold`` notifies ``alarm_topic``; quiet windows publish no
    ``MaxPsi`` and count as not breaching. Runs that fail after Scheduler's retries (e.g. a
    missing baseline) land in ``dead_letter_queue``, which is alarmed too.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        artifacts_bucket: Bucket holding the capture and the baseline; the function may read
            ``capture_prefix*`` and ``baseline_key`` only.
        capture_prefix: The environment's capture prefix, e.g. ``capture/prod/``.
        baseline_key: Key of the served model's ``baseline.json``.
        alarm_topic: Topic notified by the drift and DLQ alarms; ``None`` sends nowhere.
        target: ``"github"`` (default) or ``"sagemaker"``.
        github_repository: ``owner/name`` receiving the dispatch; required for ``github``.
        github_token_secret: Secret holding a token allowed to dispatch; required for ``github``.
        github_api_url: GitHub API base URL. Default ``https://api.github.com``.
        event_type: ``repository_dispatch`` event type. Default ``drift-detected``.
        pipeline_name: SageMaker pipeline to start; required for ``sagemaker``.
        data_bucket: Training data bucket named in the retraining request. Default none (the
            workflow's own default applies).
        data_prefix: Training data prefix named in the request. Default ``incoming/``.
        schedule: Scheduler expression (UTC). Default ``cron(10 * * * ? *)``: hourly, ten
            minutes past the hour, so the previous hour's capture has been delivered (SageMaker
            and Firehose buffer a few minutes) before it is checked.
        window_hours: Whole hours each run checks; match it to ``schedule``. Default 1.
        threshold: PSI above which a feature has drifted. Default 0.2 (the usual "significant
            shift" line; 0.1-0.2 is a moderate one).
        min_rows: Rows a window needs before drift may start retraining. Default 200: fewer
            give a noisy PSI (the metric is still published).
        service_name: ``service`` dimension of the metrics; make it unique per environment when
            several share an account and region. Default ``drift-check``.
        function_timeout: Default 5 minutes. memory_size: Default 512 MB.
        reserved_concurrency: Default 1: one run at a time. ``None`` reserves none (reserving
            fails on new accounts whose concurrency quota is still 10); the idempotency record
            still keeps a window from dispatching twice (a concurrent run of the same window
            fails as in progress, and its retry finds the window done).
        log_retention: Default one month. log_level: Default ``INFO``.
        powertools_layer: Powertools layer instead of the official public one.
        removal_policy: For the table, queue and log group. Default ``RETAIN``.
        idempotency_table_props: ``dynamodb.Table`` keyword arguments merged over the defaults;
            ``partition_key`` and ``time_to_live_attribute`` are Powertools' layout and fixed.

    Attributes:
        function: The drift-check Lambda.
        schedule: Its schedule.
        idempotency_table: Windows already dispatched (Powertools idempotency records).
        dead_letter_queue: Scheduled runs that failed after retries.
        dlq_alarm: Alarm on ``dead_letter_queue`` depth > 0.
        alarm: Alarm on ``MaxPsi > threshold``.
        alarm_topic: The topic both alarms notify on ALARM (``None``: none).
        threshold: The PSI threshold.
        max_psi_metric: ``MaxPsi`` (maximum per ``window_hours``), for dashboards.
        capture_rows_metric: ``CaptureRows`` (sum per ``window_hours``), for dashboards.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket: s3.IBucket,
        capture_prefix: str,
        baseline_key: str,
        alarm_topic: sns.ITopic | None,
        target: str = "github",
        github_repository: str | None = None,
        github_token_secret: secretsmanager.ISecret | None = None,
        github_api_url: str = "https://api.github.com",
        event_type: str = "drift-detected",
        pipeline_name: str | None = None,
        data_bucket: s3.IBucket | None = None,
        data_prefix: str = "incoming/",
        schedule: scheduler.ScheduleExpression | str = "cron(10 * * * ? *)",
        window_hours: int = 1,
        threshold: float = 0.2,
        min_rows: int = 200,
        service_name: str = SERVICE_NAME,
        function_timeout: Duration = Duration.minutes(5),
        memory_size: int = 512,
        reserved_concurrency: int | None = 1,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_level: str = "INFO",
        powertools_layer: lambda_.ILayerVersion | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        idempotency_table_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        dispatch = DispatchTarget.from_arguments(locals())
        validate_drift_monitor(
            dispatch=dispatch,
            capture_prefix=capture_prefix,
            baseline_key=baseline_key,
            threshold=threshold,
            min_rows=min_rows,
            window_hours=window_hours,
            schedule=schedule if isinstance(schedule, str) else None,
        )
        self.idempotency_table = idempotency_table(
            self,
            removal_policy=removal_policy,
            user_props=idempotency_table_props,
            encryption_reason=TABLE_ENCRYPTION_REASON,
        )
        self.dead_letter_queue = self._dead_letter_queue(removal_policy)
        environment = _function_environment(
            artifacts_bucket=artifacts_bucket,
            capture_prefix=capture_prefix,
            baseline_key=baseline_key,
            table=self.idempotency_table,
            dispatch=dispatch,
            threshold=threshold,
            min_rows=min_rows,
            window_hours=window_hours,
            data_bucket=data_bucket,
            data_prefix=data_prefix,
            service_name=service_name,
            log_level=log_level,
        )
        self.function = dispatching_function(
            self,
            role_description="Drift check: read capture and baseline, record dispatched windows",
            description="Hourly data-drift check of captured traffic against the baseline",
            code=function_code(),
            handler=HANDLER,
            environment=environment,
            timeout=function_timeout,
            memory_size=memory_size,
            # One run at a time by default: two runs of one window would race on the
            # idempotency record (safely: the second fails as in progress and retries).
            reserved_concurrency=reserved_concurrency,
            unreserved_reason=UNRESERVED_REASON,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer=powertools_layer,
            failure_queue=self.dead_letter_queue,
            max_event_age=Duration.hours(2),
            checkov_reasons=FUNCTION_CHECKOV_SKIPS,
        )
        self._grant(artifacts_bucket, capture_prefix, baseline_key, dispatch)
        self.schedule = self._schedule(schedule)
        self._service_name, self._window_hours = service_name, window_hours
        self.alarm_topic, self.threshold = alarm_topic, threshold
        self.max_psi_metric = self._metric("MaxPsi", {})
        self.capture_rows_metric = self._metric("CaptureRows", {}, cloudwatch.Stats.SUM)
        self.alarm, self.dlq_alarm = self._alarms(threshold, alarm_topic)

    def _dead_letter_queue(self, removal_policy: RemovalPolicy) -> sqs.Queue:
        """Scheduled runs that failed after retries: SSE-SQS, 14 days."""
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the drift schedule and the "
            "function's asynchronous invocations; it keeps messages 14 days and is alarmed.",
        )
        skip_checkov(
            queue,
            "CKV_AWS_27",
            "Encrypted with SSE-SQS; this checkov check only recognises a KMS key.",
        )
        return queue

    def psi_metric(self, feature: str) -> cloudwatch.Metric:
        """``Psi`` of one feature (maximum per window), for dashboards."""
        return self._metric("Psi", {"Feature": feature})

    def feature_psi_search(self) -> cloudwatch.MathExpression:
        """``Psi`` of every feature the check publishes, whatever the model's features are.

        A CloudWatch ``SEARCH`` expression: dashboards only (alarms cannot use it).
        """
        return cloudwatch.MathExpression(
            expression=(
                f'SEARCH(\'{{{METRICS_NAMESPACE},Feature,service}} MetricName="Psi" '
                f"service=\"{self._service_name}\"', 'Maximum', {self._window_hours * 3600})"
            ),
            using_metrics={},
            label="",
            period=Duration.hours(self._window_hours),
        )

    def _metric(
        self, name: str, dimensions: dict[str, str], statistic: str = cloudwatch.Stats.MAXIMUM
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._service_name, **dimensions},
            statistic=statistic,
            period=Duration.hours(self._window_hours),
        )

    def _alarms(
        self, threshold: float, alarm_topic: sns.ITopic | None
    ) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        drift = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            alarm_description=f"Input data drift: the largest feature PSI exceeded {threshold} "
            "(see docs/drift.md); retraining starts once the window has enough rows",
            metric=self.max_psi_metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dlq = queue_depth_alarm(
            self,
            "DeadLetterQueueAlarm",
            queue=self.dead_letter_queue,
            description="Drift checks failed after retries (e.g. a missing baseline); "
            "read the function's logs",
            period=Duration.minutes(5),
        )
        if alarm_topic is not None:
            for alarm in (drift, dlq):
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
        return drift, dlq

    def _grant(
        self, bucket: s3.IBucket, capture_prefix: str, baseline_key: str, dispatch: DispatchTarget
    ) -> None:
        """Read the capture prefix and the baseline object only; the table; the dispatch."""
        bucket.grant_read(self.function, f"{capture_prefix}*")
        bucket.grant_read(self.function, baseline_key)
        self.idempotency_table.grant_read_write_data(self.function)
        findings = [
            "Action::s3:GetBucket*",
            "Action::s3:GetObject*",
            "Action::s3:List*",
            f"Resource::{bucket.bucket_arn}/{capture_prefix}*",
        ]
        acknowledge_findings(
            self.function.role,  # type: ignore[arg-type]
            "AwsSolutions-IAM5",
            findings,
            "Read-only grants from Bucket.grant_read: objects under the capture prefix (whose "
            "keys carry endpoint, variant and hour) and the one baseline object; List is on "
            "the bucket because listing the window's hours is the point.",
        )
        dispatch.grant_start(self, self.function)

    def _schedule(self, schedule: scheduler.ScheduleExpression | str) -> scheduler.Schedule:
        role = schedule_role(self, self.function, "Lets the drift schedule invoke the drift check")
        return scheduler.Schedule(
            self,
            "Schedule",
            description="Data-drift check of the last capture window",
            schedule=schedule_expression(schedule),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                # The scheduled time names the window, so retries of one run share it.
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=3,
                max_event_age=Duration.hours(1),
                role=role,
            ),
        )
