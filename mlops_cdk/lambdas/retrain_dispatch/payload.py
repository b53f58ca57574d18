"""The ``client_payload`` of a retraining dispatch: one definition for producer and consumer.

The dispatcher builds it (:meth:`DispatchPlan.client_payload`) and
``scripts/fetch_training_data.py`` reads it (:meth:`DispatchPayload.from_json`), so a field renamed
on one side cannot silently become a missing field on the other. Standard library only: the fetch
script imports it without the Lambda's dependencies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# GitHub caps client_payload at 10 top-level properties and 64 KB; the whole body stays below.
MAX_BODY_BYTES = 60_000


class PayloadError(ValueError):
    """A ``client_payload`` that does not follow :class:`DispatchPayload`."""


@dataclass(frozen=True)
class DispatchPayload:
    """What a retraining run should train on.

    Attributes:
        bucket: The data bucket.
        prefix: The data prefix under which the objects landed.
        trigger: ``s3``, ``schedule`` or ``drift``.
        batch_id: Digest of the batch's object identities.
        object_count: How many objects the batch announced.
        total_bytes: Their total size.
        keys: The announced keys, in order, as many as fit the body limit.
        keys_truncated: True when ``keys`` lists fewer than ``object_count`` keys; the consumer
            must then train on everything under ``prefix``, never on the listed subset.
    """

    bucket: str
    prefix: str
    trigger: str
    batch_id: str
    object_count: int
    total_bytes: int
    keys_truncated: bool
    keys: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The JSON-able ``client_payload`` (8 of GitHub's 10 allowed properties)."""
        return {**asdict(self), "keys": list(self.keys)}

    @classmethod
    def from_json(cls, data: Any) -> DispatchPayload:
        """Read a ``client_payload``, refusing one with missing or mistyped fields.

        Raises:
            PayloadError: Naming every field that is missing or of the wrong type.
        """
        if not isinstance(data, dict):
            raise PayloadError(f"client_payload is {type(data).__name__}; expected an object")
        expected = {
            "bucket": str,
            "prefix": str,
            "trigger": str,
            "batch_id": str,
            "object_count": int,
            "total_bytes": int,
            "keys_truncated": bool,
            "keys": list,
        }
        problems = [
            f"{name} is {json.dumps(data.get(name))[:80]}; expected {kind.__name__}"
            for name, kind in expected.items()
            if not _is_a(data.get(name), kind)
        ]
        if problems:
            raise PayloadError(
                "client_payload does not match DispatchPayload: " + "; ".join(problems)
            )
        payload = cls(**{**{name: data[name] for name in expected}, "keys": tuple(data["keys"])})
        if not payload.keys_truncated and len(payload.keys) != payload.object_count:
            raise PayloadError(
                f"client_payload lists {len(payload.keys)} keys for {payload.object_count} objects"
                " but keys_truncated is false"
            )
        return payload


def _is_a(value: Any, kind: type) -> bool:
    """``isinstance`` that does not take a bool for an int."""
    if kind is int and isinstance(value, bool):
        return False
    return isinstance(value, kind)


@dataclass(frozen=True)
class DispatchPlan:
    """One retraining run to start: what triggered it and which objects it covers."""

    batch_id: str
    bucket: str
    trigger: str
    keys: tuple[str, ...] = ()
    total_bytes: int = 0

    def client_payload(self, *, prefix: str, event_type: str) -> dict[str, Any]:
        """This plan as a ``client_payload`` within GitHub's limits (≤ 10 properties, < 64 KB).

        Keys are listed in order until the next one would push the request body over
        ``MAX_BODY_BYTES``; ``keys_truncated`` then tells the consumer to list ``prefix`` itself.
        """
        empty = DispatchPayload(
            bucket=self.bucket,
            prefix=prefix,
            trigger=self.trigger,
            batch_id=self.batch_id,
            object_count=len(self.keys),
            total_bytes=self.total_bytes,
            keys_truncated=True,
        ).to_json()
        # Size of the body with an empty key list; each listed key adds its JSON form plus ", ".
        budget = MAX_BODY_BYTES - len(encode({"event_type": event_type, "client_payload": empty}))
        listed: list[str] = []
        for key in self.keys:
            cost = len(encode(key)) + (2 if listed else 0)
            if cost > budget:
                break
            listed.append(key)
            budget -= cost
        return {**empty, "keys": listed, "keys_truncated": len(listed) < len(self.keys)}


def encode(value: Any) -> bytes:
    """The JSON bytes GitHub receives for ``value``."""
    return json.dumps(value, ensure_ascii=False).encode()
