"""Lambda entry point: PSI of the last capture window, metrics, drift-triggered retraining.

An EventBridge Scheduler schedule invokes it with ``{"scheduled_time": "<aws.scheduler.
scheduled-time>"}`` (or ``{"window_end": ...}`` by hand). It reads the window's capture objects
(see :mod:`.window` for the layouts), loads the baseline, publishes ``MaxPsi`` and per-feature
``Psi`` (dimension ``Feature``) as EMF metrics, and when ``MaxPsi > DRIFT_THRESHOLD`` over at
least ``MIN_ROWS`` rows starts retraining through the retraining dispatcher's functions: a GitHub
``repository_dispatch`` (event type ``drift-detected``) or a SageMaker pipeline execution. The
dispatch is wrapped in Powertools idempotency keyed on the window, so a re-run of the same window
never dispatches twice; a failed dispatch is not remembered, and raising lets Scheduler retry.

A window without capture (a quiet hour) publishes ``CaptureRows`` = 0 and returns; a missing
baseline raises with its S3 URI. Configuration comes only from the environment (:class:`Settings`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from mlops_cdk.drift.baseline import BaselineError, load_baseline
from mlops_cdk.drift.capture import CaptureRows, read_lines
from mlops_cdk.drift.psi import DriftResult, detect_drift
from mlops_cdk.lambdas.drift_check.window import Window, hour_prefixes, object_keys, parse_time
from mlops_cdk.lambdas.retrain_dispatch.payload import DispatchPlan
from mlops_cdk.lambdas.retrain_dispatch.runtime import (
    SDK_CONFIG,
    Dispatcher,
    DispatchSettings,
    build_dispatcher,
)

for _sdk_logger in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_sdk_logger).setLevel(logging.INFO)

logger = Logger()
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "MlopsCdk/Drift"))

DRIFT_EVENT_TYPE = "drift-detected"
# Remember a dispatched window for a week: far longer than any re-run or Scheduler retry.
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600
SAFETY_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class Settings(DispatchSettings):
    """The function's configuration: capture, baseline and thresholds, and where to dispatch."""

    bucket: str
    capture_prefix: str
    baseline_key: str
    threshold: float = 0.2
    min_rows: int = 200
    window_hours: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate the environment; report every problem in one error.

        Raises:
            ValueError: Naming each missing or malformed variable and how to fix it.
        """
        problems: list[str] = []
        number = functools.partial(_number, env, problems)
        settings = cls(
            **cls.read_env(env, default_event_type=DRIFT_EVENT_TYPE),
            bucket=env.get("ARTIFACTS_BUCKET_NAME", ""),
            capture_prefix=env.get("CAPTURE_PREFIX", ""),
            baseline_key=env.get("BASELINE_KEY", ""),
            threshold=number("DRIFT_THRESHOLD", 0.2, float),
            min_rows=int(number("MIN_ROWS", 200, int)),
            window_hours=int(number("WINDOW_HOURS", 1, int)),
        )
        problems.extend(settings._problems())
        if problems:
            raise ValueError("drift check misconfigured: " + "; ".join(problems))
        return settings

    def _problems(self) -> list[str]:
        problems = [
            f"{name} is empty; set {what}"
            for name, value, what in (
                ("ARTIFACTS_BUCKET_NAME", self.bucket, "the bucket holding capture and baseline"),
                ("BASELINE_KEY", self.baseline_key, "the baseline.json object key"),
            )
            if not value
        ]
        if not self.capture_prefix.endswith("/"):
            problems.append(f"CAPTURE_PREFIX = {self.capture_prefix!r}; use e.g. 'capture/dev/'")
        if not self.threshold > 0 or self.min_rows < 1 or self.window_hours < 1:
            problems.append("DRIFT_THRESHOLD must be > 0, MIN_ROWS and WINDOW_HOURS >= 1")
        return problems + self.dispatch_problems()


def _number(env: Any, problems: list[str], name: str, default: float, kind: type) -> float:
    text = env.get(name) or str(default)
    try:
        return kind(text)
    except ValueError:
        problems.append(f"{name} = {text!r}; expected a number")
        return default


@dataclass(frozen=True)
class _Runtime:
    s3: Any
    dispatcher: Dispatcher[Settings]

    @property
    def settings(self) -> Settings:
        return self.dispatcher.settings


@functools.cache
def _runtime() -> _Runtime:
    """Build settings, clients and the idempotent dispatcher once per container."""
    dispatcher = build_dispatcher(
        Settings.from_env(),
        function=_dispatch,
        data_keyword_argument="window",
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
        on_duplicate=_on_duplicate,
    )
    return _Runtime(boto3.client("s3", config=SDK_CONFIG), dispatcher)


def _on_duplicate(response: Any, record: DataRecord) -> Any:
    """Idempotency replay hook: this window already started retraining; do nothing."""
    logger.info("Window already dispatched; skipping", extra={"key": record.idempotency_key})
    metrics.add_metric(name="DuplicateDriftDispatchesSkipped", unit=MetricUnit.Count, value=1)
    return response


def load_s3_baseline(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    """The baseline object, validated.

    Raises:
        BaselineError: Naming ``s3://bucket/key`` when it is missing, unreadable or invalid.
    """
    uri = f"s3://{bucket}/{key}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "AccessDenied"):
            raise BaselineError(
                f"no baseline at {uri} ({code}): the retrain workflow uploads baseline.json "
                "beside the model; upload it or fix BASELINE_KEY"
            ) from None
        raise
    try:
        document = json.loads(body)
    except ValueError as error:
        raise BaselineError(f"{uri} is not a JSON baseline: {error}") from None
    return load_baseline_document(document, uri)


def load_baseline_document(document: Any, uri: str) -> dict[str, Any]:
    """Validate a parsed baseline, naming ``uri`` in any error."""
    try:
        return load_baseline(document)
    except BaselineError as error:
        raise BaselineError(f"{uri}: {error}") from None


def read_window(
    s3: Any, settings: Settings, window: Window, baseline: dict[str, Any]
) -> CaptureRows:
    """Rows of every capture object of ``window`` (other model versions skipped)."""
    prefixes = hour_prefixes(s3, settings.bucket, settings.capture_prefix, window)
    result = CaptureRows(rows=[])
    for key, _ in object_keys(s3, settings.bucket, prefixes):
        body = s3.get_object(Bucket=settings.bucket, Key=key)["Body"]
        read_lines(
            body.iter_lines(),
            n_features=len(baseline["features"]),
            model_version=baseline.get("model_version"),
            into=result,
        )
        result.files += 1
    return result


def publish(result: DriftResult | None, capture: CaptureRows) -> None:
    """``CaptureRows``, skipped-line counts, ``MaxPsi`` and ``Psi`` per ``Feature``."""
    metrics.add_metric(name="CaptureRows", unit=MetricUnit.Count, value=len(capture.rows))
    metrics.add_metric(name="MalformedCaptureLines", unit=MetricUnit.Count, value=capture.malformed)
    metrics.add_metric(
        name="OtherVersionRecords", unit=MetricUnit.Count, value=capture.other_version
    )
    if result is None:
        return
    metrics.add_metric(name="MaxPsi", unit=MetricUnit.NoUnit, value=result.max_psi)
    for feature, value in result.features.items():
        with single_metric(
            name="Psi",
            unit=MetricUnit.NoUnit,
            value=value,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="Feature", value=feature)


def window_id(settings: Settings, window: Window) -> str:
    """64 hex characters naming the window: the dispatch's batch id and ClientRequestToken."""
    canonical = json.dumps([settings.bucket, settings.capture_prefix, window.label])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _dispatch(
    *, window: dict[str, str], result: DriftResult, deadline: float, runtime: _Runtime
) -> dict[str, Any]:
    """Start one retraining run for the window (wrapped by Powertools idempotency on ``window``)."""
    plan = DispatchPlan(
        batch_id=window["batch_id"], bucket=runtime.settings.data_bucket, trigger="drift"
    )
    description = f"drift: max PSI {result.max_psi:.3f} over {result.rows} rows, {window['label']}"
    drift = {
        "window": window["label"],
        "max_psi": round(result.max_psi, 6),
        "rows": result.rows,
        "features": {name: round(value, 6) for name, value in result.features.items()},
    }
    # No object list: the workflow trains on the whole data prefix, as for a truncated list.
    outcome = runtime.dispatcher.start(
        plan,
        description=description,
        deadline=deadline,
        payload_extra={"keys_truncated": True, "drift": drift},
    )
    metrics.add_metric(name="DriftDispatches", unit=MetricUnit.Count, value=1)
    logger.info("Drift retraining dispatched", extra={"window": window["label"], **outcome})
    return {"batch_id": plan.batch_id, **outcome}


def window_of(event: dict[str, Any], hours: int) -> Window:
    """The window before ``window_end`` or ``scheduled_time`` of the event (else now)."""
    text = event.get("window_end") or event.get("scheduled_time")
    moment = parse_time(str(text)) if text else datetime.now(UTC)
    return Window.ending_at(moment, hours)


def run(event: dict[str, Any], context: LambdaContext, runtime: _Runtime) -> dict[str, Any]:
    """Check one window; returns what was found and whether retraining was started."""
    settings = runtime.settings
    window = window_of(event, settings.window_hours)
    baseline = load_s3_baseline(runtime.s3, settings.bucket, settings.baseline_key)
    capture = read_window(runtime.s3, settings, window, baseline)
    summary: dict[str, Any] = {
        "window": window.label,
        "rows": len(capture.rows),
        "files": capture.files,
        "malformed": capture.malformed,
        "other_version": capture.other_version,
        "drift": False,
        "dispatch": None,
    }
    if not capture.rows:
        publish(None, capture)
        logger.warning("No capture rows in the window", extra=summary)
        return summary
    result = detect_drift(baseline, capture.rows, threshold=settings.threshold)
    publish(result, capture)
    summary |= {"drift": result.drift, "max_psi": result.max_psi}
    if result.drift and result.rows >= settings.min_rows:
        remaining = context.get_remaining_time_in_millis() / 1000
        summary["dispatch"] = runtime.dispatcher.dispatch(
            window={"batch_id": window_id(settings, window), "label": window.label},
            result=result,
            deadline=time.monotonic() + remaining - SAFETY_MARGIN_SECONDS,
            runtime=runtime,
        )
    elif result.drift:
        logger.warning(
            "Drift below the row minimum; not dispatching",
            extra={**summary, "min_rows": settings.min_rows},
        )
    logger.info("Drift check done", extra={**summary, "features": result.features})
    return summary


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the last capture window for drift; start retraining once per drifted window."""
    runtime = _runtime()
    runtime.dispatcher.idempotency_config.register_lambda_context(context)
    return run(event, context, runtime)
