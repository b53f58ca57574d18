r"""Read and write SageMaker's data-capture JSONL, the one capture format of both serving paths.

One line per captured request (SageMaker's format, ``eventVersion`` ``"0"``)::

    {"captureData": {
       "endpointInput":  {"observedContentType": "application/json", "mode": "INPUT",
                          "data": "{\\"instances\\": [1000, 45, 0.67]}", "encoding": "JSON"},
       "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                          "data": "{\\"predictions\\": [0.92]}", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-12-04T15:00:00.123Z",
                       "customAttributes": "model_version=7"},
     "eventVersion": "0"}

``encoding`` is ``JSON`` (``data`` is the body as text), ``CSV`` (one row per line) or ``BASE64``
(the body's bytes; decoded, then read as JSON or CSV by ``observedContentType``).

The model version that served a record is ``model_version=<v>`` in ``eventMetadata.
customAttributes`` (the string SageMaker's ``CustomAttributes`` header carries; ``;`` or ``,``
separate pairs), else the Open Inference Protocol response's ``model_version``. Records of another
version than the baseline's are skipped; records that name none are kept.

Rows come from the request: KServe v1 ``{"instances": [a, b, c]}`` or ``{"instances": [[...],
...]}``, the Open Inference Protocol ``{"inputs": [{"shape": [n, 3], "data": [...]}]}``, or CSV.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CAPTURE_MARKER = '{"captureData":'
"""Every line :func:`capture_record` renders starts with this: the log router greps for it."""
MODEL_VERSION_ATTRIBUTE = "model_version"
EVENT_VERSION = "0"


class CaptureError(ValueError):
    """No usable capture: the message says what was read and why nothing could be used."""


class MalformedRecordError(ValueError):
    """One capture line that is not a SageMaker capture record with numeric feature rows."""


@dataclass
class CaptureRows:
    """Feature rows read from capture, with what was skipped and why.

    Attributes:
        rows: Feature rows, in the baseline's feature order.
        records: Capture records used.
        malformed: Non-empty lines that were not a usable capture record.
        other_version: Records another model version served.
        files: Files (or objects) read.
    """

    rows: list[list[float]]
    records: int = 0
    malformed: int = 0
    other_version: int = 0
    files: int = 0

    def require_rows(self) -> list[list[float]]:
        """The rows; raises :class:`CaptureError` explaining an empty result."""
        if not self.rows:
            raise CaptureError(
                f"no rows in the capture: {self.files} files, {self.records} usable records, "
                f"{self.malformed} malformed lines, {self.other_version} records of another "
                "model version; point the check at capture of the model the baseline belongs to"
            )
        return self.rows


def read_lines(
    lines: Iterable[str | bytes],
    *,
    n_features: int,
    model_version: str | None = None,
    into: CaptureRows | None = None,
) -> CaptureRows:
    """Add the rows of capture ``lines`` to ``into`` (a new :class:`CaptureRows` by default).

    Blank lines are ignored; malformed ones are counted and skipped; with ``model_version``,
    records that another version served are counted and skipped.
    """
    result = into if into is not None else CaptureRows(rows=[])
    for line in lines:
        if not line.strip():
            continue
        try:
            rows, version = parse_record(line, n_features=n_features)
        except MalformedRecordError:
            result.malformed += 1
            continue
        if model_version is not None and version is not None and version != model_version:
            result.other_version += 1
            continue
        result.records += 1
        result.rows.extend(rows)
    return result


def read_directory(
    directory: str | Path, *, n_features: int, model_version: str | None = None
) -> CaptureRows:
    """Read every ``*.jsonl`` file under ``directory`` (e.g. an ``aws s3 sync`` of capture).

    Raises:
        CaptureError: ``directory`` does not exist or holds no ``.jsonl`` file.
    """
    root = Path(directory)
    if not root.is_dir():
        raise CaptureError(f"capture directory {root} does not exist")
    files = sorted(root.rglob("*.jsonl"))
    if not files:
        raise CaptureError(f"no .jsonl capture files under {root}")
    result = CaptureRows(rows=[])
    for path in files:
        with path.open("rb") as handle:
            read_lines(handle, n_features=n_features, model_version=model_version, into=result)
        result.files += 1
    return result


def parse_record(line: str | bytes, *, n_features: int) -> tuple[list[list[float]], str | None]:
    """The feature rows of one capture line and the model version that served it (or ``None``).

    Raises:
        MalformedRecordError: Not JSON, not a capture record, or no valid rows.
    """
    try:
        record = json.loads(line)
        if isinstance(record, str):  # a log shipper that sent the line as a JSON string
            record = json.loads(record)
        captured = record["captureData"]
        rows = _rows(_decode(captured["endpointInput"]), n_features)
        version = _version(record.get("eventMetadata"), captured.get("endpointOutput"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise MalformedRecordError(str(error)) from None
    return rows, version


def _decode(section: dict[str, Any]) -> Any:
    """The captured body: parsed JSON, or a list of CSV rows."""
    encoding = str(section.get("encoding", "")).upper()
    data = section["data"]
    if not isinstance(data, str):
        raise ValueError("data must be a string")
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"bad BASE64 data: {error}") from None
        encoding = "CSV" if "csv" in str(section.get("observedContentType", "")) else "JSON"
    if encoding == "JSON":
        return json.loads(data)
    if encoding == "CSV":
        return [line.split(",") for line in data.splitlines() if line.strip()]
    raise ValueError(f"encoding {encoding!r}; expected JSON, CSV or BASE64")


def _rows(body: Any, n_features: int) -> list[list[float]]:
    if isinstance(body, list):  # CSV
        candidates = body
    elif isinstance(body, dict) and "instances" in body:
        instances = body["instances"]
        candidates = instances if instances and isinstance(instances[0], list) else [instances]
    elif isinstance(body, dict) and isinstance(body.get("inputs"), list):
        (tensor,) = body["inputs"]
        data = tensor["data"]
        if data and isinstance(data[0], list):
            candidates = data
        else:
            candidates = [data[i : i + n_features] for i in range(0, len(data), n_features)]
    else:
        raise ValueError("request holds neither instances, inputs nor CSV rows")
    rows = [[_number(value) for value in row] for row in candidates]
    if not rows or any(len(row) != n_features for row in rows):
        raise ValueError(f"rows must hold {n_features} values each")
    return rows


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a feature value")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite value {value!r}")
    return number


def _version(metadata: Any, output: Any) -> str | None:
    attributes = metadata.get("customAttributes") if isinstance(metadata, dict) else None
    for text in attributes if isinstance(attributes, list) else [attributes]:
        if not isinstance(text, str):
            continue
        for pair in text.replace(";", ",").split(","):
            name, _, value = pair.partition("=")
            if name.strip() == MODEL_VERSION_ATTRIBUTE and value.strip():
                return value.strip()
    if isinstance(output, dict) and output.get("encoding") == "JSON":
        try:
            response = json.loads(output["data"])
        except (ValueError, TypeError, KeyError):
            return None
        if isinstance(response, dict) and isinstance(response.get("model_version"), str):
            return response["model_version"]
    return None


def _section(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    encoding = "JSON" if "json" in content_type else "CSV" if "csv" in content_type else ""
    try:
        data = body.decode() if encoding else ""
    except UnicodeDecodeError:
        encoding = ""
    if not encoding:
        data, encoding = base64.b64encode(body).decode(), "BASE64"
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_record(
    request_body: bytes,
    response_body: bytes,
    *,
    content_type: str,
    model_version: str,
    event_id: str,
    inference_time: str | datetime,
    response_content_type: str = "application/json",
) -> str:
    """Render one capture line (no newline) as SageMaker writes it, for the model server.

    A UTF-8 JSON or CSV body is kept as text (``encoding`` ``JSON``/``CSV``), anything else is
    BASE64, as SageMaker does. The line starts with :data:`CAPTURE_MARKER`.

    Args:
        request_body: The request body as received.
        response_body: The response body as sent.
        content_type: The request's ``Content-Type``.
        model_version: Version that served the request, as ``model_version=<v>`` in
            ``eventMetadata.customAttributes``.
        event_id: Unique id of the request (a UUID).
        inference_time: UTC time of the request: ISO 8601 text or an aware ``datetime``.
        response_content_type: The response's ``Content-Type``. Default JSON.
    """
    if isinstance(inference_time, datetime):
        inference_time = inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record = {
        "captureData": {
            "endpointInput": _section(request_body, content_type.lower(), "INPUT"),
            "endpointOutput": _section(response_body, response_content_type.lower(), "OUTPUT"),
        },
        "eventMetadata": {
            "eventId": event_id,
            "inferenceTime": inference_time,
            "customAttributes": f"{MODEL_VERSION_ATTRIBUTE}={model_version}",
        },
        "eventVersion": EVENT_VERSION,
    }
    return json.dumps(record, separators=(",", ":"))
