"""Request capture for the drift check: one SageMaker data-capture line per sampled request.

The model server prints the lines to standard output; on EKS Fargate's log router sends the
lines that start with ``{"captureData":`` to Firehose and S3 (``CaptureLogRouting``), where
the drift check reads them like SageMaker's own capture. The format is SageMaker's
(``captureData.endpointInput`` / ``endpointOutput``, ``eventMetadata``), the one
``mlops_cdk.drift.capture.parse_record`` reads; it is rendered here because the server image
holds ``model/`` only. Dependency-free beyond ``orjson``, which the server already uses.
"""

import base64
import os
import time
from typing import BinaryIO

import orjson

MAX_LINE_BYTES = 16 * 1024 - 1
"""Longest line written (with its newline, 16 KiB): containerd splits longer lines, which the log
router would then drop or the drift check count as malformed."""
_TEXT_TYPES = {"application/json": "JSON", "text/csv": "CSV"}


def _section(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    """``endpointInput``/``endpointOutput``: UTF-8 JSON or CSV as text, anything else BASE64."""
    encoding = _TEXT_TYPES.get(content_type.partition(";")[0].strip().lower())
    data = None
    if encoding is not None:
        try:
            data = body.decode()
        except UnicodeDecodeError:
            encoding = None
    if encoding is None:
        data, encoding = base64.b64encode(body).decode(), "BASE64"
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def utc_stamp(epoch_seconds: float, prefix_cache: dict[int, str] | None = None) -> str:
    """``yyyy-mm-ddThh:mm:ss.mmmZ``; ``prefix_cache`` reuses the formatted second."""
    seconds = int(epoch_seconds)
    prefix = prefix_cache.get(seconds) if prefix_cache is not None else None
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        if prefix_cache is not None:
            prefix_cache.clear()
            prefix_cache[seconds] = prefix
    return f"{prefix}.{int((epoch_seconds - seconds) * 1000):03d}Z"


def render_record(
    request_body: bytes,
    response_body: bytes,
    *,
    content_type: str,
    model_version: str,
    event_id: str,
    inference_time: float | str,
    response_content_type: str = "application/json",
) -> bytes:
    """One capture line (without its newline), starting with ``{"captureData":``.

    Args:
        request_body: The request body as received.
        response_body: The response body as sent.
        content_type: The request's ``Content-Type``.
        model_version: The version that answered, as ``model_version=<v>`` in
            ``eventMetadata.customAttributes`` (the drift check skips other versions).
        event_id: Unique id of the request.
        inference_time: When it was answered: seconds since the epoch (written in UTC, to the
            millisecond) or the ISO 8601 text itself.
        response_content_type: The response's ``Content-Type``.
    """
    stamp = inference_time if isinstance(inference_time, str) else utc_stamp(inference_time)
    return orjson.dumps(
        {
            "captureData": {
                "endpointInput": _section(request_body, content_type, "INPUT"),
                "endpointOutput": _section(response_body, response_content_type, "OUTPUT"),
            },
            "eventMetadata": {
                "eventId": event_id,
                "inferenceTime": stamp,
                "customAttributes": f"model_version={model_version}",
            },
            "eventVersion": "0",
        }
    )


class Capture:
    """Samples ``percent`` of requests exactly and writes their capture lines to ``stream``.

    Sampling is a credit counter, not a random draw: every request adds ``percent`` and a request
    is captured each time the credit reaches 100, so 20 % captures every fifth request, at the
    cost of one addition and one comparison per request.

    Args:
        percent: Share of requests captured, 0-100.
        model_version: Written into each record.
        stream: Binary stream the lines go to. Default: standard output, unbuffered, so each line
            leaves in one write as soon as it is rendered.

    Attributes:
        written: Lines written. skipped: Sampled requests whose line exceeded
            :data:`MAX_LINE_BYTES` (not written).
    """

    def __init__(self, percent: int, *, model_version: str, stream: BinaryIO | None = None) -> None:
        if not 0 <= percent <= 100:
            raise ValueError(f"CAPTURE_PERCENT = {percent}; use 0-100 (0 turns capture off)")
        self.percent = percent
        self.model_version = model_version
        self._stream = stream or os.fdopen(os.dup(1), "wb", buffering=0)
        self._credit = 0
        self._second: dict[int, str] = {}
        self.written = 0
        self.skipped = 0

    def sample(self) -> bool:
        """Whether this request is captured."""
        self._credit += self.percent
        if self._credit < 100:
            return False
        self._credit -= 100
        return True

    def write(self, request_body: bytes, response_body: bytes) -> None:
        """Render and write one JSON request's line, unless too long to survive the log path.

        The server captures only requests it parsed as JSON (whatever their ``Content-Type``
        said) and JSON answers, so both are recorded as ``application/json``.
        """
        line = render_record(
            request_body,
            response_body,
            content_type="application/json",
            model_version=self.model_version,
            # A random 128-bit id, as a UUID is, for a fraction of uuid4()'s cost.
            event_id=os.urandom(16).hex(),
            inference_time=utc_stamp(time.time(), self._second),
        )
        if len(line) > MAX_LINE_BYTES:
            self.skipped += 1
            return
        self._stream.write(line + b"\n")
        self.written += 1
