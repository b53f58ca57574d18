"""Hostile input and load on the model server: nesting, binary tensors, limits and timeouts."""

import http.client
import json
import socket
import subprocess
from urllib.parse import urlsplit

import numpy as np
import pytest
import tritonclient.http as triton
from fraud_model import server
from server_process import running_server
from test_fraud_server import INFER, PREDICT, ROW, expected_probabilities

from tests.conftest import ROOT

ROWS = [ROW, [12.5, 2, 0.05], [3.4e38, -3.4e38, 0]]
BINARY_HEADER = "Inference-Header-Content-Length"


def post(url: str, path: str, body: bytes, headers: dict | None = None):
    """POST ``body``; return (status, response, decoded JSON or the raw bytes)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        is_json = response.getheader("content-type", "").startswith("application/json")
        return response.status, response, json.loads(raw) if is_json else raw
    finally:
        connection.close()


@pytest.mark.parametrize("path", [PREDICT, INFER, "/invocations"])
@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_json_nested_past_the_recursion_limit_is_a_400(server_url, path, depth):
    status, _, answer = post(server_url, path, b"[" * depth + b"]" * depth)
    assert status == 400
    assert answer["error"].startswith("request body is not valid JSON: ")
    assert len(answer["error"]) < 200


@pytest.mark.parametrize("path", [PREDICT, INFER])
def test_a_deeply_nested_value_is_a_400_with_a_bounded_message(server_url, path):
    nested = "[" * 900 + "]" * 900
    body = {
        PREDICT: f'{{"instances": [1, {nested}, 2]}}',
        INFER: f'{{"inputs": [{{"name": "input", "shape": [1, 3], "datatype": "FP32",'
        f' "data": [1, {nested}, 2]}}]}}',
    }[path]
    status, _, answer = post(server_url, path, body.encode())
    assert status == 400
    assert "every feature must be a number" in answer["error"]
    assert len(answer["error"]) < 250


def test_error_messages_quote_a_bounded_prefix_of_the_value(server_url):
    huge = "x" * 100_000
    status, _, answer = post(server_url, PREDICT, json.dumps({"instances": [1, huge, 2]}).encode())
    assert status == 400
    assert '"xxxx' in answer["error"]
    assert len(answer["error"]) < 250
    status, _, answer = post(server_url, PREDICT, b'{"instances": [' + b"9" * 4000 + b", 1, 2]}")
    assert status == 400
    assert len(answer["error"]) < 250


@pytest.mark.parametrize("data", [[ROW, 5], [ROW, "abc"], [ROW, None]])
def test_v2_data_nested_with_a_non_list_row_is_a_400(server_url, data):
    tensor = {"name": "input", "shape": [2, 3], "datatype": "FP32", "data": data}
    status, _, answer = post(server_url, INFER, json.dumps({"inputs": [tensor]}).encode())
    assert status == 400
    assert "data[1] is " in answer["error"]
    assert "nest every row" in answer["error"]


@pytest.fixture(scope="module")
def triton_client(server_url):
    client = triton.InferenceServerClient(urlsplit(server_url).netloc)
    yield client
    client.close()


@pytest.mark.parametrize(("datatype", "dtype"), [("FP32", np.float32), ("FP64", np.float64)])
def test_tritons_client_with_binary_inputs_and_outputs(
    triton_client, served_model, datatype, dtype
):
    tensor = triton.InferInput("input", [len(ROWS), 3], datatype)
    tensor.set_data_from_numpy(np.array(ROWS, dtype=dtype), binary_data=True)

    result = triton_client.infer("fraud-detection", [tensor], request_id="bin-1")

    probabilities = result.as_numpy("probability")
    assert probabilities.dtype == dtype
    assert probabilities.shape == (len(ROWS),)
    assert result.get_response()["id"] == "bin-1"
    np.testing.assert_allclose(probabilities, expected_probabilities(served_model, ROWS), atol=1e-5)


@pytest.mark.parametrize("binary_input", [True, False])
def test_tritons_client_asking_for_json_outputs(triton_client, served_model, binary_input):
    tensor = triton.InferInput("input", [1, 3], "FP32")
    tensor.set_data_from_numpy(np.array([ROW], dtype=np.float32), binary_data=binary_input)
    outputs = [triton.InferRequestedOutput("probability", binary_data=False)]

    result = triton_client.infer("fraud-detection", [tensor], outputs=outputs)

    (output,) = result.get_response()["outputs"]
    assert output["datatype"] == "FP32"
    assert "parameters" not in output
    np.testing.assert_allclose(
        output["data"], expected_probabilities(served_model, [ROW]), atol=1e-5
    )


def binary_request(
    rows, *, datatype="FP32", shape=None, size=None, header_length=None, extra=b""
) -> tuple[bytes, dict]:
    """A binary-extension request, with any of its parts overridden."""
    tensor_bytes = np.array(rows, dtype=server.V2_NUMPY_DTYPES[datatype]).tobytes() + extra
    declared = len(tensor_bytes) if size is None else size
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": shape or [len(rows), 3],
                    "datatype": datatype,
                    "parameters": {"binary_data_size": declared},
                }
            ]
        }
    ).encode()
    length = str(len(header)) if header_length is None else header_length
    return header + tensor_bytes, {BINARY_HEADER: length}


def test_a_binary_request_built_by_hand_gets_a_binary_answer(server_url, served_model):
    body, headers = binary_request(ROWS, datatype="FP64")
    header_body = json.loads(body[: int(headers[BINARY_HEADER])])
    header_body["parameters"] = {"binary_data_output": True}
    header = json.dumps(header_body).encode()
    body = header + body[int(headers[BINARY_HEADER]) :]

    status, response, raw = post(server_url, INFER, body, {BINARY_HEADER: str(len(header))})

    assert status == 200
    assert response.getheader("content-type") == "application/octet-stream"
    length = int(response.getheader(BINARY_HEADER))
    answer = json.loads(raw[:length])
    (output,) = answer["outputs"]
    assert output == {
        "name": "probability",
        "shape": [3],
        "datatype": "FP64",
        "parameters": {"binary_data_size": 24},
    }
    probabilities = np.frombuffer(raw[length:], dtype="<f8")
    np.testing.assert_allclose(probabilities, expected_probabilities(served_model, ROWS), atol=1e-5)


BAD_BINARY = [
    (dict(header_length="abc"), 'Inference-Header-Content-Length is "abc"'),
    (dict(header_length="0"), "expected the JSON header's length in bytes"),
    (dict(header_length="-5"), "Inference-Header-Content-Length is"),
    (dict(header_length="99999999"), "1 to "),
    (dict(header_length="10"), "request body is not valid JSON"),
    (dict(extra=b"\x00"), "shape [3, 3] of FP32 needs 36 bytes"),
    (dict(size=12), '"binary_data_size" is 12; shape [3, 3] of FP32 needs 36'),
    (dict(size="36"), '"binary_data_size" is "36"'),
    (dict(shape=[2, 3]), "shape [2, 3] of FP32 needs 24 bytes"),
    (dict(datatype="FP64", size=36), "shape [3, 3] of FP64 needs 72 bytes"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_BINARY)
def test_malformed_binary_requests_are_a_400(server_url, overrides, message):
    body, headers = binary_request(ROWS, **overrides)
    status, _, answer = post(server_url, INFER, body, headers)
    assert status == 400
    assert message in answer["error"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e39])
def test_binary_values_outside_float32_are_a_400(server_url, value):
    body, headers = binary_request([[1000, value, 0.5]], datatype="FP64")
    status, _, answer = post(server_url, INFER, body, headers)
    assert status == 400
    assert "every feature must be a finite number" in answer["error"]


def test_binary_size_without_the_header_and_bytes_without_a_size_are_a_400(server_url):
    body, headers = binary_request([ROW])
    header = body[: int(headers[BINARY_HEADER])]
    status, _, answer = post(server_url, INFER, header)
    assert status == 400
    assert "needs the Inference-Header-Content-Length header" in answer["error"]
    plain = json.dumps(
        {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ROW}]}
    ).encode()
    status, _, answer = post(server_url, INFER, plain + b"1234", {BINARY_HEADER: str(len(plain))})
    assert status == 400
    assert 'declares no "binary_data_size"' in answer["error"]


def test_unknown_requested_outputs_are_a_400(server_url):
    tensor = {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ROW}
    body = {"inputs": [tensor], "outputs": [{"name": "logits"}]}
    status, _, answer = post(server_url, INFER, json.dumps(body).encode())
    assert status == 400
    assert "may only request 'probability'" in answer["error"]


@pytest.fixture(scope="module")
def limited_server_url(served_model):
    """A server that takes 2 requests at once and 1 s to receive headers."""
    options = ("--max-concurrent-requests", "2", "--header-timeout", "1")
    with running_server(served_model[1], *options) as url:
        yield url


def open_stalled_request(url: str) -> socket.socket:
    """Send a request's headers and half its body, so it stays in progress."""
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=10)
    body = json.dumps({"instances": ROW}).encode()
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n"
    connection.sendall(head.encode() + body[:5])
    return connection


def test_requests_beyond_the_concurrency_limit_get_a_503_not_a_queue(limited_server_url):
    stalled = [open_stalled_request(limited_server_url) for _ in range(2)]
    try:
        answers = [
            post(limited_server_url, PREDICT, json.dumps({"instances": ROW}).encode())
            for _ in range(50)
        ]
        busy = [answer for answer in answers if answer[0] == 503]
        assert busy, [answer[0] for answer in answers]
        _, response, body = busy[0]
        assert response.getheader("retry-after") == "1"
        assert "server busy: 2 requests in progress" in body["error"]
    finally:
        body = json.dumps({"instances": ROW}).encode()
        for connection in stalled:
            connection.sendall(body[5:])
            assert connection.recv(65_536).startswith(b"HTTP/1.1 200 ")
            connection.close()
    assert post(limited_server_url, PREDICT, json.dumps({"instances": ROW}).encode())[0] == 200


def test_clients_that_hang_up_mid_body_give_their_slots_back(limited_server_url):
    body = json.dumps({"instances": ROW}).encode()
    for _ in range(3):  # more hang-ups than slots: a leaked slot would show as a 503
        for connection in [open_stalled_request(limited_server_url) for _ in range(2)]:
            connection.close()
        statuses = [post(limited_server_url, PREDICT, body)[0] for _ in range(20)]
        assert statuses[-1] == 200, statuses


@pytest.mark.parametrize("sent", [b"", b"POST /v1/models/fraud-detection:predict HTTP/1.1\r\nHo"])
def test_a_connection_whose_headers_stall_is_closed(limited_server_url, sent):
    parts = urlsplit(limited_server_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as connection:
        connection.sendall(sent)
        assert connection.recv(65_536) == b""  # closed by the server, not timed out here


def test_keep_alive_outlasts_the_load_balancers_idle_timeout_and_connections_are_bounded(
    served_model,
):
    args = server.parse_args([])
    config = server.server_config(server.FraudModel(served_model[1]), args)
    alb_idle_timeout = 60
    assert config.timeout_keep_alive > alb_idle_timeout
    assert config.limit_concurrency == server.DEFAULT_MAX_CONNECTIONS
    assert issubclass(config.http, server.HeaderTimeoutProtocol)
    assert config.http.header_timeout == server.DEFAULT_HEADER_TIMEOUT
    assert config.app.max_concurrent_requests == server.DEFAULT_MAX_CONCURRENT_REQUESTS


def test_the_server_binds_loopback_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("HOST", raising=False)
    assert server.parse_args([]).host == "127.0.0.1"
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert server.parse_args([]).host == "0.0.0.0"


def make_dry_run(*variables: str) -> str:
    command = ["make", "-n", "serve", *variables]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_serve_binds_loopback_by_default_and_the_image_all_interfaces():
    assert "fraud_model.server --host '127.0.0.1' --port '8080'" in make_dry_run()
    assert "fraud_model.server --host '0.0.0.0' --port '8080'" in make_dry_run("HOST=0.0.0.0")
    dockerfile = (ROOT / "model" / "Dockerfile").read_text()
    assert "HOST=0.0.0.0" in dockerfile
