"""Lambda entry point: one debounced, idempotent retraining dispatch per SQS batch or schedule.

Design: the SQS batching window debounces uploads, Powertools' ``BatchProcessor`` validates each
record (an invalid body is reported in ``batchItemFailures`` and ends in the DLQ), then all valid
objects of the batch become ONE dispatch per bucket, wrapped in Powertools idempotency keyed on a
digest of the sorted object identities (bucket, key, version, ETag) — never on SQS message ids or
receipt handles. A dispatch that raises deletes its in-progress record, so only completed
dispatches are remembered; its records are reported failed and come back from SQS.

Configuration comes only from environment variables (see :class:`Settings`). Settings, AWS clients
and the idempotency layer are built on first invocation and cached for the container's life, which
keeps the import cheap and lets tests set the environment before the first call.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from .dispatch import (
    DispatchError,
    RetryPolicy,
    build_client_payload,
    send_repository_dispatch,
    start_pipeline_execution,
)
from .records import (
    SCHEDULED_EVENT,
    InvalidRecordError,
    S3Object,
    batch_id,
    is_wanted,
    parse_body,
)
from .runtime import Dispatcher, build_dispatcher, read_github_token

# botocore logs whole Secrets Manager responses at DEBUG; keep the SDK out of DEBUG whatever level
# the function logs at, so the token cannot reach a log line.
for _sdk_logger in ("boto3", "botocore", "urllib3", "s3transfer"):
    logging.getLogger(_sdk_logger).setLevel(logging.INFO)

logger = Logger()
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "MlopsCdk"))
tracer = Tracer()

# SQS retains messages up to 14 days: remember a dispatch at least as long as a duplicate can come.
IDEMPOTENCY_TTL_SECONDS = 14 * 24 * 3600
# Time kept after the last GitHub retry to record the outcome and answer Lambda.
SAFETY_MARGIN_SECONDS = 5.0
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Settings:
    """The function's configuration, read from its environment and validated as a whole."""

    target: str
    idempotency_table: str
    data_prefix: str = "incoming/"
    data_bucket: str = ""
    github_repository: str = ""
    github_token_secret_arn: str = ""
    github_api_url: str = "https://api.github.com"
    github_event_type: str = "new-data-arrived"
    sagemaker_pipeline_name: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        """Read and validate the environment; report every problem in one error.

        Raises:
            ValueError: Naming each missing or malformed variable and how to fix it.
        """
        target = env.get("DISPATCH_TARGET", "")
        settings = cls(
            target=target,
            idempotency_table=env.get("IDEMPOTENCY_TABLE_NAME", ""),
            data_prefix=env.get("DATA_PREFIX", "incoming/"),
            data_bucket=env.get("DATA_BUCKET_NAME", ""),
            github_repository=env.get("GITHUB_REPOSITORY", ""),
            github_token_secret_arn=env.get("GITHUB_TOKEN_SECRET_ARN", ""),
            github_api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            github_event_type=env.get("GITHUB_EVENT_TYPE") or "new-data-arrived",
            sagemaker_pipeline_name=env.get("SAGEMAKER_PIPELINE_NAME", ""),
            retry=RetryPolicy(
                max_attempts=int(env.get("DISPATCH_MAX_ATTEMPTS", "5")),
                base_delay=float(env.get("DISPATCH_BACKOFF_SECONDS", "1.0")),
            ),
        )
        problems = []
        if target not in ("github", "sagemaker"):
            problems.append(f"DISPATCH_TARGET = {target!r}; set it to 'github' or 'sagemaker'")
        if not settings.idempotency_table:
            problems.append("IDEMPOTENCY_TABLE_NAME is empty; set the DynamoDB table name")
        if not settings.data_bucket:
            problems.append("DATA_BUCKET_NAME is empty; set the data bucket's name")
        if target == "github":
            if not _REPOSITORY.match(settings.github_repository):
                problems.append(
                    f"GITHUB_REPOSITORY = {settings.github_repository!r}; use 'owner/name'"
                )
            if not settings.github_token_secret_arn:
                problems.append("GITHUB_TOKEN_SECRET_ARN is empty; set the token secret's ARN")
        if target == "sagemaker" and not settings.sagemaker_pipeline_name:
            problems.append("SAGEMAKER_PIPELINE_NAME is empty; set the pipeline to start")
        if problems:
            raise ValueError("retrain_dispatch is misconfigured: " + "; ".join(problems))
        return settings


@dataclass(frozen=True)
class DispatchPlan:
    """One retraining run to start: what triggered it and which objects it covers."""

    batch_id: str
    bucket: str
    trigger: str
    keys: tuple[str, ...] = ()
    total_bytes: int = 0


@dataclass(frozen=True)
class _Runtime:
    settings: Settings
    dispatcher: Dispatcher


@functools.cache
def _runtime() -> _Runtime:
    """Build settings, clients and the idempotent dispatcher once per container."""
    settings = Settings.from_env()
    dispatcher = build_dispatcher(
        function=_dispatch,
        data_keyword_argument="batch",
        target=settings.target,
        table_name=settings.idempotency_table,
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
        on_duplicate=_on_duplicate,
    )
    return _Runtime(settings, dispatcher)


def _on_duplicate(response: Any, record: DataRecord) -> Any:
    """Idempotency replay hook: the same objects were already dispatched; do nothing."""
    logger.info(
        "Batch already dispatched; skipping", extra={"idempotency_key": record.idempotency_key}
    )
    metrics.add_metric(name="DuplicateBatchesSkipped", unit=MetricUnit.Count, value=1)
    return response


def _dispatch(
    *, batch: dict[str, str], plan: DispatchPlan, deadline: float, runtime: _Runtime
) -> dict[str, Any]:
    """Start one run (wrapped by Powertools idempotency on ``batch``); raise if it did not start."""
    settings, dispatcher = runtime.settings, runtime.dispatcher
    if dispatcher.secrets is not None:
        payload = build_client_payload(
            bucket=plan.bucket,
            prefix=settings.data_prefix,
            keys=plan.keys,
            total_bytes=plan.total_bytes,
            batch_id=plan.batch_id,
            trigger=plan.trigger,
            event_type=settings.github_event_type,
        )
        attempts = send_repository_dispatch(
            api_url=settings.github_api_url,
            repository=settings.github_repository,
            token=read_github_token(dispatcher.secrets, settings.github_token_secret_arn),
            event_type=settings.github_event_type,
            client_payload=payload,
            deadline=deadline,
            policy=settings.retry,
        )
        result = {
            "target": "github",
            "attempts": attempts,
            "keys_truncated": payload["keys_truncated"],
        }
    else:
        arn = start_pipeline_execution(
            dispatcher.sagemaker,
            pipeline_name=settings.sagemaker_pipeline_name,
            batch_id=plan.batch_id,
            bucket=plan.bucket,
            prefix=settings.data_prefix,
            description=f"{plan.trigger}: {len(plan.keys)} new objects, batch {plan.batch_id}",
        )
        result = {"target": "sagemaker", "pipeline_execution_arn": arn}
    metrics.add_metric(name="DispatchesSent", unit=MetricUnit.Count, value=1)
    logger.info(
        "Retraining dispatched",
        extra={
            "batch_id": plan.batch_id,
            "trigger": plan.trigger,
            "bucket": plan.bucket,
            "object_count": len(plan.keys),
            **result,
        },
    )
    return {"batch_id": plan.batch_id, **result}


def _run(runtime: _Runtime, plan: DispatchPlan, context: LambdaContext) -> None:
    """Call the idempotent dispatcher with a deadline that leaves room to record the outcome."""
    remaining = context.get_remaining_time_in_millis() / 1000
    runtime.dispatcher.dispatch(
        batch={"batch_id": plan.batch_id},
        plan=plan,
        deadline=time.monotonic() + remaining - SAFETY_MARGIN_SECONDS,
        runtime=runtime,
    )


def plan_batch(
    objects_by_message: dict[str, list[S3Object]],
) -> list[tuple[DispatchPlan, list[str]]]:
    """Group the batch's objects into one plan per bucket, with the messages each plan covers.

    Duplicate deliveries of an object (same identity) count once.
    """
    objects: dict[str, dict[tuple[str, ...], S3Object]] = defaultdict(dict)
    messages: dict[str, list[str]] = defaultdict(list)
    for message_id, wanted in objects_by_message.items():
        for obj in wanted:
            objects[obj.bucket][obj.identity] = obj
            if message_id not in messages[obj.bucket]:
                messages[obj.bucket].append(message_id)
    plans = []
    for bucket, unique in sorted(objects.items()):
        ordered = sorted(unique.values())
        plan = DispatchPlan(
            batch_id=batch_id(unique),
            bucket=bucket,
            trigger="s3",
            keys=tuple(obj.key for obj in ordered),
            total_bytes=sum(obj.size for obj in ordered),
        )
        plans.append((plan, messages[bucket]))
    return plans


def _check_bucket(objects: list[S3Object], data_bucket: str) -> None:
    """Refuse objects from any bucket but the data bucket: they are never dispatched."""
    for obj in objects:
        if obj.bucket != data_bucket:
            raise InvalidRecordError(
                f"object is in bucket {obj.bucket!r}, not the data bucket {data_bucket!r}"
            )


def _handle_sqs(event: dict[str, Any], context: LambdaContext, runtime: _Runtime) -> dict:
    """Validate every record, then dispatch once per bucket; report what must come back."""
    prefix = runtime.settings.data_prefix
    wanted_by_message: dict[str, list[S3Object]] = {}
    counts = {"seen": 0, "ignored": 0}

    def collect(record: SQSRecord) -> None:
        try:
            objects = parse_body(record.body)
            _check_bucket(objects, runtime.settings.data_bucket)
        except InvalidRecordError as error:
            logger.warning(
                "Invalid record sent back to the queue",
                extra={"message_id": record.message_id, "reason": str(error)},
            )
            raise
        wanted = [obj for obj in objects if is_wanted(obj, prefix)]
        counts["seen"] += len(objects)
        counts["ignored"] += len(objects) - len(wanted)
        wanted_by_message[record.message_id] = wanted

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    with processor(event.get("Records", []), handler=collect):
        processor.process()
    failures = [item["itemIdentifier"] for item in processor.response()["batchItemFailures"]]
    metrics.add_metric(name="ObjectsSeen", unit=MetricUnit.Count, value=counts["seen"])
    metrics.add_metric(name="ObjectsIgnored", unit=MetricUnit.Count, value=counts["ignored"])
    metrics.add_metric(name="InvalidRecords", unit=MetricUnit.Count, value=len(failures))

    for plan, message_ids in plan_batch(wanted_by_message):
        try:
            _run(runtime, plan, context)
        except (DispatchError, IdempotencyAlreadyInProgressError) as error:
            metrics.add_metric(name="DispatchFailures", unit=MetricUnit.Count, value=1)
            logger.error(
                "Retraining dispatch failed; the batch's records return to the queue",
                extra={"batch_id": plan.batch_id, "records": len(message_ids), "error": str(error)},
            )
            failures.extend(message_ids)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _handle_schedule(event: dict[str, Any], context: LambdaContext, runtime: _Runtime) -> dict:
    """Start the nightly run; raise on failure so the scheduler's retry policy applies."""
    plan = DispatchPlan(
        batch_id=batch_id([("schedule", str(event.get("id", "")), str(event.get("time", "")))]),
        bucket=runtime.settings.data_bucket,
        trigger="schedule",
    )
    try:
        _run(runtime, plan, context)
    except (DispatchError, IdempotencyAlreadyInProgressError):
        metrics.add_metric(name="DispatchFailures", unit=MetricUnit.Count, value=1)
        logger.exception("Scheduled retraining dispatch failed", extra={"batch_id": plan.batch_id})
        raise
    return {"batch_id": plan.batch_id}


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict:
    """Dispatch retraining for an SQS batch of S3 events or an EventBridge scheduled event."""
    runtime = _runtime()
    runtime.dispatcher.idempotency_config.register_lambda_context(context)
    if event.get("detail-type") == SCHEDULED_EVENT:
        return _handle_schedule(event, context, runtime)
    return _handle_sqs(event, context, runtime)
