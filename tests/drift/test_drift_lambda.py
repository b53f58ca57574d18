"""The drift Lambda end to end: moto for S3/DynamoDB/Secrets Manager/SageMaker, the fake GitHub
API of the retraining dispatcher's tests on 127.0.0.1, EMF metrics read from standard output."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from mlops_cdk.drift.baseline import BaselineError
from tests.drift.drift_fakes import (
    FEATURES,
    capture_lines,
    scaled,
    training_baseline,
    training_rows,
)
from tests.lambdas.retrain_fakes import PIPELINE, REPOSITORY, TOKEN, FakeGitHub, serve_fake_github

# moto's credentials; never a real account.
for _name, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}.items():
    os.environ.setdefault(_name, _value)

BUCKET = "mlops-dev-artifacts"
PREFIX = "capture/dev/"
BASELINE_KEY = "models/fraud-detection/baseline.json"
SCHEDULED = {"scheduled_time": "2026-12-04T15:00:05Z"}
HOUR = "2026/12/04/14/"


class Context:
    """The Lambda context attributes Powertools reads."""

    function_name = "drift-check"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:drift-check"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with serve_fake_github() as fake:
        yield fake


@pytest.fixture
def s3() -> Iterator:
    """Moto with the artifacts bucket and baseline, idempotency table, token and pipeline."""
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(
            Bucket=BUCKET, Key=BASELINE_KEY, Body=json.dumps(training_baseline()).encode()
        )
        boto3.client("dynamodb").create_table(
            TableName="drift-idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def github_env(monkeypatch, s3, fake_github) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="gh", SecretString=TOKEN)["ARN"]
    env = {
        "ARTIFACTS_BUCKET_NAME": BUCKET,
        "CAPTURE_PREFIX": PREFIX,
        "BASELINE_KEY": BASELINE_KEY,
        "IDEMPOTENCY_TABLE_NAME": "drift-idempotency",
        "DISPATCH_TARGET": "github",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN_SECRET_ARN": arn,
        "GITHUB_API_URL": fake_github.url,
        "DATA_BUCKET_NAME": "mlops-dev-data",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def drift_check(monkeypatch) -> Iterator[ModuleType]:
    """The handler module (Powertools reads its service name when it is first imported)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "drift-check")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MlopsCdk/Drift")
    from mlops_cdk.lambdas.drift_check import handler

    handler._runtime.cache_clear()
    yield handler
    handler._runtime.cache_clear()


def put_capture(s3, key: str, rows) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(capture_lines(rows)).encode() + b"\n")


def drifted(n: int, seed: int = 11) -> list[list[float]]:
    return scaled(training_rows(n, seed=seed), FEATURES.index("amount"), 5.0)


def emf(output: str) -> list[dict]:
    """The EMF documents Powertools printed."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def metric_values(documents: list[dict], name: str) -> list[tuple[dict, float]]:
    """(dimensions, value) of every data point of ``name``."""
    found = []
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if name in [metric["Name"] for metric in directive["Metrics"]]:
                dimensions = {d: document[d] for d in directive["Dimensions"][0]}
                value = document[name]
                found.append((dimensions, value[0] if isinstance(value, list) else value))
    return found


@pytest.mark.usefixtures("github_env")
def test_drifted_window_publishes_psi_and_dispatches_once(drift_check, s3, fake_github, capsys):
    # SageMaker's layout and the EKS one, inside the window; an older hour is not read.
    put_capture(s3, f"{PREFIX}fraud-endpoint/AllTraffic/{HOUR}a.jsonl", drifted(150))
    put_capture(s3, f"{PREFIX}eks/{HOUR}capture-1-2026-12-04-14-10.jsonl", drifted(150, seed=12))
    put_capture(s3, f"{PREFIX}fraud-endpoint/AllTraffic/2026/12/04/13/old.jsonl", drifted(999))

    first = drift_check.handler(SCHEDULED, Context())
    second = drift_check.handler(SCHEDULED, Context())

    assert first["rows"] == second["rows"] == 300
    assert first["files"] == 2
    assert first["drift"] is True and first["max_psi"] > 0.2
    assert first["window"] == "2026-12-04T14:00:00Z/PT1H"
    assert len(fake_github.dispatches) == 1  # the re-run of the window did not dispatch
    body = fake_github.dispatches[0].json()
    assert body["event_type"] == "drift-detected"
    payload = body["client_payload"]
    assert payload["trigger"] == "drift"
    assert payload["bucket"] == "mlops-dev-data" and payload["prefix"] == "incoming/"
    assert payload["keys_truncated"] is True
    assert payload["drift"]["window"] == first["window"]
    assert payload["drift"]["features"]["amount"] > 0.2
    assert len(payload) <= 10
    assert fake_github.dispatches[0].headers["authorization"] == f"Bearer {TOKEN}"

    documents = emf(capsys.readouterr().out)
    max_psi = metric_values(documents, "MaxPsi")
    assert [value for _, value in max_psi] == [first["max_psi"], second["max_psi"]]
    assert max_psi[0][0] == {"service": "drift-check"}
    per_feature = {dims["Feature"]: value for dims, value in metric_values(documents, "Psi")}
    assert set(per_feature) == set(FEATURES)
    assert per_feature["amount"] == pytest.approx(first["max_psi"])
    assert [value for _, value in metric_values(documents, "DriftDispatches")] == [1.0]
    assert metric_values(documents, "CaptureRows")[0][1] == 300


@pytest.mark.usefixtures("github_env")
def test_a_new_window_dispatches_again(drift_check, s3, fake_github):
    put_capture(s3, f"{PREFIX}eks/{HOUR}a.jsonl", drifted(300))
    put_capture(s3, f"{PREFIX}eks/2026/12/04/15/b.jsonl", drifted(300, seed=13))

    drift_check.handler(SCHEDULED, Context())
    drift_check.handler({"scheduled_time": "2026-12-04T16:00:04Z"}, Context())

    assert len(fake_github.dispatches) == 2
    ids = {d.json()["client_payload"]["batch_id"] for d in fake_github.dispatches}
    assert len(ids) == 2


@pytest.mark.usefixtures("github_env")
def test_no_drift_publishes_the_metric_and_does_not_dispatch(drift_check, s3, fake_github, capsys):
    put_capture(s3, f"{PREFIX}eks/{HOUR}a.jsonl", training_rows(2_000, seed=4))

    summary = drift_check.handler(SCHEDULED, Context())

    assert summary["drift"] is False and summary["max_psi"] < 0.05
    assert fake_github.requests == []
    assert metric_values(emf(capsys.readouterr().out), "MaxPsi")[0][1] == summary["max_psi"]


@pytest.mark.usefixtures("github_env")
def test_too_few_rows_publish_the_metric_but_never_dispatch(drift_check, s3, fake_github, capsys):
    put_capture(s3, f"{PREFIX}eks/{HOUR}a.jsonl", drifted(199))

    summary = drift_check.handler(SCHEDULED, Context())

    assert summary["drift"] is True and summary["rows"] == 199
    assert summary["dispatch"] is None
    assert fake_github.requests == []
    assert metric_values(emf(capsys.readouterr().out), "MaxPsi")[0][1] > 0.2


@pytest.mark.usefixtures("github_env")
def test_min_rows_comes_from_the_environment(drift_check, s3, fake_github, monkeypatch):
    monkeypatch.setenv("MIN_ROWS", "100")
    put_capture(s3, f"{PREFIX}eks/{HOUR}a.jsonl", drifted(150))

    drift_check.handler(SCHEDULED, Context())

    assert len(fake_github.dispatches) == 1


@pytest.mark.usefixtures("github_env")
def test_quiet_window_publishes_zero_rows_and_no_psi(drift_check, s3, fake_github, capsys):
    summary = drift_check.handler(SCHEDULED, Context())

    assert summary["rows"] == 0 and summary["dispatch"] is None
    documents = emf(capsys.readouterr().out)
    assert metric_values(documents, "CaptureRows")[0][1] == 0
    assert metric_values(documents, "MaxPsi") == []


@pytest.mark.usefixtures("github_env")
def test_other_model_versions_and_malformed_lines_are_skipped(drift_check, s3, fake_github):
    body = "\n".join([*capture_lines(drifted(300), version="6"), "not json", ""])
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}eks/{HOUR}a.jsonl", Body=body.encode())

    summary = drift_check.handler(SCHEDULED, Context())

    assert (summary["rows"], summary["other_version"], summary["malformed"]) == (0, 300, 1)
    assert fake_github.requests == []


@pytest.mark.usefixtures("github_env")
def test_missing_baseline_fails_naming_the_s3_key(drift_check, s3):
    s3.delete_object(Bucket=BUCKET, Key=BASELINE_KEY)
    with pytest.raises(BaselineError, match=f"no baseline at s3://{BUCKET}/{BASELINE_KEY}"):
        drift_check.handler(SCHEDULED, Context())
    s3.put_object(Bucket=BUCKET, Key=BASELINE_KEY, Body=b'{"format": "other"}')
    with pytest.raises(BaselineError, match=f"s3://{BUCKET}/{BASELINE_KEY}: .*format/version"):
        drift_check.handler(SCHEDULED, Context())


@pytest.mark.usefixtures("github_env")
def test_a_failed_dispatch_is_not_remembered(drift_check, s3, fake_github):
    from mlops_cdk.lambdas.retrain_dispatch.dispatch import PermanentDispatchError

    put_capture(s3, f"{PREFIX}eks/{HOUR}a.jsonl", drifted(300))
    fake_github.script = [422]
    with pytest.raises(PermanentDispatchError, match="HTTP 422"):
        drift_check.handler(SCHEDULED, Context())

    drift_check.handler(SCHEDULED, Context())  # Scheduler's retry

    assert [r.path for r in fake_github.dispatches] == [f"/repos/{REPOSITORY}/dispatches"] * 2


def test_sagemaker_target_starts_the_pipeline_once_per_window(drift_check, s3, monkeypatch):
    role = boto3.client("iam").create_role(RoleName="p", AssumeRolePolicyDocument="{}")
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": []}
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps(definition),
        RoleArn=role["Role"]["Arn"],
    )
    env = {
        "ARTIFACTS_BUCKET_NAME": BUCKET,
        "CAPTURE_PREFIX": PREFIX,
        "BASELINE_KEY": BASELINE_KEY,
        "IDEMPOTENCY_TABLE_NAME": "drift-idempotency",
        "DISPATCH_TARGET": "sagemaker",
        "SAGEMAKER_PIPELINE_NAME": PIPELINE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    put_capture(s3, f"{PREFIX}fraud-endpoint/AllTraffic/{HOUR}a.jsonl", drifted(300))

    first = drift_check.handler(SCHEDULED, Context())
    drift_check.handler(SCHEDULED, Context())

    executions = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)
    assert len(executions["PipelineExecutionSummaries"]) == 1
    assert first["dispatch"]["target"] == "sagemaker"


def test_settings_report_every_problem_at_once(drift_check):
    with pytest.raises(ValueError) as caught:
        drift_check.Settings.from_env(
            {"CAPTURE_PREFIX": "capture/dev", "MIN_ROWS": "many", "DISPATCH_TARGET": "github"}
        )
    message = str(caught.value)
    for expected in (
        "ARTIFACTS_BUCKET_NAME is empty",
        "BASELINE_KEY is empty",
        "IDEMPOTENCY_TABLE_NAME is empty",
        "CAPTURE_PREFIX = 'capture/dev'",
        "MIN_ROWS = 'many'",
        "GITHUB_REPOSITORY = ''",
        "GITHUB_TOKEN_SECRET_ARN is empty",
    ):
        assert expected in message
    with pytest.raises(ValueError, match="SAGEMAKER_PIPELINE_NAME is empty"):
        drift_check.Settings.from_env({"DISPATCH_TARGET": "sagemaker"})
    with pytest.raises(ValueError, match="DRIFT_THRESHOLD must be > 0"):
        drift_check.Settings.from_env({"DRIFT_THRESHOLD": "0"})


def test_window_is_the_whole_hours_before_the_scheduled_time(drift_check):
    from mlops_cdk.lambdas.drift_check.window import Window, parse_time

    window = Window.ending_at(parse_time("2026-12-05T00:00:30Z"), 2)
    assert window.hour_folders() == ["2026/12/04/22/", "2026/12/04/23/"]
    assert window.label == "2026-12-04T22:00:00Z/PT2H"
    assert drift_check.window_of({"window_end": "2026-12-04T10:59:59+00:00"}, 1).label == (
        "2026-12-04T09:00:00Z/PT1H"
    )
    assert drift_check.window_of({}, 1).start < datetime.now(UTC)
    with pytest.raises(ValueError, match="has no zone"):
        parse_time("2026-12-04T15:00:00")
