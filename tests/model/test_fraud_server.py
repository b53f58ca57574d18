import http.client
import json
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import numpy as np
import pytest
from fraud_model import server
from fraud_model.schema import FEATURES

PREDICT = "/v1/models/fraud-detection:predict"
INFER = "/v2/models/fraud-detection/infer"
ROW = [1000, 45, 0.67]


def request(url: str, method: str, path: str, body: bytes | str | None = None, **kwargs):
    """Send one request; return (status, headers, decoded JSON or text)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        payload = body.encode() if isinstance(body, str) else body
        connection.request(method, path, body=payload, **kwargs)
        response = connection.getresponse()
        raw = response.read()
        content_type = response.getheader("content-type", "")
        decoded = json.loads(raw) if content_type.startswith("application/json") else raw.decode()
        return response.status, response, decoded
    finally:
        connection.close()


def post_json(url: str, path: str, payload) -> tuple[int, dict]:
    status, _, body = request(url, "POST", path, json.dumps(payload))
    return status, body


def expected_probabilities(served_model, rows):
    classifier, _ = served_model
    import pandas as pd

    return classifier.predict_proba(pd.DataFrame(rows, columns=list(FEATURES)))[:, 1]


def test_single_row_gives_one_probability(server_url, served_model):
    status, body = post_json(server_url, PREDICT, {"instances": ROW})
    assert status == 200
    assert list(body) == ["predictions"]
    (probability,) = body["predictions"]
    assert isinstance(probability, float)
    assert 0 <= probability <= 1
    np.testing.assert_allclose(probability, expected_probabilities(served_model, [ROW]), atol=1e-5)


def test_single_rows_on_thresholds_extremes_and_integers_give_the_models_probability(
    server_url, served_model
):
    """The server answers from the lookup table: exact to float32 rounding, even on a split."""
    from fraud_model.fastpath import split_thresholds

    amount, distance, risk = split_thresholds(served_model[0])
    rows = [
        [float(amount[3]), 45, 0.67],
        [1000, float(distance[-1]), float(risk[0])],
        [float(np.nextafter(amount[3], np.inf)), 45, 0.67],
        [3.4e38, -3.4e38, 0],
        [0, 0, 0],
        [12, 3, 1],
        [80.5, 12.25, 0.3],
    ]
    served = [
        post_json(server_url, PREDICT, {"instances": row})[1]["predictions"][0] for row in rows
    ]
    np.testing.assert_allclose(
        served, expected_probabilities(served_model, rows), atol=1e-6, rtol=0
    )
    status, body = post_json(server_url, PREDICT, {"instances": rows})
    assert status == 200
    assert body["predictions"] == served


def test_list_of_rows_gives_one_prediction_per_row(server_url, served_model):
    rows = [ROW, [12.5, 2, 0.05], [300, 0, 0.4]]
    status, body = post_json(server_url, PREDICT, {"instances": rows})
    assert status == 200
    np.testing.assert_allclose(
        body["predictions"], expected_probabilities(served_model, rows), atol=1e-5
    )


def test_v1_model_ready_and_list(server_url):
    assert request(server_url, "GET", "/v1/models/fraud-detection")[2] == {
        "name": "fraud-detection",
        "ready": True,
    }
    assert request(server_url, "GET", "/v1/models")[2] == {"models": ["fraud-detection"]}


@pytest.mark.parametrize("data", [[*ROW, 12.5, 2, 0.05], [ROW, [12.5, 2, 0.05]]])
@pytest.mark.parametrize("datatype", ["FP32", "FP64"])
def test_v2_infer_flat_or_nested(server_url, served_model, data, datatype):
    tensor = {"name": "input", "shape": [2, 3], "datatype": datatype, "data": data}
    status, body = post_json(server_url, INFER, {"id": "req-1", "inputs": [tensor]})
    assert status == 200
    assert body["model_name"] == "fraud-detection"
    assert body["model_version"] == "7"
    assert body["id"] == "req-1"
    (output,) = body["outputs"]
    assert output["shape"] == [2]
    assert output["datatype"] == "FP32"
    expected = expected_probabilities(served_model, [ROW, [12.5, 2, 0.05]])
    np.testing.assert_allclose(output["data"], expected, atol=1e-5)


def test_v2_response_gets_an_id_when_the_request_has_none(server_url):
    tensor = {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ROW}
    status, body = post_json(server_url, INFER, {"inputs": [tensor]})
    assert status == 200
    assert isinstance(body["id"], str)
    assert body["id"]


def test_v2_metadata_and_health(server_url):
    metadata = request(server_url, "GET", "/v2/models/fraud-detection")[2]
    assert metadata["name"] == "fraud-detection"
    assert metadata["versions"] == ["7"]
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 3]}]
    assert metadata["platform"] == "lookup_table"
    assert request(server_url, "GET", "/v2/models/fraud-detection/ready")[2]["ready"] is True
    assert request(server_url, "GET", "/v2/health/live")[2]["live"] is True
    assert request(server_url, "GET", "/v2/health/ready")[2]["ready"] is True
    assert request(server_url, "GET", "/")[0] == 200
    assert request(server_url, "GET", "/v2")[2]["name"] == "fraud-model-server"


def test_sagemaker_ping_and_invocations(server_url, served_model):
    assert request(server_url, "GET", "/ping")[0] == 200
    status, body = post_json(server_url, "/invocations", {"instances": ROW})
    assert status == 200
    np.testing.assert_allclose(
        body["predictions"], expected_probabilities(served_model, [ROW]), atol=1e-5
    )


def test_metrics_count_requests_and_latency(server_url):
    post_json(server_url, PREDICT, {"instances": ROW})
    post_json(server_url, PREDICT, {"instances": []})
    status, response, text = request(server_url, "GET", "/metrics")
    assert status == 200
    assert response.getheader("content-type").startswith("text/plain")
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['fraud_model_requests_total{code="200",route="v1_predict"}'] >= 1
    assert samples['fraud_model_requests_total{code="400",route="v1_predict"}'] >= 1
    assert samples['fraud_model_request_duration_seconds_count{route="v1_predict"}'] >= 2
    assert 'fraud_model_request_duration_seconds_bucket{le="0.005",route="v1_predict"}' in samples
    assert samples["fraud_model_predicted_rows_total"] >= 1


def test_metric_names_match_what_the_eks_collector_exports(server_url):
    """The ADOT collector on EKS selects these families and routes by name; keep them in step."""
    from prometheus_client.parser import text_string_to_metric_families

    from mlops_cdk.k8s import adot

    post_json(server_url, PREDICT, {"instances": ROW})
    post_json(
        server_url,
        INFER,
        {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ROW}]},
    )
    post_json(server_url, "/invocations", {"instances": ROW})
    _, _, text = request(server_url, "GET", "/metrics")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # The collector's Prometheus receiver names counters <family>_total, histograms <family>.
    assert families["fraud_model_requests"].type == "counter"
    assert adot.MODEL_REQUESTS == "fraud_model_requests_total"
    assert families["fraud_model_predicted_rows"].type == "counter"
    assert adot.MODEL_ROWS == "fraud_model_predicted_rows_total"
    assert families[adot.MODEL_LATENCY].type == "histogram"
    served = {
        sample.labels["route"]
        for sample in families["fraud_model_requests"].samples
        if sample.labels.get("code") == "200"
    }
    assert set(adot.PREDICT_ROUTES) <= served


BAD_V1 = [
    ("not json", "request body is not valid JSON"),
    ("", "request body is not valid JSON"),
    ("[1000, 45, 0.67]", "must be a JSON object"),
    ('{"rows": [1000, 45, 0.67]}', 'missing "instances"'),
    ('{"instances": "1000, 45, 0.67"}', '"instances" is str; expected a list'),
    ('{"instances": []}', '"instances" is empty'),
    ('{"instances": [1000, 45]}', "instances[0] has 2 values; expected 3 (amount, "),
    ('{"instances": [1000, 45, 0.67, 1]}', "instances[0] has 4 values; expected 3"),
    ('{"instances": [[1000, 45, 0.67], [1, 2]]}', "instances[1] has 2 values"),
    ('{"instances": [[1000, 45, 0.67], 5]}', "instances[1] is int; expected a list of numbers"),
    ('{"instances": [[]]}', "instances[0] has 0 values"),
    (
        '{"instances": [1000, "45", 0.67]}',
        'instances[0] contains "45"; every feature must be a number',
    ),
    ('{"instances": [1000, null, 0.67]}', "instances[0] contains null"),
    ('{"instances": [1000, true, 0.67]}', "instances[0] contains true"),
    ('{"instances": [1000, NaN, 0.67]}', "NaN is not a valid feature value"),
    ('{"instances": [1000, -Infinity, 0.67]}', "-Infinity is not a valid feature value"),
    ('{"instances": [1e39, 45, 0.67]}', "within the 32-bit float range"),
    ('{"instances": [1e999, 45, 0.67]}', "instances[0] contains inf"),
    ('{"instances": [10000000000000000000000000000000000000000, 45, 0.67]}', "32-bit float range"),
]


@pytest.mark.parametrize(("body", "message"), BAD_V1)
@pytest.mark.parametrize("path", [PREDICT, "/invocations"])
def test_bad_v1_input_is_a_400_that_names_the_problem(server_url, path, body, message):
    status, _, answer = request(server_url, "POST", path, body)
    assert status == 400
    assert message in answer["error"]


def _tensor(**overrides):
    return {
        "inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ROW} | overrides]
    }


BAD_V2 = [
    ({"instances": ROW}, 'an "inputs" list of tensors'),
    ({"inputs": []}, '"inputs" has 0 entries; expected exactly one'),
    ({"inputs": [_tensor()["inputs"][0]] * 2}, '"inputs" has 2 entries'),
    (_tensor(datatype="INT64"), '"datatype" is "INT64"; expected one of'),
    (_tensor(shape=[1, 2], data=[1, 2]), '"shape" is [1, 2]; expected [n, 3]'),
    (_tensor(shape=[0, 3], data=[]), '"shape" is [0, 3]'),
    (_tensor(shape=[2, 3]), '"data" does not hold shape [2, 3]: send 6 numbers'),
    (_tensor(data=[1000, 45]), '"data" does not hold shape [1, 3]'),
    (_tensor(data="1000,45,0.67"), '"data" must be a list'),
    (_tensor(data=[1000, "x", 0.67]), 'data[0] contains "x"'),
]


@pytest.mark.parametrize(("payload", "message"), BAD_V2)
def test_bad_v2_input_is_a_400_that_names_the_problem(server_url, payload, message):
    status, body = post_json(server_url, INFER, payload)
    assert status == 400
    assert message in body["error"]


def test_nan_in_v2_data_is_refused(server_url):
    body = (
        '{"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [NaN, 1, 2]}]}'
    )
    status, _, answer = request(server_url, "POST", INFER, body)
    assert status == 400
    assert "NaN is not a valid feature value" in answer["error"]


def raw_exchange(url: str, data: bytes) -> bytes:
    """Send raw bytes, stop sending, and read the whole answer until the server closes."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65_536):
            answer += chunk
    return answer


def test_oversized_body_is_refused_from_its_content_length(server_url):
    """The server answers 413 from the header alone, without reading the body."""
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: test\r\nContent-Length: 20000000\r\n\r\n"
    answer = raw_exchange(server_url, head.encode() + b'{"instances": [')
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"connection: close" in rest.lower()
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1]) == {
        "error": f"request body exceeds {server.DEFAULT_MAX_BODY_BYTES} bytes"
    }


def test_oversized_chunked_body_is_refused_while_reading(server_url):
    """Without a Content-Length, the server counts the bytes and stops past the limit."""
    size = server.DEFAULT_MAX_BODY_BYTES + 1
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = f"{size:x}\r\n".encode() + b" " * size + b"\r\n"
    answer = raw_exchange(server_url, head.encode() + chunk)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"request body exceeds" in answer


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models/other:predict"),
        ("GET", "/v1/models/other"),
        ("POST", "/v2/models/other/infer"),
        ("GET", "/v2/models/other"),
        ("GET", "/v2/models/other/ready"),
    ],
)
def test_unknown_model_is_a_404(server_url, method, path):
    status, _, answer = request(server_url, method, path, "{}" if method == "POST" else None)
    assert status == 404
    assert answer["error"] == "model 'other' not found; this server serves 'fraud-detection'"


def test_unknown_path_is_a_404_and_wrong_method_a_405(server_url):
    assert request(server_url, "GET", "/v3/anything")[0] == 404
    assert request(server_url, "GET", PREDICT)[0] == 405
    assert request(server_url, "GET", "/invocations")[0] == 405
    assert request(server_url, "POST", "/ping", "{}")[0] == 405


def test_server_keeps_serving_after_bad_input(server_url):
    for body, _ in BAD_V1:
        request(server_url, "POST", PREDICT, body)
    status, body = post_json(server_url, PREDICT, {"instances": ROW})
    assert status == 200
    assert len(body["predictions"]) == 1


def test_missing_model_fails_at_start_with_a_clear_message(tmp_path, capsys):
    assert server.main(["--model-dir", str(tmp_path)]) == 1
    assert f"no model.onnx in MODEL_DIR={tmp_path}; run `make train`" in capsys.readouterr().err


def test_server_imports_neither_scikit_learn_nor_mlflow():
    """The image ships only requirements-serve.txt, so the server must not need the rest."""
    code = (
        "import sys, fraud_model.server; "
        "print(sorted(m for m in ('sklearn', 'mlflow', 'pandas', 'joblib') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": server.__file__.rsplit("/fraud_model/", 1)[0]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.strip() == "[]"


def test_request_metrics_expose_what_prometheus_client_would():
    """The plain-int counters must give the same exposition as prometheus_client's own metrics."""
    import prometheus_client

    ours = server.RequestMetrics()
    registry = prometheus_client.CollectorRegistry()
    requests = prometheus_client.Counter(
        "fraud_model_requests",
        "HTTP requests by route and status code.",
        ["route", "code"],
        registry=registry,
    )
    latency = prometheus_client.Histogram(
        "fraud_model_request_duration_seconds",
        "Time from the request's arrival to its response, by route.",
        ["route"],
        buckets=server.LATENCY_BUCKETS,
        registry=registry,
    )
    rows = prometheus_client.Counter(
        "fraud_model_predicted_rows", "Rows scored by the model.", registry=registry
    )
    # Bucket bounds themselves, values between and beyond them, for two routes and codes.
    observations = [
        (route, code, seconds)
        for seconds in (*server.LATENCY_BUCKETS[:-1], 0.0, 3e-4, 7e-3, 2.5)
        for route, code in (("v1_predict", 200), ("v1_predict", 400), ("v2_infer", 200))
    ]
    for route, code, seconds in observations:
        ours.observe(route, code, seconds)
        requests.labels(route, str(code)).inc()
        latency.labels(route).observe(seconds)
    ours.rows += 5
    rows.inc(5)
    ours_registry = prometheus_client.CollectorRegistry()
    ours_registry.register(ours)

    def exposition(registry):
        return [
            line
            for line in prometheus_client.generate_latest(registry).decode().splitlines()
            if "_created" not in line
        ]

    assert exposition(ours_registry) == exposition(registry)
    assert 'fraud_model_request_duration_seconds_bucket{le="0.0005",route="v1_predict"} 6.0' in (
        exposition(ours_registry)
    )
