"""scripts/smoke_test.py against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from scripts.smoke_test import SmokeTestError, main, smoke_test, url_from_outputs


class Handler(BaseHTTPRequestHandler):
    responses: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Handler.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload = Handler.responses.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.responses, Handler.seen = {}, []
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


PATH = "/v1/models/fraud-detection:predict"


def test_a_probability_passes_and_the_contract_request_is_sent(server):
    Handler.responses[PATH] = (200, b'{"predictions": [0.92]}')
    assert smoke_test(server) == [0.92]
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
        smoke_test(server)


def test_cli_reads_the_url_from_cdk_outputs_and_exits_nonzero_on_failure(server, tmp_path, capsys):
    outputs = tmp_path / "cdk-outputs.json"
    outputs.write_text(json.dumps({"MlopsCdk-dev-Serving": {"PredictUrl": server + PATH}}))
    Handler.responses[PATH] = (200, b'{"predictions": [0.1]}')
    assert main(["--outputs-file", str(outputs)]) == 0
    Handler.responses[PATH] = (200, b'{"predictions": [-1]}')
    assert main(["--outputs-file", str(outputs)]) == 1
    assert "smoke test FAILED" in capsys.readouterr().err


def test_a_missing_output_names_the_outputs_there_are(tmp_path):
    outputs = tmp_path / "o.json"
    outputs.write_text(json.dumps({"S": {"ApiUrl": "x"}}))
    with pytest.raises(SmokeTestError, match=r"outputs are \['ApiUrl'\]"):
        url_from_outputs(outputs, "PredictUrl")


def test_sigv4_signs_the_request_and_api_keys_come_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("SMOKE_API_KEY", "key-123")
    Handler.responses[PATH] = (200, b'{"predictions": [0.5]}')
    smoke_test(server, sigv4=True, region="us-east-1")
    headers = {k.lower(): v for k, v in Handler.seen[-1]["headers"].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-api-key"] == "key-123"
