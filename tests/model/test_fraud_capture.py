"""Capture for the drift check: the real server's stdout read by the drift check's own parser."""

import contextlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fraud_model.capture import MAX_LINE_BYTES, Capture, render_record
from fraud_model.schema import N_FEATURES
from server_process import free_port, running_server

from mlops_cdk.drift.capture import CAPTURE_MARKER, parse_record

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"
PREDICT = "/v1/models/fraud-detection:predict"


@contextlib.contextmanager
def capturing_server(model_dir: Path, stdout: Path, percent: str) -> Iterator[str]:
    """The real server on 127.0.0.1 with ``CAPTURE_PERCENT`` set, its stdout into a file."""
    with (
        stdout.open("wb") as out,
        running_server(model_dir, env={"CAPTURE_PERCENT": percent}, stdout=out) as url,
    ):
        yield url


def post(url: str, path: str, body: dict, headers: dict | None = None) -> int:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


SENT = [
    (PREDICT, {"instances": [1000, 45, 0.67]}, [[1000, 45, 0.67]]),
    (PREDICT, {"instances": [[12.5, 3, 0.1], [80, 700, 0.9]]}, [[12.5, 3, 0.1], [80, 700, 0.9]]),
    ("/invocations", {"instances": [55, 2, 0.3]}, [[55, 2, 0.3]]),
    (
        "/v2/models/fraud-detection/infer",
        {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [7, 8, 0.2]}]},
        [[7, 8, 0.2]],
    ),
]


def test_every_answered_prediction_at_100_percent_is_one_line_the_drift_check_reads(
    served_model, tmp_path
):
    stdout = tmp_path / "stdout"
    with capturing_server(served_model[1], stdout, "100") as url:
        for path, body, _ in SENT:
            assert post(url, path, body) == 200
        # Client mistakes and other routes are not captured.
        assert post(url, PREDICT, {"instances": [1, 2]}) == 400
        with urllib.request.urlopen(f"{url}/v1/models/fraud-detection", timeout=5):
            pass
    lines = stdout.read_bytes().splitlines()
    assert len(lines) == len(SENT)
    for line, (_, _, rows) in zip(lines, SENT, strict=True):
        assert line.startswith(CAPTURE_MARKER.encode())  # what the log router greps for
        parsed, version = parse_record(line, n_features=N_FEATURES)
        assert (parsed, version) == ([[float(v) for v in row] for row in rows], "7")
        record = json.loads(line)
        output = json.loads(record["captureData"]["endpointOutput"]["data"])
        assert "predictions" in output or "outputs" in output
        assert record["eventMetadata"]["inferenceTime"].endswith("Z")
    event_ids = {json.loads(line)["eventMetadata"]["eventId"] for line in lines}
    assert len(event_ids) == len(lines)


def test_20_percent_captures_every_fifth_request(served_model, tmp_path):
    stdout = tmp_path / "stdout"
    with capturing_server(served_model[1], stdout, "20") as url:
        for amount in range(1, 11):
            assert post(url, PREDICT, {"instances": [amount, 1, 0.5]}) == 200
    lines = stdout.read_bytes().splitlines()
    assert [parse_record(line, n_features=N_FEATURES)[0] for line in lines] == [
        [[5.0, 1.0, 0.5]],
        [[10.0, 1.0, 0.5]],
    ]


def test_capture_off_writes_nothing(served_model, tmp_path):
    stdout = tmp_path / "stdout"
    with capturing_server(served_model[1], stdout, "0") as url:
        for path, body, _ in SENT:
            assert post(url, path, body) == 200
    assert stdout.read_bytes() == b""


def test_an_out_of_range_capture_percent_stops_the_server_naming_it(served_model, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(MODEL_SRC), "MODEL_DIR": str(served_model[1])}
    result = subprocess.run(
        [sys.executable, "-m", "fraud_model.server", "--port", str(free_port())],
        env={**env, "CAPTURE_PERCENT": "101"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "CAPTURE_PERCENT) = 101; use 0-100" in result.stderr


def test_a_line_containerd_would_split_is_skipped_not_written():
    stream = io.BytesIO()
    capture = Capture(100, model_version="7", stream=stream)
    capture.write(json.dumps({"instances": [[1, 2, 0.5]] * 1500}).encode(), b'{"predictions": []}')
    assert (capture.written, capture.skipped, stream.getvalue()) == (0, 1, b"")
    capture.write(b'{"instances": [1, 2, 0.5]}', b'{"predictions": [0.1]}')
    assert capture.written == 1 and len(stream.getvalue()) <= MAX_LINE_BYTES + 1
    with pytest.raises(ValueError, match="CAPTURE_PERCENT = -1; use 0-100"):
        Capture(-1, model_version="7", stream=stream)


def test_a_body_that_is_not_utf8_json_is_kept_as_base64_and_still_read():
    line = render_record(
        b"1000,45,0.67\n",
        b"\xff",
        content_type="text/csv",
        model_version="3",
        event_id="e",
        inference_time=1_764_860_400.25,
        response_content_type="application/octet-stream",
    )
    record = json.loads(line)
    assert record["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert record["captureData"]["endpointOutput"]["encoding"] == "BASE64"
    assert record["eventMetadata"]["inferenceTime"] == "2025-12-04T15:00:00.250Z"
    assert parse_record(line, n_features=N_FEATURES) == ([[1000.0, 45.0, 0.67]], "3")
