"""Fraud-detection model server: KServe v1, Open Inference Protocol v2, SageMaker and Prometheus.

One process and one event loop (uvicorn with uvloop and httptools) serving a bare ASGI app: the
model, an ONNX export of the scikit-learn classifier verified at packaging time to give the same
probabilities, is loaded once before the port opens and run inline by ONNX Runtime (a few
microseconds a row), so the hot path is parse, validate, infer, serialise. A client's mistake gets
a 400 (413 for an oversized body) with a JSON ``{"error": ...}`` that names the problem.

Run ``python -m fraud_model.server [serve] [--port 8080]``; the optional ``serve`` argument is
what SageMaker passes to the container.
"""

import argparse
import asyncio
import itertools
import json
import logging
import math
import os
import sys
import time
import uuid
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import prometheus_client
import uvicorn
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fraud_model.capture import Capture
from fraud_model.fastpath import GridModel
from fraud_model.schema import (
    FEATURES,
    GRID_FILE,
    METRICS_FILE,
    MODEL_DIR,
    MODEL_NAME,
    N_FEATURES,
    ONNX_FILE,
)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_CONCURRENT_REQUESTS = 64
"""Requests in progress at once (reading a body, answering); more get a 503 at once."""
DEFAULT_MAX_CONNECTIONS = 1024
"""Open connections (uvicorn's ``limit_concurrency``); requests beyond get uvicorn's 503."""
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has from connecting (or starting a request) to its last header line."""
KEEP_ALIVE_SECONDS = 75
"""Idle keep-alive, above the ALB's 60 s idle timeout: the load balancer closes first, so it never
sends a request on a connection the server is closing."""
QUOTE_CHARS = 80
"""Longest excerpt of a client's value an error message quotes."""
V2_DATATYPES = ("FP32", "FP64")
V2_NUMPY_DTYPES = {"FP32": np.dtype("<f4"), "FP64": np.dtype("<f8")}
"""Little-endian dtype of each datatype in the binary tensor data extension."""
BINARY_HEADER = b"inference-header-content-length"
V2_OUTPUT = "probability"
FLOAT32_MAX = float(np.finfo(np.float32).max)
METRICS_CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST.encode()
CAPTURED_ROUTES = frozenset(("v1_predict", "invocations", "v2_infer"))
"""Routes whose successful JSON requests ``CAPTURE_PERCENT`` samples for the drift check."""

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Response = bytes | tuple[bytes, bytes, list[tuple[bytes, bytes]]]
"""A handler's answer: a JSON body, or (body, content type, extra headers)."""
Handler = Callable[[bytes, Scope], Response]

logger = logging.getLogger("fraud_model.server")

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
"""Upper bounds, in seconds, of the request latency histogram's buckets."""


class RequestMetrics(prometheus_client.registry.Collector):
    """Request counts, latency histograms and scored rows, counted in plain Python numbers.

    ``prometheus_client``'s metrics take a lock and walk the buckets on every update (about
    1 µs a request for a counter and a histogram); the event loop is the only writer here, so
    ints in lists and dicts do (about 0.3 µs). ``collect`` turns them into the same metric
    families at scrape time, which runs on the same loop:

    - ``fraud_model_requests_total{route,code}``: HTTP requests by route and status code;
    - ``fraud_model_request_duration_seconds{route}``: histogram, arrival to response;
    - ``fraud_model_predicted_rows_total``: rows scored by the model.
    """

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        """Start every count at zero; ``buckets`` are the histogram's upper bounds (last: inf)."""
        self._bounds = list(buckets)
        self._bucket_labels = [floatToGoString(bound) for bound in buckets]
        self._requests: dict[tuple[str, int], int] = {}
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = {}
        self.rows = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency.

        A bucket holds the observations <= its bound, as in Prometheus: ``bisect_left``.
        """
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = [0] * len(self._bounds)
            self._latency_sum[route] = 0.0
        latency[bisect_left(self._bounds, seconds)] += 1
        self._latency_sum[route] += seconds
        key = (route, status)
        self._requests[key] = self._requests.get(key, 0) + 1

    def collect(self) -> Iterator[prometheus_client.Metric]:
        """Expose the counts as Prometheus counter and histogram families."""
        requests = CounterMetricFamily(
            "fraud_model_requests",
            "HTTP requests by route and status code.",
            labels=["route", "code"],
        )
        for (route, status), count in sorted(self._requests.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "fraud_model_request_duration_seconds",
            "Time from the request's arrival to its response, by route.",
            labels=["route"],
        )
        for route, counts in sorted(self._latency.items()):
            buckets = list(zip(self._bucket_labels, itertools.accumulate(counts), strict=True))
            latency.add_metric([route], buckets, self._latency_sum[route])
        yield latency
        rows = CounterMetricFamily("fraud_model_predicted_rows", "Rows scored by the model.")
        rows.add_metric([], self.rows)
        yield rows


METRICS = RequestMetrics()
prometheus_client.REGISTRY.register(METRICS)


class HTTPError(Exception):
    """A response other than 200, with the message the client sees."""

    def __init__(self, status: int, message: str) -> None:
        """Store the HTTP status and the client-facing message."""
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> HTTPError:
    """Return a 400 naming what is wrong with the request."""
    return HTTPError(400, message)


class FraudModel:
    """The model, loaded once: ``predict`` maps rows to fraud probabilities, ``predict_one`` a row.

    Runs the exact lookup table (``model_grid.npz``, see ``fraud_model/fastpath.py``) when the
    package has one, else the ONNX model with ONNX Runtime.
    """

    def __init__(self, model_dir: Path) -> None:
        """Load the model (and the version from ``metrics.json``) from ``model_dir``.

        Raises:
            FileNotFoundError: When ``model_dir`` has no ``model.onnx``.
        """
        onnx_path = model_dir / ONNX_FILE
        if not onnx_path.is_file():
            raise FileNotFoundError(
                f"no {ONNX_FILE} in MODEL_DIR={model_dir}; run `make train` or point MODEL_DIR"
                " at an extracted model.tar.gz"
            )
        grid_path = model_dir / GRID_FILE
        if grid_path.is_file():
            self.backend, self.platform = f"lookup table ({GRID_FILE})", "lookup_table"
            self._grid = GridModel.load(grid_path)
            self.predict: Callable[[list[list[float]]], list[float]] = self._predict_grid
            self.predict_one: Callable[[list[float]], float] = self._grid.predict_one
        else:
            self.backend, self.platform = f"ONNX Runtime ({ONNX_FILE})", "onnxruntime"
            self._load_onnx(onnx_path)
            self.predict = self._predict_onnx
            self.predict_one = self._predict_one_onnx
        metrics_path = model_dir / METRICS_FILE
        metadata = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        self.version = str(metadata.get("model_version", "unversioned"))

    def _load_onnx(self, onnx_path: Path) -> None:
        """Start an ONNX Runtime session on one thread, with buffers bound for single rows."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = ["probabilities"]
        # Single rows, the common case, run through buffers bound once: no per-call allocation.
        self._row = np.zeros((1, N_FEATURES), dtype=np.float32)
        self._probabilities = np.zeros((1, 2), dtype=np.float32)
        self._binding = self._session.io_binding()
        self._binding.bind_cpu_input(self._input, self._row)
        self._binding.bind_output(
            self._outputs[0], "cpu", 0, np.float32, [1, 2], self._probabilities.ctypes.data
        )

    def _predict_grid(self, rows: list[list[float]]) -> list[float]:
        """Fraud probability of each validated row of ``N_FEATURES`` finite numbers."""
        if len(rows) == 1:
            return [self._grid.predict_one(rows[0])]
        return self._grid.predict(np.array(rows, dtype=np.float64)).tolist()

    def _predict_one_onnx(self, row: list[float]) -> float:
        """Fraud probability of one validated row, through the buffers bound at load.

        Not reentrant: the server calls it from its one event-loop thread only.
        """
        self._row[0] = row
        self._session.run_with_iobinding(self._binding)
        return float(self._probabilities[0, 1])

    def _predict_onnx(self, rows: list[list[float]]) -> list[float]:
        """Fraud probability of each validated row of ``N_FEATURES`` finite numbers."""
        if len(rows) == 1:
            return [self._predict_one_onnx(rows[0])]
        batch = np.array(rows, dtype=np.float32)
        return self._session.run(self._outputs, {self._input: batch})[0][:, 1].tolist()


def quote(value: Any) -> str:
    """``value`` as JSON for an error message, cut to ``QUOTE_CHARS`` characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "..."


def bounded(text: str) -> str:
    """``text`` cut to ``QUOTE_CHARS`` characters."""
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "..."


def _reject_constant(name: str) -> float:
    """Refuse NaN and Infinity, which Python's json would otherwise accept."""
    raise bad_request(f"{name} is not a valid feature value; every feature must be a finite number")


def parse_json(body: bytes) -> Any:
    """Decode a JSON body, telling NaN/Infinity apart from malformed JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        orjson_error = error
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than Python's limit (orjson stops at 1024 levels).
        raise bad_request(f"request body is not valid JSON: {bounded(str(orjson_error))}") from None


def check_rows(rows: list[Any], where: str) -> list[list[float]]:
    """Check that ``rows`` is a list of rows of ``N_FEATURES`` finite float32 numbers.

    Args:
        rows: The rows, each a list of ``N_FEATURES`` numbers.
        where: How the client calls the rows, for messages (e.g. ``'instances'``).

    Raises:
        HTTPError: 400 naming the first offending row and value.
    """
    for index, row in enumerate(rows):
        if type(row) is not list:
            raise bad_request(
                f"{where}[{index}] is {type(row).__name__}; expected a list of numbers"
            )
        if len(row) != N_FEATURES:
            raise bad_request(
                f"{where}[{index}] has {len(row)} values; expected {N_FEATURES}"
                f" ({', '.join(FEATURES)})"
            )
        for value in row:
            if type(value) is not float and type(value) is not int:
                raise bad_request(
                    f"{where}[{index}] contains {quote(value)}; every feature must be a number"
                )
            # One comparison rejects NaN, infinities and what float32 cannot hold.
            if not -FLOAT32_MAX <= value <= FLOAT32_MAX:
                raise bad_request(
                    f"{where}[{index}] contains {bounded(str(value))}; every feature must be a"
                    " finite number"
                    " within the 32-bit float range"
                )
    return rows


def parse_v1(payload: Any) -> list[list[float]]:
    """Parse a KServe v1 body: one row ``[a, b, c]`` or a list of rows ``[[a, b, c], ...]``."""
    if not isinstance(payload, dict):
        raise bad_request('request body must be a JSON object like {"instances": [1000, 45, 0.67]}')
    if "instances" not in payload:
        raise bad_request(
            'missing "instances"; send {"instances": [1000, 45, 0.67]} or a list of such rows'
        )
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise bad_request(f'"instances" is {type(instances).__name__}; expected a list')
    if not instances:
        raise bad_request('"instances" is empty; send one row of 3 numbers or a list of rows')
    if isinstance(instances[0], list):
        return check_rows(instances, "instances")
    return check_rows([instances], "instances")


def single_v1_row(payload: Any) -> list[float] | None:
    """Return the row of the common body, ``{"instances": [a, b, c]}``, when it is valid.

    The fast path for one row: the same checks as ``parse_v1`` and ``check_rows``, without
    their generality. Anything else, errors included, gives None and goes to ``parse_v1``.
    """
    if type(payload) is not dict:
        return None
    row = payload.get("instances")
    if type(row) is not list or len(row) != N_FEATURES:
        return None
    for value in row:
        if type(value) is not float and type(value) is not int:
            return None
        if not -FLOAT32_MAX <= value <= FLOAT32_MAX:
            return None
    return row


def parse_v2(payload: Any, binary: bytes | None = None) -> tuple[list[list[float]], str | None]:
    """Parse an Open Inference Protocol request with one FP32/FP64 tensor of shape [n, 3].

    Args:
        payload: The decoded JSON (the JSON header, with the binary tensor data extension).
        binary: The bytes after the JSON header when the request used the extension, else None.

    Returns:
        The rows and the request's ``id``, if any.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise bad_request('request body must be a JSON object with an "inputs" list of tensors')
    inputs = payload["inputs"]
    if len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise bad_request(f'"inputs" has {len(inputs)} entries; expected exactly one tensor object')
    tensor = inputs[0]
    datatype, shape = tensor.get("datatype"), tensor.get("shape")
    if datatype not in V2_DATATYPES:
        raise bad_request(f'"datatype" is {quote(datatype)}; expected one of {V2_DATATYPES}')
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(type(size) is int for size in shape)
        or shape[0] < 1
        or shape[1] != N_FEATURES
    ):
        raise bad_request(f'"shape" is {quote(shape)}; expected [n, {N_FEATURES}] with n >= 1')
    parameters = tensor.get("parameters")
    if isinstance(parameters, dict) and "binary_data_size" in parameters:
        rows = rows_from_binary(binary, parameters["binary_data_size"], datatype, shape)
    elif binary:
        raise bad_request(
            f"{len(binary)} bytes follow the JSON header but the input declares no"
            ' "binary_data_size" parameter'
        )
    else:
        rows = check_rows(rows_from_json(tensor.get("data"), shape), "data")
    request_id = payload.get("id")
    return rows, request_id if isinstance(request_id, str) else None


def rows_from_json(data: Any, shape: list[int]) -> list[Any]:
    """Split a tensor's JSON ``data`` (flat, or nested by row) into the rows of ``shape``."""
    if not isinstance(data, list):
        raise bad_request('"data" must be a list of numbers (flat or nested by row)')
    if data and isinstance(data[0], list):
        rows = data
        for index, row in enumerate(rows):
            if type(row) is not list:
                raise bad_request(
                    f'data[{index}] is {type(row).__name__}; nest every row of "data" or none'
                )
    else:
        rows = [data[start : start + N_FEATURES] for start in range(0, len(data), N_FEATURES)]
    if len(rows) != shape[0] or (rows and len(rows[-1]) != N_FEATURES):
        raise bad_request(
            f'"data" does not hold shape {shape}: send {shape[0] * N_FEATURES} numbers'
        )
    return rows


def rows_from_binary(
    binary: bytes | None, declared_size: Any, datatype: str, shape: list[int]
) -> list[list[float]]:
    """Read the rows of a tensor sent with the binary tensor data extension.

    The bytes are the tensor in row-major order, little-endian, ``datatype`` wide; their count
    must be the declared ``binary_data_size`` and what ``shape`` needs.
    """
    if binary is None:
        raise bad_request(
            '"binary_data_size" needs the Inference-Header-Content-Length header, set to the'
            " length of the JSON header that precedes the tensor bytes"
        )
    dtype = V2_NUMPY_DTYPES[datatype]
    needed = shape[0] * N_FEATURES * dtype.itemsize
    if type(declared_size) is not int or declared_size != needed or len(binary) != needed:
        raise bad_request(
            f'binary tensor data is {len(binary)} bytes and "binary_data_size" is'
            f" {quote(declared_size)}; shape {shape} of {datatype} needs {needed} bytes"
        )
    values = np.frombuffer(binary, dtype=dtype).reshape(shape[0], N_FEATURES)
    if not (np.abs(values) <= FLOAT32_MAX).all():  # False for NaN too
        raise bad_request(
            "binary tensor data holds NaN, an infinity or a value outside the 32-bit float"
            " range; every feature must be a finite number"
        )
    return values.tolist()


def split_binary_body(body: bytes, header_length: bytes) -> tuple[bytes, bytes]:
    """Split a binary-extension body into its JSON header and the tensor bytes that follow."""
    if not header_length.isdigit() or not 0 < int(header_length) <= len(body):
        raise bad_request(
            f"Inference-Header-Content-Length is {quote(header_length.decode(errors='replace'))};"
            f" expected the JSON header's length in bytes, 1 to {len(body)}"
        )
    length = int(header_length)
    return body[:length], body[length:]


def wants_binary_output(payload: dict[str, Any]) -> bool:
    """Whether the client asked for the output as binary tensor data.

    An ``outputs`` entry's ``binary_data`` wins over the request's ``binary_data_output``.
    """
    outputs = payload.get("outputs")
    requested = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(
            isinstance(output, dict) and output.get("name") == V2_OUTPUT for output in outputs
        ):
            raise bad_request(f'"outputs" may only request {V2_OUTPUT!r}; got {quote(outputs)}')
        for output in outputs:
            parameters = output.get("parameters")
            if isinstance(parameters, dict) and "binary_data" in parameters:
                requested = parameters["binary_data"] is True
    if requested is not None:
        return requested
    parameters = payload.get("parameters")
    return isinstance(parameters, dict) and parameters.get("binary_data_output") is True


class Server:
    """The ASGI application: routing, body limits, metrics and error handling."""

    def __init__(
        self,
        model: FraudModel,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        capture: Capture | None = None,
    ) -> None:
        """Serve ``model`` under ``MODEL_NAME``.

        Args:
            model: The loaded model.
            max_body_bytes: Larger bodies get a 413.
            max_concurrent_requests: Requests in progress at once; more get a 503 at once
                instead of waiting in a queue.
            capture: Writes a capture line for the sampled successful predictions, after the
                answer is sent; ``None`` captures nothing.
        """
        self.model = model
        self.capture = capture
        self.max_body_bytes = max_body_bytes
        self.max_concurrent_requests = max_concurrent_requests
        self._in_flight = 0
        self._busy = orjson.dumps(
            {"error": f"server busy: {max_concurrent_requests} requests in progress; retry"}
        )
        self._too_large = f"request body exceeds {max_body_bytes} bytes"
        self._static = {
            ("GET", "/"): ("live", self._live),
            ("GET", "/v2/health/live"): ("live", self._live),
            ("GET", "/v2/health/ready"): ("ready", self._ready),
            ("GET", "/ping"): ("ping", self._ready),
            ("GET", "/metrics"): ("metrics", self._metrics),
            ("GET", "/v1/models"): ("list", self._list),
            ("GET", "/v2"): ("server_metadata", self._server_metadata),
            ("POST", "/invocations"): ("invocations", self._predict_v1),
            # The prediction routes of our own model, found without parsing the path.
            ("POST", f"/v1/models/{MODEL_NAME}:predict"): ("v1_predict", self._predict_v1),
            ("POST", f"/v2/models/{MODEL_NAME}/infer"): ("v2_infer", self._infer_v2),
        }
        self._metadata = orjson.dumps(
            {
                "name": MODEL_NAME,
                "versions": [model.version],
                "platform": model.platform,
                "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, N_FEATURES]}],
                "outputs": [{"name": V2_OUTPUT, "datatype": "FP32", "shape": [-1]}],
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        route, status, content_type, extra = "unmatched", 200, b"application/json", None
        request_body = b""
        self._in_flight += 1
        try:
            try:
                if self._in_flight > self.max_concurrent_requests:
                    raise HTTPError(503, "")
                route, handler, method_ok = self._route(scope["method"], scope["path"])
                if not method_ok:
                    raise HTTPError(
                        405, f"method {scope['method']} is not allowed on {scope['path']}"
                    )
                request_body = (
                    await self._read_body(scope, receive) if scope["method"] == "POST" else b""
                )
                body = handler(request_body, scope)
                if type(body) is tuple:
                    body, content_type, extra = body
            except HTTPError as error:
                status, body, extra = self._error_response(error)
            except Exception:
                logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
                status, body = 500, b'{"error": "internal server error"}'
            headers = [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ]
            if extra:
                headers.extend(extra)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            if (
                self.capture is not None
                and status == 200
                and route in CAPTURED_ROUTES
                and content_type == b"application/json"
                and self.capture.sample()
            ):
                self._capture(request_body, body, scope)
        finally:
            # Also when the task is cancelled mid-request: a lost slot would shrink the limit.
            self._in_flight -= 1
        METRICS.observe(route, status, time.perf_counter() - started)

    def _capture(self, request_body: bytes, response_body: bytes, scope: Scope) -> None:
        """Write the capture line of one answered request; capture never fails a request."""
        for name, _ in scope["headers"]:
            if name == BINARY_HEADER:
                return  # the binary tensor extension: not a body the drift check reads
        try:
            self.capture.write(request_body, response_body)  # type: ignore[union-attr]
        except OSError:
            logger.exception("capture line not written")

    def _error_response(self, error: HTTPError) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, JSON body and extra headers of an error answer."""
        if error.status == 503:
            return 503, self._busy, [(b"retry-after", b"1")]
        extra = [(b"connection", b"close")] if error.status == 413 else []
        return error.status, orjson.dumps({"error": error.message}), extra

    def _route(self, method: str, path: str) -> tuple[str, Handler, bool]:
        """Return (metrics label, handler, whether the method is allowed) for a path."""
        static = self._static.get((method, path))
        if static is not None:
            return static[0], static[1], True
        if path.startswith("/v1/models/"):
            name = path[len("/v1/models/") :]
            if name.endswith(":predict"):
                self._check_name(name[: -len(":predict")])
                return "v1_predict", self._predict_v1, method == "POST"
            self._check_name(name)
            return "v1_model", self._model_ready_v1, method == "GET"
        if path.startswith("/v2/models/"):
            name, _, action = path[len("/v2/models/") :].partition("/")
            self._check_name(name)
            if action == "infer":
                return "v2_infer", self._infer_v2, method == "POST"
            if action == "ready":
                return "v2_model_ready", self._ready, method == "GET"
            if action == "":
                return "v2_model_metadata", self._model_metadata, method == "GET"
        if any(known_path == path for _, known_path in self._static):
            return "unmatched", self._live, False
        raise HTTPError(404, f"no route for {path}")

    @staticmethod
    def _check_name(name: str) -> None:
        """Answer 404 for any model but ours."""
        if name != MODEL_NAME:
            raise HTTPError(404, f"model {name!r} not found; this server serves {MODEL_NAME!r}")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        """Read the request body, refusing more than ``max_body_bytes`` with 413."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                raise HTTPError(413, self._too_large)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HTTPError(400, "client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise HTTPError(413, self._too_large)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _predict_v1(self, body: bytes, _: Scope) -> bytes:
        """KServe v1 ``:predict`` and SageMaker ``/invocations``."""
        payload = parse_json(body)
        row = single_v1_row(payload)
        if row is not None:
            METRICS.rows += 1
            return orjson.dumps({"predictions": [self.model.predict_one(row)]})
        rows = parse_v1(payload)
        METRICS.rows += len(rows)
        return orjson.dumps({"predictions": self.model.predict(rows)})

    def _infer_v2(self, body: bytes, scope: Scope) -> Response:
        """Open Inference Protocol ``infer``, with or without the binary tensor data extension."""
        binary = None
        for name, value in scope["headers"]:
            if name == BINARY_HEADER:
                body, binary = split_binary_body(body, value)
        payload = parse_json(body)
        rows, request_id = parse_v2(payload, binary)
        binary_output = wants_binary_output(payload)
        METRICS.rows += len(rows)
        probabilities = self.model.predict(rows)
        output: dict[str, Any] = {"name": V2_OUTPUT, "shape": [len(probabilities)]}
        response = {
            "model_name": MODEL_NAME,
            "model_version": self.model.version,
            "id": request_id or uuid.uuid4().hex,
            "outputs": [output],
        }
        if not binary_output:
            output.update(datatype="FP32", data=probabilities)
            return orjson.dumps(response)
        # Binary outputs come in the input's datatype: FP64 in, FP64 out.
        datatype = payload["inputs"][0]["datatype"]
        tensor = np.asarray(probabilities, dtype=V2_NUMPY_DTYPES[datatype]).tobytes()
        output.update(datatype=datatype, parameters={"binary_data_size": len(tensor)})
        header = orjson.dumps(response)
        length = str(len(header)).encode()
        return header + tensor, b"application/octet-stream", [(BINARY_HEADER, length)]

    def _metrics(self, _: bytes, __: Scope) -> Response:
        return prometheus_client.generate_latest(), METRICS_CONTENT_TYPE, []

    def _live(self, _: bytes, __: Scope) -> bytes:
        return b'{"status": "alive", "live": true}'

    def _ready(self, _: bytes, __: Scope) -> bytes:
        return orjson.dumps({"name": MODEL_NAME, "ready": True})

    def _list(self, _: bytes, __: Scope) -> bytes:
        return orjson.dumps({"models": [MODEL_NAME]})

    def _model_ready_v1(self, _: bytes, __: Scope) -> bytes:
        return orjson.dumps({"name": MODEL_NAME, "ready": True})

    def _model_metadata(self, _: bytes, __: Scope) -> bytes:
        return self._metadata

    def _server_metadata(self, _: bytes, __: Scope) -> bytes:
        return (
            b'{"name": "fraud-model-server", "version": "1", "extensions": ["binary_tensor_data"]}'
        )


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers stall.

    uvicorn times out idle keep-alive connections but not a client that connects and trickles
    its headers (or sends nothing): each would hold a connection slot forever. One timer per
    connection checks when the current headers started; a request only stores a timestamp, so
    the hot path arms no timer.
    """

    header_timeout = DEFAULT_HEADER_TIMEOUT
    _headers_since: float | None = None
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._headers_since = self.loop.time()
        self._header_timer = self.loop.call_later(self.header_timeout, self._check_headers)

    def on_message_begin(self) -> None:
        """A request's first byte: its headers are due within ``header_timeout``."""
        super().on_message_begin()
        self._headers_since = self.loop.time()

    def on_headers_complete(self) -> None:
        """Headers are in: nothing is due until the next request begins."""
        self._headers_since = None
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _check_headers(self) -> None:
        """Close the connection if headers are overdue, else check again when they could be."""
        wait = self.header_timeout
        if self._headers_since is not None:
            wait -= self.loop.time() - self._headers_since
            if wait <= 0:
                self.transport.close()
                return
        self._header_timer = self.loop.call_later(wait, self._check_headers)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options, each defaulting to its environment variable."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["serve"], help="accepted for SageMaker")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", MODEL_DIR))
    )
    for option, variable, kind, default in (
        ("--max-body-bytes", "MAX_BODY_BYTES", int, DEFAULT_MAX_BODY_BYTES),
        (
            "--max-concurrent-requests",
            "MAX_CONCURRENT_REQUESTS",
            int,
            DEFAULT_MAX_CONCURRENT_REQUESTS,
        ),
        ("--max-connections", "MAX_CONNECTIONS", int, DEFAULT_MAX_CONNECTIONS),
        ("--header-timeout", "HEADER_TIMEOUT_SECONDS", float, DEFAULT_HEADER_TIMEOUT),
        ("--capture-percent", "CAPTURE_PERCENT", int, 0),
    ):
        parser.add_argument(option, type=kind, default=kind(os.environ.get(variable, default)))
    args = parser.parse_args(argv)
    if not 0 <= args.capture_percent <= 100:
        parser.error(
            f"--capture-percent (CAPTURE_PERCENT) = {args.capture_percent}; use 0-100 (0 is off)"
        )
    return args


def server_config(model: FraudModel, args: argparse.Namespace) -> uvicorn.Config:
    """The uvicorn configuration: limits and timeouts suited to running behind a load balancer."""
    protocol = type(
        "ConfiguredHeaderTimeoutProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout": args.header_timeout},
    )
    app = Server(
        model,
        max_body_bytes=args.max_body_bytes,
        max_concurrent_requests=args.max_concurrent_requests,
        capture=(
            Capture(args.capture_percent, model_version=model.version)
            if args.capture_percent > 0
            else None
        ),
    )
    return uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=protocol,
        lifespan="off",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=args.max_connections,
        log_level="info",
    )


def main(argv: list[str] | None = None) -> int:
    """Load the model and serve it until SIGTERM/SIGINT."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        model = FraudModel(args.model_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    logger.info(
        "loaded %s version %s from %s; serving with the %s",
        *(MODEL_NAME, model.version, args.model_dir, model.backend),
    )
    uvicorn.Server(server_config(model, args)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
