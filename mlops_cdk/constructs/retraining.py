"""RetrainingDispatcher: new data under ``incoming/`` (or a nightly schedule) starts retraining."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_cdk.config import RetrainingTarget
from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._dispatch_target import DispatchTarget
from mlops_cdk.constructs._function_parts import (
    dispatching_function,
    idempotency_table,
    queue_depth_alarm,
    schedule_expression,
    schedule_role,
)
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs._props import (
    ConstructValidator,
    check_existing_or_props,
    merge_props,
)
from mlops_cdk.constructs.github_oidc import is_github_repository

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
HANDLER_PACKAGE = "retrain_dispatch"
"""The handler is a package (its modules import each other relatively), so the asset root is
``mlops_cdk/lambdas`` holding only this package, and the handler is ``retrain_dispatch.handler``."""
HANDLER_DIR = LAMBDAS_DIR / HANDLER_PACKAGE
"""The handler package; shipped in the wheel, so an installed library finds its own asset."""

METRICS_NAMESPACE = "MlopsCdk/Retraining"
SERVICE_NAME = "retrain-dispatch"
_TARGETS = ("github", "sagemaker")
TABLE_ENCRYPTION_REASON = (
    "The table holds only batch digests, status and expiry (no data, no secrets); AWS-managed "
    "encryption is enough. Pass table_props to use your own key."
)


FUNCTION_CHECKOV_SKIPS = {
    "CKV_AWS_116": "Failed SQS batches are redriven to the queue's dead-letter queue and "
    "failed scheduled (asynchronous) runs go to the delivery dead-letter queue; a function DLQ "
    "would duplicate them.",
    "CKV_AWS_117": "The function calls only public endpoints (GitHub, SageMaker, DynamoDB, "
    "Secrets Manager); running it in the VPC would add NAT cost and cold-start time and reach "
    "nothing private.",
    "CKV_AWS_173": "Its environment holds names and ARNs only; the token is read from Secrets "
    "Manager at run time.",
}
UNRESERVED_REASON = (
    "Reserved concurrency is opt-in (retraining.reserved_concurrency): a reservation "
    "is taken from the account's pool, 10 in a new account; the SQS event source's "
    "maximum concurrency bounds the dispatcher instead."
)


def function_code() -> lambda_.Code:
    """The function's asset: ``mlops_cdk/lambdas`` holding only the handler package."""
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        exclude=[
            "__pycache__",
            "*.pyc",
            *(path.name for path in LAMBDAS_DIR.iterdir() if path.is_dir() and path != HANDLER_DIR),
        ],
    )


class RetrainingDispatcher(Construct):
    """Debounced, idempotent retraining trigger that loses nothing.

    New objects under ``data_prefix`` in ``data_bucket`` → S3 event to EventBridge → a rule
    matching ``Object Created`` for that bucket and prefix → an SQS queue → a Lambda that reads
    up to ``batch_size`` records per ``batching_window`` and starts ONE retraining run per batch:
    a GitHub ``repository_dispatch`` or a SageMaker pipeline execution. An EventBridge Scheduler
    schedule invokes the same function nightly with a ``Scheduled Event``.

    Debounce: the batching window collects an upload into few batches. Lambda cuts a batch at
    ``batch_size`` records, at the end of the window, or at 6 MB of payload (about 4,000 S3
    events of ~1.5 KB each). 10,000 files uploaded within one window therefore reach the
    function in about 3-5 batches (a few pollers share the queue), i.e. a handful of dispatches
    instead of 10,000; the handler's idempotency (DynamoDB) drops redeliveries of a batch.

    Nothing is lost: events EventBridge or Scheduler cannot deliver, and scheduled runs that still
    fail after Lambda's asynchronous retries, go to ``delivery_dead_letter_queue``; SQS records
    the function fails (reported as partial batch failures) return to the queue and, after
    ``max_receive_count`` receives, move to ``dead_letter_queue``. Both DLQs keep messages 14 days
    and raise an alarm as soon as one message is visible.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        data_bucket: Bucket receiving new training data; it must send events to EventBridge
            (``PlatformStorage`` turns that on).
        data_prefix: Prefix of new data in ``data_bucket``. Default ``incoming/``.
        target: ``"github"`` (default: ``repository_dispatch`` to ``github_repository``) or
            ``"sagemaker"`` (``StartPipelineExecution`` on ``pipeline_name``).
        github_repository: ``owner/name`` receiving the dispatch; required for ``github``.
        github_token_secret: Secret whose SecretString is a GitHub token allowed to dispatch;
            required for ``github``. The function gets read access through a grant.
        github_api_url: GitHub API base URL. Default ``https://api.github.com`` (GitHub
            Enterprise Server overrides it).
        event_type: ``repository_dispatch`` event type. Default ``new-data-arrived``.
        pipeline_name: SageMaker pipeline to start; required for ``sagemaker``. IAM allows
            ``StartPipelineExecution`` on this pipeline only.
        schedule: Scheduler expression (``cron(...)``, ``rate(...)``, ``at(...)``, UTC) or a
            ``ScheduleExpression``. Default ``cron(0 2 * * ? *)``, nightly at 02:00 UTC;
            ``None`` creates no schedule.
        batching_window: SQS batching window, the debounce. Default 60 s (at most 300 s).
        batch_size: Records per invocation (1-10000; above 10 needs a batching window).
            Default 10000 so an upload arrives in as few batches as the 6 MB payload allows.
        max_receive_count: Receives before a record moves to the DLQ. Default 5: enough to ride
            out a throttle and a transient GitHub outage.
        function_timeout: Function timeout; the handler retries GitHub with backoff inside it.
            Default 5 minutes. The queue's visibility timeout is 6x this plus the window.
        memory_size: Function memory in MB. Default 256.
        max_concurrency: The SQS event source's maximum concurrent batches (2-1000). Default 2
            (the minimum): what bounds the dispatcher, without reserving account concurrency.
        reserved_concurrency: Opt-in reservation. Default ``None``: reserving fails on new
            accounts whose concurrency quota is still 10. When set, at least ``max_concurrency``
            (fewer would throttle batches into the DLQ); duplicates are dropped by idempotency.
        log_retention: Retention of the function's log group. Default one month.
        log_level: ``POWERTOOLS_LOG_LEVEL``. Default ``INFO``.
        powertools_layer: Powertools layer to use instead of the official public one (needed in
            China and GovCloud, whose layers live in other accounts).
        removal_policy: For the table, queues and log group. Default ``RETAIN``; ``RETAIN`` also
            turns on the table's deletion protection.
        existing_queue: Consume this queue instead of creating one (with its DLQ and alarm);
            you own its redrive policy, and its visibility timeout must exceed the function's.
        queue_props: ``sqs.Queue`` keyword arguments merged over the queue defaults;
            ``enforce_ssl`` and ``dead_letter_queue`` are set by the construct.
        dead_letter_queue_props: ``sqs.Queue`` keyword arguments merged over the DLQ defaults;
            ``enforce_ssl`` is set by the construct.
        idempotency_table_props: ``dynamodb.Table`` keyword arguments merged over the table
            defaults; ``partition_key`` (``id``) and ``time_to_live_attribute``
            (``expiration``) are Powertools' layout and set by the construct.

    Attributes:
        function: The dispatcher Lambda.
        queue: Queue of S3 events the function consumes.
        dead_letter_queue: Records the function failed ``max_receive_count`` times (``None``
            with ``existing_queue``).
        dlq_alarm: Alarm on ``dead_letter_queue`` depth > 0 (``None`` with ``existing_queue``).
        delivery_dead_letter_queue: Events EventBridge or Scheduler could not deliver and
            scheduled invocations that failed after Lambda's retries.
        delivery_dlq_alarm: Alarm on ``delivery_dead_letter_queue`` depth > 0.
        idempotency_table: DynamoDB table of Powertools idempotency records.
        rule: EventBridge rule matching new objects under ``data_prefix``.
        schedule: The nightly schedule, or ``None``.
        pipeline_arn: ARN of the SageMaker pipeline the function may start, or ``None``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_bucket: s3.IBucket,
        data_prefix: str = "incoming/",
        target: RetrainingTarget = "github",
        github_repository: str | None = None,
        github_token_secret: secretsmanager.ISecret | None = None,
        github_api_url: str = "https://api.github.com",
        event_type: str = "new-data-arrived",
        pipeline_name: str | None = None,
        schedule: scheduler.ScheduleExpression | str | None = "cron(0 2 * * ? *)",
        batching_window: Duration = Duration.seconds(60),
        batch_size: int = 10000,
        max_receive_count: int = 5,
        function_timeout: Duration = Duration.minutes(5),
        memory_size: int = 256,
        max_concurrency: int = 2,
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_level: str = "INFO",
        powertools_layer: lambda_.ILayerVersion | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_queue: sqs.IQueue | None = None,
        queue_props: Mapping[str, Any] | None = None,
        dead_letter_queue_props: Mapping[str, Any] | None = None,
        idempotency_table_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_existing_or_props(self, "existing_queue", existing_queue, "queue_props", queue_props)
        dispatch = DispatchTarget.from_arguments(locals())
        _validate(
            self,
            dispatch=dispatch,
            data_prefix=data_prefix,
            batching_window=batching_window,
            batch_size=batch_size,
            max_receive_count=max_receive_count,
            max_concurrency=max_concurrency,
            reserved_concurrency=reserved_concurrency,
        )
        self.idempotency_table = idempotency_table(
            self,
            removal_policy=removal_policy,
            user_props=idempotency_table_props,
            encryption_reason=TABLE_ENCRYPTION_REASON,
        )

        delivery_dlq = self._queues(
            removal_policy=removal_policy,
            existing_queue=existing_queue,
            queue_props=queue_props,
            dead_letter_queue_props=dead_letter_queue_props,
            max_receive_count=max_receive_count,
            visibility_timeout=Duration.seconds(
                6 * function_timeout.to_seconds() + batching_window.to_seconds()
            ),
        )

        self.rule = self._new_data_rule(data_bucket, data_prefix, delivery_dlq)

        self.pipeline_arn = dispatch.pipeline_arn(self)
        environment = self._environment(
            dispatch=dispatch, data_bucket=data_bucket, data_prefix=data_prefix, log_level=log_level
        )
        self.function = dispatching_function(
            self,
            role_description="Retraining dispatcher: read the queue, token and idempotency table",
            description="Starts one retraining run per batch of new data, and nightly",
            code=function_code(),
            handler=f"{HANDLER_PACKAGE}.handler.handler",
            environment=environment,
            timeout=function_timeout,
            memory_size=memory_size,
            reserved_concurrency=reserved_concurrency,
            unreserved_reason=UNRESERVED_REASON,
            powertools_layer=powertools_layer,
            tracing=lambda_.Tracing.ACTIVE,
            log_retention=log_retention,
            removal_policy=removal_policy,
            # Scheduled runs that still fail after Lambda's retries are kept, not dropped.
            failure_queue=delivery_dlq,
            max_event_age=Duration.hours(6),
            checkov_reasons=FUNCTION_CHECKOV_SKIPS,
        )
        self._connect(
            dispatch,
            batch_size=batch_size,
            batching_window=batching_window,
            max_concurrency=max_concurrency,
        )

        self.schedule: scheduler.Schedule | None = (
            None if schedule is None else self._schedule(schedule, delivery_dlq)
        )

    def _new_data_rule(
        self, data_bucket: s3.IBucket, data_prefix: str, delivery_dlq: sqs.IQueue
    ) -> events.Rule:
        """S3 ``Object Created`` under ``data_prefix`` to the queue; undeliverable to the DLQ."""
        return events.Rule(
            self,
            "NewDataRule",
            description=f"New objects under {data_prefix} in the data bucket start retraining",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [data_bucket.bucket_name]},
                    "object": {"key": events.Match.prefix(data_prefix)},
                },
            ),
            targets=[
                events_targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=delivery_dlq,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

    def _environment(
        self, *, dispatch: DispatchTarget, data_bucket: s3.IBucket, data_prefix: str, log_level: str
    ) -> dict[str, str]:
        """The handler's settings."""
        environment = {
            "DISPATCH_TARGET": dispatch.target,
            "DATA_PREFIX": data_prefix,
            "DATA_BUCKET_NAME": data_bucket.bucket_name,
            "IDEMPOTENCY_TABLE_NAME": self.idempotency_table.table_name,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": log_level,
        }
        return environment | dispatch.environment()

    def _queues(
        self,
        *,
        removal_policy: RemovalPolicy,
        existing_queue: sqs.IQueue | None,
        queue_props: Mapping[str, Any] | None,
        dead_letter_queue_props: Mapping[str, Any] | None,
        max_receive_count: int,
        visibility_timeout: Duration,
    ) -> sqs.Queue:
        """The work queue with its DLQ (unless reused) and the delivery DLQ, which it returns.

        AWS guidance for SQS event sources: visibility timeout >= 6x the function timeout (plus
        the batching window), so a record is not redelivered while being processed.
        """
        # SQS-managed SSE (SSE-SQS) rather than a customer-managed key: EventBridge, Scheduler and
        # Lambda's destinations deliver to SSE-SQS queues with no key policy, the messages hold
        # object keys and ETags rather than data, and there is no key to rotate or pay for.
        # A user may still choose a KMS key through *_props (see _queue).
        delivery_dlq, self.delivery_dlq_alarm = self._dead_letter_queue(
            "DeliveryDeadLetterQueue",
            removal_policy=removal_policy,
            user_props=dead_letter_queue_props,
            senders=("events.amazonaws.com", "scheduler.amazonaws.com"),
            nag_reason="This queue is itself the dead-letter queue of the EventBridge rule "
            "target, the schedule target and the function's asynchronous invocations; it is "
            "alarmed.",
            alarm_description="Retraining events EventBridge/Scheduler could not deliver, or "
            "scheduled runs that failed after retries; inspect and redrive",
        )
        self.delivery_dead_letter_queue: sqs.Queue = delivery_dlq
        self.dead_letter_queue: sqs.Queue | None = None
        self.dlq_alarm: cloudwatch.Alarm | None = None
        if existing_queue is not None:
            self.queue: sqs.IQueue = existing_queue
            return delivery_dlq
        self.dead_letter_queue, self.dlq_alarm = self._dead_letter_queue(
            "DeadLetterQueue",
            removal_policy=removal_policy,
            user_props=dead_letter_queue_props,
            nag_reason="This queue is itself the dead-letter queue of the retraining queue; it "
            "keeps messages 14 days and is alarmed.",
            alarm_description="New-data records the retraining dispatcher failed repeatedly; "
            "inspect and redrive to the queue",
        )
        self.queue = self._queue(
            "Queue",
            removal_policy=removal_policy,
            defaults={
                "visibility_timeout": visibility_timeout,
                "retention_period": Duration.days(4),
            },
            user_props=queue_props,
            required={
                "dead_letter_queue": sqs.DeadLetterQueue(
                    max_receive_count=max_receive_count, queue=self.dead_letter_queue
                )
            },
        )
        return delivery_dlq

    def _dead_letter_queue(
        self,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        user_props: Mapping[str, Any] | None,
        nag_reason: str,
        alarm_description: str,
        senders: tuple[str, ...] = (),
    ) -> tuple[sqs.Queue, cloudwatch.Alarm]:
        """A 14-day dead-letter queue and its alarm on one visible message."""
        queue = self._queue(
            construct_id,
            removal_policy=removal_policy,
            defaults={"retention_period": Duration.days(14)},
            user_props=user_props,
            required={},
            senders=senders,
        )
        acknowledge(queue, "AwsSolutions-SQS3", nag_reason)
        alarm = queue_depth_alarm(
            self,
            f"{construct_id}Alarm",
            queue=queue,
            description=alarm_description,
            period=Duration.minutes(1),
        )
        return queue, alarm

    def _connect(
        self,
        dispatch: DispatchTarget,
        *,
        batch_size: int,
        batching_window: Duration,
        max_concurrency: int,
    ) -> None:
        """Grant what a dispatch needs (the table, the token or the pipeline), then consume."""
        self.idempotency_table.grant_read_write_data(self.function)
        dispatch.grant_start(self, self.function)
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                max_batching_window=batching_window,
                report_batch_item_failures=True,
                # Bounds the dispatcher without reserving account concurrency (a reservation
                # fails on new accounts whose quota is 10).
                max_concurrency=max_concurrency,
            )
        )

    def _queue(
        self,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        defaults: Mapping[str, Any],
        user_props: Mapping[str, Any] | None,
        required: Mapping[str, Any],
        senders: tuple[str, ...] = (),
    ) -> sqs.Queue:
        props = merge_props(
            self,
            {
                "encryption": sqs.QueueEncryption.SQS_MANAGED,
                "removal_policy": removal_policy,
                **defaults,
            },
            user_props,
            {"enforce_ssl": True, **required},
            security_keys=("encryption", "encryption_master_key", "removal_policy"),
        )
        queue = sqs.Queue(self, construct_id, **props)
        skip_checkov(
            queue,
            "CKV_AWS_27",
            "Encrypted with SSE-SQS (SqsManagedSseEnabled); this checkov check only recognises "
            "a KMS key.",
        )
        if queue.encryption_master_key is not None:
            # With a KMS key, services that send to the queue need the key. The rule's target
            # queue gets this from CDK's SqsQueue target; a dead-letter config does not.
            for service in senders:
                queue.encryption_master_key.grant(
                    iam.ServicePrincipal(service), "kms:GenerateDataKey", "kms:Decrypt"
                )
        return queue

    def _schedule(
        self, schedule: scheduler.ScheduleExpression | str, dlq: sqs.IQueue
    ) -> scheduler.Schedule:
        # The handler contract takes an EventBridge "Scheduled Event". Scheduler sends only the
        # input it is given, so build that event; the execution id and scheduled time differ per
        # run, so each night is a new idempotency key while retries of one run share it.
        scheduled_event = {
            "version": "0",
            "id": scheduler.ContextAttribute.execution_id,
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": Stack.of(self).account,
            "time": scheduler.ContextAttribute.scheduled_time,
            "region": Stack.of(self).region,
            "resources": [scheduler.ContextAttribute.schedule_arn],
            "detail": {},
        }
        role = schedule_role(
            self, self.function, "Lets the nightly retraining schedule invoke the dispatcher"
        )
        return scheduler.Schedule(
            self,
            "NightlySchedule",
            description="Nightly retraining run",
            schedule=schedule_expression(schedule),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object(scheduled_event),
                dead_letter_queue=dlq,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
                role=role,
            ),
        )


def _validate(
    scope: Construct,
    *,
    dispatch: DispatchTarget,
    data_prefix: str,
    batching_window: Duration,
    batch_size: int,
    max_receive_count: int,
    max_concurrency: int,
    reserved_concurrency: int | None,
) -> None:
    """Raise one ConstructValidationError naming every inconsistent argument and its fix."""
    check = ConstructValidator(scope)
    _check_dispatch_target(check, dispatch)
    check.check_prefix("data_prefix", data_prefix, "incoming/")
    window = batching_window.to_seconds()
    check.check(
        "batching_window",
        window,
        0 <= window <= 300,
        "seconds, outside 0-300 s (the SQS event source maximum)",
        "pass at most Duration.seconds(300)",
    )
    check.check("batch_size", batch_size, 1 <= batch_size <= 10000, "out of range", "use 1-10000")
    if batch_size > 10:
        check.check(
            "batch_size",
            batch_size,
            window >= 1,
            "needs batching_window >= 1 s (SQS allows batches above 10 only with a window)",
            "set a batching_window or batch_size <= 10",
        )
    check.check(
        "max_receive_count",
        max_receive_count,
        1 <= max_receive_count <= 1000,
        "out of range",
        "use 1-1000",
    )
    check.check(
        "max_concurrency",
        max_concurrency,
        2 <= max_concurrency <= 1000,
        "out of range (the SQS event source's maximum concurrency)",
        "use 2-1000",
    )
    if reserved_concurrency is not None:
        check.check(
            "reserved_concurrency",
            reserved_concurrency,
            reserved_concurrency >= max_concurrency,
            f"is below max_concurrency = {max_concurrency}, so the event source's batches "
            "would be throttled and each throttle counts as a receive towards the DLQ",
            f"set reserved_concurrency >= {max_concurrency}, or None (the default)",
        )
    check.raise_if_any()


def _check_dispatch_target(check: ConstructValidator, dispatch: DispatchTarget) -> None:
    """The target is known and has what it needs: a repository and token, or a pipeline."""
    check.check(
        "target",
        dispatch.target,
        dispatch.target in _TARGETS,
        "unknown target",
        "use 'github' or 'sagemaker'",
    )
    if dispatch.target == "github":
        check.check(
            "github_repository",
            dispatch.github_repository,
            is_github_repository,
            "target = 'github' needs github_repository = 'owner/name'",
            "pass the repository holding retrain.yml, e.g. -c github_repository=my-org/mlops-cdk",
        )
        check.check(
            "github_token_secret",
            dispatch.github_token_secret,
            dispatch.github_token_secret is not None,
            "target = 'github' needs github_token_secret",
            "pass the secret holding the token (GitHubTokenSecret)",
        )
        check.check(
            "github_api_url",
            dispatch.github_api_url,
            lambda url: url.startswith("https://"),
            "must be an https URL",
            "e.g. https://api.github.com",
        )
    if dispatch.target == "sagemaker":
        check.check(
            "pipeline_name",
            dispatch.pipeline_name,
            bool(dispatch.pipeline_name),
            "target = 'sagemaker' needs pipeline_name",
            "pass the pipeline to start",
        )
