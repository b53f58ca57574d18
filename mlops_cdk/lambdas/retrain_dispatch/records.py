"""Pure functions that turn queue messages into the S3 objects a retraining run should see.

Two shapes reach the queue: EventBridge ``Object Created`` events (the designed path, keys as
stored) and classic S3 notifications (``{"Records": [...]}``, keys URL-encoded with ``+`` for a
space). Each shape is decoded exactly once, so a real ``+`` in an EventBridge key survives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

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
        return [_from_eventbridge(message)]
    if message.get("Event") == _S3_TEST_EVENT:
        return []
    if isinstance(message.get("Records"), list):
        return [_from_notification(record) for record in message["Records"]]
    raise InvalidRecordError("body is neither an EventBridge event nor an S3 notification")


def _from_eventbridge(event: dict[str, Any]) -> S3Object:
    """Read an EventBridge ``Object Created`` event; its key is not URL-encoded."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != OBJECT_CREATED:
        raise InvalidRecordError(
            f"expected an aws.s3 '{OBJECT_CREATED}' event, got "
            f"source={event.get('source')!r} detail-type={event.get('detail-type')!r}"
        )
    detail = _mapping(event, "detail")
    obj = _mapping(detail, "object")
    return S3Object(
        bucket=_text(_mapping(detail, "bucket"), "name"),
        key=_text(obj, "key"),
        size=_size(obj.get("size")),
        etag=str(obj.get("etag") or ""),
        version_id=str(obj.get("version-id") or ""),
    )


def _from_notification(record: Any) -> S3Object:
    """Read one classic S3 notification record, decoding its URL-encoded key once."""
    if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith(
        "ObjectCreated:"
    ):
        raise InvalidRecordError("S3 notification record is not an ObjectCreated event")
    s3 = _mapping(record, "s3")
    obj = _mapping(s3, "object")
    return S3Object(
        bucket=_text(_mapping(s3, "bucket"), "name"),
        key=unquote_plus(_text(obj, "key")),
        size=_size(obj.get("size")),
        etag=str(obj.get("eTag") or ""),
        version_id=str(obj.get("versionId") or ""),
    )


def _mapping(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise InvalidRecordError(f"'{name}' is missing or not an object")
    return value


def _text(parent: dict[str, Any], name: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRecordError(f"'{name}' is missing or not a non-empty string")
    return value


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecordError(f"object size must be a non-negative integer, got {value!r}")
    return value


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
