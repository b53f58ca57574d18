"""Download the data a retrain should use, as named by the triggering event, and validate it.

retrain.yml runs it after assuming the retrain role. A ``repository_dispatch`` from the
retraining dispatcher carries a ``client_payload`` read with the dispatcher's own definition
(``mlops_cdk/lambdas/retrain_dispatch/payload.py``; a payload that does not match it is refused):
the listed keys are fetched, or, when ``keys_truncated`` says the list was cut at GitHub's size
limit, everything under the payload's prefix, never the listed subset. A schedule or manual run
fetches everything under ``incoming/`` (or the ``prefix`` input) of ``DATA_BUCKET``.

Usage (environment: ``EVENT_NAME``, ``PAYLOAD`` (JSON), ``DATA_BUCKET``, ``INPUT_PREFIX``):
    python -m scripts.fetch_training_data --dest data/incoming
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_cdk.lambdas.retrain_dispatch.payload import (
    DispatchPayload,
    PayloadError,
)

DEFAULT_PREFIX = "incoming/"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class DataError(Exception):
    """The event or the data is unusable; the message names the problem."""


@dataclass(frozen=True)
class Selection:
    """What to download: explicit keys, or every object under a prefix."""

    bucket: str
    prefix: str
    keys: tuple[str, ...] = ()


def select(event_name: str, payload: dict[str, Any], data_bucket: str, prefix: str) -> Selection:
    """Decide what to fetch from the event (pure: tests call it directly).

    Raises:
        DataError: The payload does not match ``DispatchPayload``, names another bucket or an
            unsafe key.
    """
    if event_name != "repository_dispatch":
        return Selection(
            bucket=_check_bucket(data_bucket, data_bucket), prefix=prefix or DEFAULT_PREFIX
        )
    try:
        dispatch = DispatchPayload.from_json(payload)
    except PayloadError as error:
        raise DataError(str(error)) from None
    bucket = _check_bucket(dispatch.bucket, data_bucket)
    prefix = dispatch.prefix or prefix or DEFAULT_PREFIX
    if dispatch.keys_truncated or not dispatch.keys:
        return Selection(bucket=bucket, prefix=prefix)
    for key in dispatch.keys:
        if not isinstance(key, str) or ".." in PurePosixPath(key).parts:
            raise DataError(f"key {key!r} is not a plain S3 object key")
    return Selection(bucket=bucket, prefix=prefix, keys=dispatch.keys)


def _check_bucket(bucket: str, data_bucket: str) -> str:
    if not _BUCKET_RE.match(bucket):
        raise DataError(f"bucket {bucket!r} is not an S3 bucket name (set DATA_BUCKET)")
    if bucket != data_bucket:
        raise DataError(
            f"the event names bucket {bucket!r}, but this repository retrains from "
            f"{data_bucket!r}; refusing data from elsewhere"
        )
    return bucket


def validate(files: list[Path]) -> int:
    """Check the downloaded CSV files: non-empty, same header; return the number of rows."""
    if not files:
        raise DataError("no .csv files to train on")
    header: str | None = None
    rows = 0
    for path in files:
        lines = path.read_text().splitlines()
        if len(lines) < 2:
            raise DataError(f"{path.name} has no data rows")
        if header is not None and lines[0] != header:
            raise DataError(f"{path.name} has header {lines[0]!r}, expected {header!r}")
        header = lines[0]
        rows += len(lines) - 1
    return rows


def download(selection: Selection, dest: Path) -> list[Path]:
    """Fetch the selected CSV objects with boto3 (ambient credentials)."""
    import boto3

    s3 = boto3.client("s3")
    keys = list(selection.keys)
    if not keys:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=selection.bucket, Prefix=selection.prefix
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for key in keys:
        if not key.endswith(".csv"):
            continue
        target = dest / key.replace("/", "__")
        s3.download_file(selection.bucket, key, str(target))
        files.append(target)
    return files


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        payload = json.loads(os.environ.get("PAYLOAD") or "{}") or {}
        selection = select(
            os.environ.get("EVENT_NAME", ""),
            payload,
            os.environ.get("DATA_BUCKET", ""),
            os.environ.get("INPUT_PREFIX", ""),
        )
        files = download(selection, args.dest)
        rows = validate(files)
    except (DataError, ValueError) as error:
        print(f"training data rejected: {error}", file=sys.stderr)
        return 1
    print(
        f"fetched {len(files)} files, {rows} rows from s3://{selection.bucket}/{selection.prefix}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
