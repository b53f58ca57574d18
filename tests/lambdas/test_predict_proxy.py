"""predict_proxy: routing, size limit, error mapping, and end-to-end calls through botocore."""

from __future__ import annotations

import base64
import importlib
import io
import json
from dataclasses import dataclass

import boto3
import pytest
import requests
from botocore.exceptions import ConnectionError as EndpointUnreachableError
from botocore.exceptions import NoCredentialsError, ReadTimeoutError
from moto import mock_aws

from mlops_cdk.lambdas.predict_proxy import handler
from mlops_cdk.lambdas.predict_proxy.handler import (
    HttpError,
    handle,
    map_client_error,
    request_body,
    route,
)
from tests.lambdas.fake_sagemaker_runtime import (
    Reply,
    fake_runtime,
    model_error,
    runtime_client,
    service_error,
)

MODEL = "fraud-detection"
ENDPOINT = "mlopscdk-dev-fraud-detection"
PAYLOAD = '{"instances": [1000, 45, 0.67]}'


def event(path=f"/v1/models/{MODEL}:predict", method="POST", body=PAYLOAD, b64=False):
    if b64:
        body = base64.b64encode(body.encode()).decode()
    return {
        "version": "2.0",
        "routeKey": "POST /v1/models/{proxy+}",
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": b64,
    }


def call(ev, client, max_bytes=65536):
    return handle(ev, client, ENDPOINT, MODEL, max_bytes)


# --- pure functions --------------------------------------------------------------------------


def test_route_accepts_only_post_to_the_served_model():
    route("POST", f"/v1/models/{MODEL}:predict", MODEL)


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("POST", "/v1/models/other-model:predict", 404, "model 'other-model' not found"),
        ("POST", f"/v1/models/{MODEL}:explain", 404, "no route for POST"),
        (
            "POST",
            "/v2/models/fraud-detection/infer",
            404,
            "use POST /v1/models/fraud-detection:predict",
        ),
        ("GET", "/", 404, "no route for GET /"),
        ("GET", f"/v1/models/{MODEL}:predict", 405, "method GET not allowed"),
    ],
)
def test_route_rejects_other_models_paths_and_methods(method, path, status, text):
    with pytest.raises(HttpError) as info:
        route(method, path, MODEL)
    assert info.value.status == status
    assert text in info.value.message


def test_request_body_decodes_base64_and_enforces_the_limit():
    assert request_body(event(b64=True), 1024) == PAYLOAD.encode()
    assert request_body(event(), 1024) == PAYLOAD.encode()
    assert request_body({"body": None}, 10) == b""
    with pytest.raises(HttpError) as info:
        request_body(event(body="x" * 101), 100)
    assert info.value.status == 413 and "101 bytes; the limit is 100" in info.value.message
    with pytest.raises(HttpError) as info:
        request_body(event(body="x" * 10_000, b64=True), 100)
    assert info.value.status == 413


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            {
                "Error": {"Code": "ModelError"},
                "OriginalStatusCode": 400,
                "OriginalMessage": '{"error": "instances must be a list"}',
            },
            400,
            {"error": "instances must be a list"},
        ),
        (
            {
                "Error": {"Code": "ModelError"},
                "OriginalStatusCode": 422,
                "OriginalMessage": "bad shape",
            },
            422,
            {"error": "bad shape"},
        ),
        (
            {"Error": {"Code": "ModelError"}, "OriginalStatusCode": 500, "OriginalMessage": "boom"},
            502,
            {"error": "the model server failed (status 500)"},
        ),
        ({"Error": {"Code": "ModelNotReadyException"}}, 503, None),
        ({"Error": {"Code": "ThrottlingException"}}, 503, None),
        ({"Error": {"Code": "ServiceUnavailable"}}, 503, None),
        (
            {"Error": {"Code": "ValidationError", "Message": "Endpoint e of account 1 not found."}},
            503,
            None,
        ),
        ({"Error": {"Code": "ValidationError", "Message": "Body too large"}}, 502, None),
        ({"Error": {"Code": "AccessDeniedException"}}, 502, None),
        ({"Error": {"Code": "InternalFailure"}}, 502, None),
    ],
)
def test_map_client_error(error, status, body):
    got_status, got_body = map_client_error(error)
    assert got_status == status
    parsed = json.loads(got_body)
    assert set(parsed) == {"error"}
    if body is not None:
        assert parsed == body


# --- through botocore: moto for success, a real 127.0.0.1 server for the service's errors -----


@mock_aws
def test_prediction_passes_through_unchanged_with_moto():
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={
            "results": [
                {
                    "Body": '{"predictions": [0.92]}',
                    "ContentType": "application/json",
                    "InvokedProductionVariant": "AllTraffic",
                    "CustomAttributes": "",
                }
            ]
        },
        timeout=5,
    )
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    result = call(event(), client)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"predictions": [0.92]}
    assert result["headers"]["content-type"] == "application/json"


def test_body_is_forwarded_byte_for_byte_and_answer_returned():
    with fake_runtime(Reply()) as (url, reply):
        result = call(event(b64=True), runtime_client(url))
    assert reply.received == [PAYLOAD.encode()]
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"predictions": [0.92]}


def test_the_models_400_reaches_the_client_as_400_with_its_json():
    message = '{"error": "instances must have 3 features, got 2"}'
    with fake_runtime(model_error(400, message)) as (url, _):
        result = call(event(body='{"instances": [1, 2]}'), runtime_client(url))
    assert result["statusCode"] == 400
    assert json.loads(result["body"]) == {"error": "instances must have 3 features, got 2"}


def test_a_model_crash_is_502_never_200():
    with fake_runtime(model_error(500, "Traceback ...")) as (url, _):
        result = call(event(), runtime_client(url))
    assert result["statusCode"] == 502
    assert "Traceback" not in result["body"]


@pytest.mark.parametrize(
    "reply",
    [
        service_error(400, "ThrottlingException", "Rate exceeded"),
        service_error(
            400,
            "ValidationError",
            "Endpoint mlopscdk-dev-fraud-detection of account 123456789012 not found.",
        ),
        service_error(429, "ModelNotReadyException", "Model is not ready"),
        service_error(503, "ServiceUnavailable", "Service unavailable"),
    ],
)
def test_endpoint_unavailability_is_503(reply):
    with fake_runtime(reply) as (url, _):
        result = call(event(), runtime_client(url))
    assert result["statusCode"] == 503
    assert json.loads(result["body"]) == {"error": "the model endpoint is unavailable; retry later"}


def test_unreachable_and_slow_endpoints_are_503():
    with fake_runtime(Reply()) as (url, _):
        pass  # the server is shut down: its port now refuses connections
    assert call(event(), runtime_client(url))["statusCode"] == 503
    with fake_runtime(Reply(delay_seconds=1.0)) as (url, _):
        assert call(event(), runtime_client(url, read_timeout=0.2))["statusCode"] == 503


def test_rejected_requests_never_reach_the_endpoint():
    with fake_runtime(Reply()) as (url, reply):
        client = runtime_client(url)
        assert call(event(path="/v1/models/other:predict"), client)["statusCode"] == 404
        assert call(event(method="PUT"), client)["statusCode"] == 405
        too_big = call(event(body="x" * 2048), client, max_bytes=1024)
    assert too_big["statusCode"] == 413
    assert json.loads(too_big["body"])["error"].startswith("request body is 2048 bytes")
    assert reply.received == []


@dataclass
class LambdaContext:
    function_name: str = "predict-proxy"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:predict-proxy"
    aws_request_id: str = "req-1"


@mock_aws
def test_lambda_handler_reads_its_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("MODEL_NAME", "other-model")
    monkeypatch.setenv("MAX_REQUEST_BYTES", "10")
    module = importlib.reload(handler)
    try:
        assert (
            module.lambda_handler(
                event(path="/v1/models/other-model:predict", body="{}"), LambdaContext()
            )["statusCode"]
            == 200
        )
        assert (
            module.lambda_handler(event(path="/v1/models/other-model:predict"), LambdaContext())[
                "statusCode"
            ]
            == 413
        )
        assert module.lambda_handler(event(), LambdaContext())["statusCode"] == 404
    finally:
        monkeypatch.undo()
        importlib.reload(handler)


class RaisingClient:
    """A sagemaker-runtime client whose call fails with ``error`` before any HTTP."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def invoke_endpoint(self, **_: object) -> dict:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), 503),
        (EndpointUnreachableError(error="connection refused"), 503),
        (NoCredentialsError(), 502),
    ],
)
def test_each_botocore_failure_reaches_its_exception_handler(error, status):
    result = call(event(), RaisingClient(error))
    assert result["statusCode"] == status
    assert set(json.loads(result["body"])) == {"error"}


def test_a_non_utf8_answer_is_returned_base64_encoded():
    class BinaryEndpoint:
        def invoke_endpoint(self, **_: object) -> dict:
            return {"Body": io.BytesIO(b"\xff\xfe"), "ContentType": "application/octet-stream"}

    result = call(event(), BinaryEndpoint())
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == b"\xff\xfe"
    assert result["headers"]["content-type"] == "application/octet-stream"
