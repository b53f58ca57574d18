"""The capture window a run checks and the S3 prefixes that hold it.

Two layouts live under an environment's capture prefix (e.g. ``capture/prod/``):

- SageMaker data capture: ``<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``;
- EKS (the Fargate log router through Firehose): ``<prefix>eks/yyyy/mm/dd/hh/<file>.jsonl``.

Hours are UTC. A run scheduled at 15:00:05 checks the whole hours before 15:00, so a re-run of
the same schedule (or a Scheduler retry) checks, and keys idempotency on, the same window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EKS_FOLDER = "eks/"


@dataclass(frozen=True)
class Window:
    """Whole UTC hours ``[start, start + hours)``."""

    start: datetime
    hours: int

    @classmethod
    def ending_at(cls, moment: datetime, hours: int) -> Window:
        """The ``hours`` whole hours before the hour that contains ``moment``."""
        end = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return cls(start=end - timedelta(hours=hours), hours=hours)

    def hour_folders(self) -> list[str]:
        """``yyyy/mm/dd/hh/`` of each hour, oldest first."""
        return [
            (self.start + timedelta(hours=offset)).strftime("%Y/%m/%d/%H/")
            for offset in range(self.hours)
        ]

    @property
    def label(self) -> str:
        """ISO 8601 start and length, e.g. ``2026-12-04T14:00:00Z/PT1H``."""
        return f"{self.start.strftime('%Y-%m-%dT%H:%M:%SZ')}/PT{self.hours}H"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time such as Scheduler's ``2026-12-04T15:00:00Z``.

    Raises:
        ValueError: Not an ISO 8601 time with a zone.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone; use UTC such as 2026-12-04T15:00:00Z")
    return moment


def _common_prefixes(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for entry in page.get("CommonPrefixes", []):
            yield entry["Prefix"]


def hour_prefixes(s3: Any, bucket: str, capture_prefix: str, window: Window) -> list[str]:
    """Every ``.../yyyy/mm/dd/hh/`` prefix of ``window``, SageMaker's and the EKS one.

    Only the endpoint and variant levels are listed (with a delimiter), never the whole history.
    """
    roots = []
    for top in _common_prefixes(s3, bucket, capture_prefix):
        if top == capture_prefix + EKS_FOLDER:
            roots.append(top)
        else:
            roots.extend(_common_prefixes(s3, bucket, top))
    return [root + folder for root in sorted(roots) for folder in window.hour_folders()]


def object_keys(s3: Any, bucket: str, prefixes: list[str]) -> list[tuple[str, int]]:
    """``(key, size)`` of every object under ``prefixes``."""
    paginator = s3.get_paginator("list_objects_v2")
    found = []
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend((item["Key"], item["Size"]) for item in page.get("Contents", []))
    return found
