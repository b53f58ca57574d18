"""scripts/smoke_test.py against a real HTTP server on 127.0.0.1.

The server stands in for the HTTP API's IAM authorizer: with ``require_sigv4`` it answers 403,
as API Gateway does, unless the request carries a SigV4 ``Authorization`` header for
``execute-api`` and an ``X-Amz-Date``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from scripts.smoke_test import SmokeTestError, main, smoke_test, url_from_outputs

SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/(?P<region>[a-z0-9-]+)/execute-api/"
    r"aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"
)


def sigv4_problem(headers) -> str | None:
    """Why API Gateway's IAM authorizer would refuse these headers, or None."""
    match = SIGV4.match(headers.get("Authorization", ""))
    if not match:
        return f"Authorization {headers.get('Authorization')!r} is not a SigV4 execute-api one"
    if not {"host", "x-amz-date"} <= set(match["signed"].split(";")):
        return "host and x-amz-date must be signed"
    if not re.match(r"^\d{8}T\d{6}Z$", headers.get("X-Amz-Date", "")):
        return "X-Amz-Date missing"
    return None


class Handler(BaseHTTPRequestHandler):
    responses: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[dict]] = []
    require_sigv4: ClassVar[bool] = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Handler.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload = Handler.responses.get(self.path, (404, b"{}"))
        if Handler.require_sigv4 and (problem := sigv4_problem(self.headers)):
            status, payload = 403, json.dumps({"message": problem}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def credentials(monkeypatch) -> None:
    """Static credentials, like the deploy role's; no profile or config file of this machine."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "SMOKE_BEARER_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.responses, Handler.seen, Handler.require_sigv4 = {}, [], True
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


PATH = "/v1/models/fraud-detection:predict"


def test_a_probability_passes_and_the_contract_request_is_sent(server):
    Handler.responses[PATH] = (200, b'{"predictions": [0.92]}')
    assert smoke_test(server, region="us-east-1") == [0.92]
    (request,) = Handler.seen
    assert json.loads(request["body"]) == {"instances": [[1000, 45, 0.67]]}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b'{"predictions": [1.5]}', "1.5 is not a probability"),
        (200, b'{"predictions": []}', "no non-empty 'predictions'"),
        (200, b"<html>", "not JSON"),
        (200, b'{"predictions": [true]}', "True is not a probability"),
        (500, b'{"error": "boom"}', "returned 500"),
    ],
)
def test_a_broken_contract_fails_with_a_clear_message(server, status, body, message):
    Handler.responses[PATH] = (status, body)
    with pytest.raises(SmokeTestError, match=message):
        smoke_test(server, region="us-east-1")


@pytest.mark.parametrize("stack", ["MlopsCdk-dev-EksServing", "MlopsCdk-dev-SageMakerServing"])
def test_the_same_signed_request_works_on_both_serving_paths(
    server, tmp_path, capsys, monkeypatch, stack
):
    """What ``make smoke-test OUTPUTS=cdk-outputs.json`` runs after a deploy, on either path."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({stack: {"PredictUrl": server + PATH, "ApiUrl": server}}))
    Handler.responses[PATH] = (200, b'{"predictions": [0.1]}')
    assert main(["--outputs-file", str(outputs)]) == 0
    headers = Handler.seen[-1]["headers"]
    assert sigv4_problem(headers) is None
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    Handler.responses[PATH] = (200, b'{"predictions": [-1]}')
    assert main(["--outputs-file", str(outputs)]) == 1
    assert "smoke test FAILED" in capsys.readouterr().err


def test_an_unsigned_request_is_refused_like_the_iam_authorizer_does(server, capsys):
    Handler.responses[PATH] = (200, b'{"predictions": [0.1]}')
    assert main(["--url", server, "--unsigned"]) == 1
    assert "returned 403" in capsys.readouterr().err
    Handler.require_sigv4 = False  # front_door=public_alb: no API Gateway, no signature
    assert main(["--url", server, "--unsigned"]) == 0
    assert "Authorization" not in Handler.seen[-1]["headers"]


def test_the_header_check_rejects_a_request_signed_for_another_service():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url="https://x.example.com" + PATH, data=b"{}")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "sagemaker", "us-east-1").add_auth(request)
    assert "not a SigV4 execute-api" in sigv4_problem(dict(request.headers.items()))


def test_a_missing_output_names_the_outputs_there_are(tmp_path):
    outputs = tmp_path / "o.json"
    outputs.write_text(json.dumps({"S": {"ApiUrl": "x"}}))
    with pytest.raises(SmokeTestError, match=r"outputs are \['ApiUrl'\]"):
        url_from_outputs(outputs, "PredictUrl")


def test_a_jwt_comes_from_the_environment_instead_of_a_signature(server, monkeypatch):
    monkeypatch.setenv("SMOKE_BEARER_TOKEN", "token-123")
    Handler.require_sigv4 = False
    Handler.responses[PATH] = (200, b'{"predictions": [0.5]}')
    smoke_test(server, region="us-east-1")
    assert Handler.seen[-1]["headers"]["Authorization"] == "Bearer token-123"


def test_signing_needs_credentials_and_a_region(server, monkeypatch):
    with pytest.raises(SmokeTestError, match="needs --region or AWS_REGION"):
        smoke_test(server)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SmokeTestError, match="needs AWS credentials"):
        smoke_test(server, region="us-east-1")


def test_the_region_of_an_execute_api_url_is_used_and_the_model_is_in_the_path():
    from scripts.smoke_test import build_request, predict_url

    url = "https://abc123.execute-api.ap-south-1.amazonaws.com"
    assert predict_url(url, "churn") == url + "/v1/models/churn:predict"
    request = build_request(predict_url(url), sign=True, region=None)
    assert "/ap-south-1/execute-api/aws4_request" in request.get_header("Authorization")
