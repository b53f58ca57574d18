"""Adapter from the public predict contract to a SageMaker endpoint.

``POST /v1/models/<model>:predict`` with ``{"instances": [...]}`` is forwarded byte for byte to
``InvokeEndpoint``; the model server's answer comes back unchanged, so a client cannot tell this
path from the EKS one. The model server validates the body (one validator on both paths); this
adapter only routes, limits the size and maps endpoint failures to honest HTTP statuses:

* the model's own 4xx (``ModelError`` with a 4xx original status) -> that 4xx, its JSON body;
* endpoint missing, throttled, not ready or unreachable -> 503;
* anything else -> 502. Never 200 for an error.

Runs on the HTTP API payload format 2.0 through Powertools' ``APIGatewayHttpResolver``: one route,
a not-found handler, and exception handlers that turn each failure into its status. Module scope
holds the client, settings and resolver; the logic is in pure functions (``route``,
``request_body``, ``map_client_error``) that tests call directly.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as EndpointUnreachableError

JSON_HEADERS = {"content-type": "application/json"}
PREDICT_PATH = re.compile(r"^/v1/models/(?P<model>[^/]+):predict$")
UNAVAILABLE_CODES = frozenset(
    {
        "ModelNotReadyException",
        "ServiceUnavailable",
        "ThrottlingException",
        "InternalDependencyException",
    }
)

ENDPOINT_NAME = os.environ.get("ENDPOINT_NAME", "")
MODEL_NAME = os.environ.get("MODEL_NAME", "fraud-detection")
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", "65536"))

logger = Logger(service="predict-proxy")
tracer = Tracer(service="predict-proxy")
# One retry on throttling/5xx, and a read timeout below the HTTP API's 30 s integration limit.
runtime = boto3.client(
    "sagemaker-runtime",
    config=Config(
        connect_timeout=2, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 2}
    ),
)


class HttpError(Exception):
    """A response to send instead of calling the endpoint (or after it failed)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def response(status: int, body: str | bytes, headers: dict[str, str] | None = None) -> Response:
    """A response; bytes that are not UTF-8 stay bytes, which Powertools sends base64-encoded."""
    if isinstance(body, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            body = body.decode("utf-8")
    return Response(status_code=status, body=body, headers={**JSON_HEADERS, **(headers or {})})


def error_body(message: str) -> str:
    """The JSON error shape the model server uses: ``{"error": "<message>"}``."""
    return json.dumps({"error": message})


def route(method: str, path: str, model_name: str) -> None:
    """Accept only ``POST /v1/models/<model_name>:predict``; raise :class:`HttpError` otherwise."""
    match = PREDICT_PATH.match(path)
    if match is None:
        raise HttpError(
            404, f"no route for {method} {path}; use POST /v1/models/{model_name}:predict"
        )
    if match["model"] != model_name:
        raise HttpError(404, f"model {match['model']!r} not found; this API serves {model_name!r}")
    if method != "POST":
        raise HttpError(405, f"method {method} not allowed; use POST", {"allow": "POST"})


def request_body(event: dict[str, Any], max_bytes: int) -> bytes:
    """The decoded request body, or :class:`HttpError` 413 when it exceeds ``max_bytes``."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        # Base64 is 4/3 of the payload: reject clearly oversized bodies before decoding them.
        if len(raw) > (max_bytes * 4) // 3 + 4:
            raise HttpError(413, f"request body exceeds the limit of {max_bytes} bytes")
        body = base64.b64decode(raw)
    else:
        body = raw.encode("utf-8")
    if len(body) > max_bytes:
        raise HttpError(413, f"request body is {len(body)} bytes; the limit is {max_bytes} bytes")
    return body


def map_client_error(error: dict[str, Any]) -> tuple[int, str]:
    """Map an ``InvokeEndpoint`` error response (botocore's ``ClientError.response``).

    Returns:
        The HTTP status for the client and the JSON body to send.
    """
    code = error.get("Error", {}).get("Code", "")
    if code == "ModelError":
        original = int(error.get("OriginalStatusCode") or 0)
        if 400 <= original < 500:
            message = error.get("OriginalMessage") or error.get("Error", {}).get("Message", "")
            return original, _as_json_error(message)
        return 502, error_body(f"the model server failed (status {original or 'unknown'})")
    if code in UNAVAILABLE_CODES or (
        code == "ValidationError" and "not found" in error.get("Error", {}).get("Message", "")
    ):
        return 503, error_body("the model endpoint is unavailable; retry later")
    return 502, error_body("the model endpoint returned an unexpected error")


def _as_json_error(message: str) -> str:
    """The model server's JSON error as is, or ``{"error": message}`` if it is not JSON."""
    try:
        if isinstance(json.loads(message), dict):
            return message
    except ValueError:
        pass
    return error_body(message)


@dataclass(frozen=True)
class Target:
    """What one request is served with: the client, the endpoint, the model and the size limit."""

    client: Any
    endpoint_name: str
    model_name: str
    max_bytes: int


app = APIGatewayHttpResolver()


@app.post("/v1/models/<model>:predict")
def predict(model: str) -> Response:
    """Forward the body to ``InvokeEndpoint`` and return the model server's answer unchanged."""
    target: Target = app.context["target"]
    event = app.current_event
    route(event.request_context.http.method, event.raw_path, target.model_name)
    result = target.client.invoke_endpoint(
        EndpointName=target.endpoint_name,
        Body=request_body(event.raw_event, target.max_bytes),
        ContentType="application/json",
        Accept="application/json",
    )
    content_type = result.get("ContentType", "application/json")
    return response(200, result["Body"].read(), {"content-type": content_type})


@app.not_found
def no_route(_: Exception) -> Response:
    """Other paths and methods: the 404 or 405 that :func:`route` gives."""
    event = app.current_event
    method, path = event.request_context.http.method, event.raw_path
    try:
        route(method, path, app.context["target"].model_name)
    except HttpError as error:
        return rejected(error)
    return rejected(HttpError(404, f"no route for {method} {path}"))


@app.exception_handler(HttpError)
def rejected(error: HttpError) -> Response:
    """A request refused before (or instead of) calling the endpoint."""
    return response(error.status, error_body(error.message), error.headers)


@app.exception_handler(ClientError)
def endpoint_refused(error: ClientError) -> Response:
    """``InvokeEndpoint`` answered with an error: the model's 4xx, 503 or 502."""
    status, payload = map_client_error(error.response)
    logger.warning(
        "InvokeEndpoint failed",
        extra={"error_code": error.response.get("Error", {}).get("Code"), "status": status},
    )
    return response(status, payload)


@app.exception_handler(EndpointUnreachableError)
@app.exception_handler(ReadTimeoutError)
def endpoint_unreachable(error: BotoCoreError) -> Response:
    """No connection or no answer in time: the endpoint is unavailable."""
    logger.warning("InvokeEndpoint unreachable", extra={"error_type": type(error).__name__})
    return response(503, error_body("the model endpoint is unavailable; retry later"))


@app.exception_handler(BotoCoreError)
def endpoint_failed(error: BotoCoreError) -> Response:
    """Any other botocore failure: never 200."""
    logger.exception("InvokeEndpoint failed", extra={"error_type": type(error).__name__})
    return response(502, error_body("the model endpoint returned an unexpected error"))


def handle(
    event: dict[str, Any],
    client: Any,
    endpoint_name: str,
    model_name: str,
    max_bytes: int,
    context: Any = None,
) -> dict[str, Any]:
    """Serve one HTTP API request with ``client`` (a ``sagemaker-runtime`` client)."""
    app.append_context(target=Target(client, endpoint_name, model_name, max_bytes))
    return app.resolve(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (HTTP API payload format 2.0)."""
    return handle(event, runtime, ENDPOINT_NAME, MODEL_NAME, MAX_REQUEST_BYTES, context)
