"""Pure functions that turn queue messages into the S3 objects a retraining run should see.

Two shapes reach the queue: EventBridge ``Object Created`` events (the designed path, keys as
stored) and classic S3 notifications (``{"Records": [...]}``, keys URL-encoded with ``+`` for a
space). Both are validated with Powertools' parser models; each shape's key is decoded exactly
once, so a real ``+`` in an EventBridge key survives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.parser.models import (
    S3EventNotificationEventBridgeModel,
    S3Model,
)

OBJECT_CREATED = "Object Created"
SCHEDULED_EVENT = "Scheduled Event"
_S3_TEST_EVENT = "s3:TestEvent"


class InvalidRecordError(ValueError):
    """A message body is not an S3 object-created event; the record must go to the DLQ."""


@dataclass(frozen=True, order=True)
class S3Object:
    """One object version that landed in the data bucket."""

    bucket: str
    key: str
    size: int
    etag: str
    version_id: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two deliveries the same object: bucket, key, version and ETag."""
        return (self.bucket, self.key, self.version_id, self.etag)


def parse_body(body: str) -> list[S3Object]:
    """Parse one SQS message body into the objects it announces.

    Args:
        body: The raw SQS body: an EventBridge event or a classic S3 notification.

    Returns:
        The announced objects; empty for the S3 test event sent when notifications are set up.

    Raises:
        InvalidRecordError: The body is not JSON or not an object-created event.
    """
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as error:
        raise InvalidRecordError(f"body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise InvalidRecordError("body is not a JSON object")
    if "detail-type" in message:
        return [_from_eventbridge(message, body)]
    if message.get("Event") == _S3_TEST_EVENT:
        return []
    if isinstance(message.get("Records"), list):
        return _from_notification(message)
    raise InvalidRecordError("body is neither an EventBridge event nor an S3 notification")


def _from_eventbridge(event: dict[str, Any], body: str) -> S3Object:
    """Read an EventBridge ``Object Created`` event; its key is not URL-encoded.

    Validated strictly: EventBridge writes sizes as JSON numbers, so a string size is refused.
    """
    if event.get("source") != "aws.s3" or event.get("detail-type") != OBJECT_CREATED:
        raise InvalidRecordError(
            f"expected an aws.s3 '{OBJECT_CREATED}' event, got "
            f"source={event.get('source')!r} detail-type={event.get('detail-type')!r}"
        )
    try:
        detail = S3EventNotificationEventBridgeModel.model_validate_json(body, strict=True).detail
    except ValidationError as error:
        raise InvalidRecordError(_first_problem(error)) from None
    return S3Object(
        bucket=_non_empty(detail.bucket.name, "bucket name"),
        key=_non_empty(detail.object.key, "key"),
        size=_size(detail.object.size),
        etag=detail.object.etag or "",
        version_id=detail.object.version_id or "",
    )


def _from_notification(message: dict[str, Any]) -> list[S3Object]:
    """Read a classic S3 notification, decoding each URL-encoded key once."""
    try:
        records = S3Model.model_validate(message).Records
    except (ValidationError, AttributeError, TypeError) as error:
        # Powertools' before-validator reads the raw record and may fail before pydantic does.
        problem = _first_problem(error) if isinstance(error, ValidationError) else str(error)
        raise InvalidRecordError(f"not an S3 notification: {problem}") from None
    objects = []
    for record in records:
        if not record.eventName.startswith("ObjectCreated:") or record.s3.object is None:
            raise InvalidRecordError("S3 notification record is not an ObjectCreated event")
        objects.append(
            S3Object(
                bucket=_non_empty(record.s3.bucket.name, "bucket name"),
                key=unquote_plus(_non_empty(record.s3.object.key, "key")),
                size=_size(record.s3.object.size),
                etag=record.s3.object.eTag or "",
                version_id=record.s3.object.versionId or "",
            )
        )
    return objects


def _first_problem(error: ValidationError) -> str:
    """The first validation problem as ``location: message``, bounded in length."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    return f"{location}: {first['msg']}"[:200]


def _non_empty(value: str, name: str) -> str:
    if not value:
        raise InvalidRecordError(f"'{name}' is empty")
    return value


def _size(value: float | None) -> int:
    """Object sizes are whole numbers of bytes (the models type them as floats)."""
    if value is None or value < 0 or not float(value).is_integer():
        raise InvalidRecordError(f"object size must be a non-negative integer, got {value!r}")
    return int(value)


def is_wanted(obj: S3Object, prefix: str) -> bool:
    """Whether an object is training data: under ``prefix`` and not an empty folder marker."""
    return obj.key.startswith(prefix) and not (obj.key.endswith("/") and obj.size == 0)


def batch_id(identities: Iterable[tuple[str, ...]]) -> str:
    """Digest a set of identities, independent of order and duplicates.

    It keys idempotency and SageMaker's ``ClientRequestToken`` (64 hex characters, within the
    32 to 128 allowed), so redelivered messages with new receipt handles map to the same id.
    """
    canonical = json.dumps(sorted(set(identities)), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
