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
import time
from collections import defaultdict
from collections.abc import Mapping
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

from .dispatch import DispatchError
from .payload import DispatchPlan
from .records import (
    SCHEDULED_EVENT,
    InvalidRecordError,
    S3Object,
    batch_id,
    is_wanted,
    parse_body,
)
from .runtime import Dispatcher, DispatchSettings, build_dispatcher

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


class Settings(DispatchSettings):
    """The function's configuration: the dispatch settings, with the data bucket required."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate the environment; report every problem in one error.

        Raises:
            ValueError: Naming each missing or malformed variable and how to fix it.
        """
        settings = cls(**cls.read_env(env, default_event_type="new-data-arrived"))
        problems = settings.dispatch_problems()
        if not settings.data_bucket:
            problems.append("DATA_BUCKET_NAME is empty; set the data bucket's name")
        if problems:
            raise ValueError("retrain_dispatch is misconfigured: " + "; ".join(problems))
        return settings


@functools.cache
def _runtime() -> Dispatcher[Settings]:
    """Read the settings and build the idempotent dispatcher once per container."""
    return build_dispatcher(
        Settings.from_env(),
        function=_dispatch,
        data_keyword_argument="batch",
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
        on_duplicate=_on_duplicate,
    )


def _on_duplicate(response: Any, record: DataRecord) -> Any:
    """Idempotency replay hook: the same objects were already dispatched; do nothing."""
    logger.info(
        "Batch already dispatched; skipping", extra={"idempotency_key": record.idempotency_key}
    )
    metrics.add_metric(name="DuplicateBatchesSkipped", unit=MetricUnit.Count, value=1)
    return response


def _dispatch(
    *, batch: dict[str, str], plan: DispatchPlan, deadline: float, runtime: Dispatcher[Settings]
) -> dict[str, Any]:
    """Start one run (wrapped by Powertools idempotency on ``batch``); raise if it did not start."""
    outcome = runtime.start(
        plan,
        description=f"{plan.trigger}: {len(plan.keys)} new objects, batch {plan.batch_id}",
        deadline=deadline,
    )
    metrics.add_metric(name="DispatchesSent", unit=MetricUnit.Count, value=1)
    logger.info(
        "Retraining dispatched",
        extra={
            "batch_id": plan.batch_id,
            "trigger": plan.trigger,
            "bucket": plan.bucket,
            "object_count": len(plan.keys),
            **outcome,
        },
    )
    return {"batch_id": plan.batch_id, **outcome}


def _run(runtime: Dispatcher[Settings], plan: DispatchPlan, context: LambdaContext) -> None:
    """Call the idempotent dispatcher with a deadline that leaves room to record the outcome."""
    remaining = context.get_remaining_time_in_millis() / 1000
    runtime.dispatch(
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


def _handle_sqs(
    event: dict[str, Any], context: LambdaContext, runtime: Dispatcher[Settings]
) -> dict:
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


def _handle_schedule(
    event: dict[str, Any], context: LambdaContext, runtime: Dispatcher[Settings]
) -> dict:
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
    runtime.idempotency_config.register_lambda_context(context)
    if event.get("detail-type") == SCHEDULED_EVENT:
        return _handle_schedule(event, context, runtime)
    return _handle_sqs(event, context, runtime)
