"""Fixtures for the retrain_dispatch handler: a fake GitHub API on 127.0.0.1 and moto for AWS."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from moto import mock_aws
from retrain_fakes import BUCKET, PIPELINE, REPOSITORY, TOKEN, FakeGitHub, serve_fake_github

# Powertools reads these when the handler module is imported, so they are set before any test.
os.environ.update(
    {
        "POWERTOOLS_SERVICE_NAME": "retrain-dispatch",
        "POWERTOOLS_METRICS_NAMESPACE": "MlopsCdkTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """Serve the fake GitHub API on an ephemeral loopback port for one test."""
    with serve_fake_github() as fake:
        yield fake


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    """Moto-backed secret holding the token, idempotency table and SageMaker pipeline."""
    with mock_aws():
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="github-token", SecretString=TOKEN
        )["ARN"]
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        role_arn = boto3.client("iam").create_role(
            RoleName="pipeline", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        definition = {
            "Version": "2020-12-01",
            "Parameters": [
                {"Name": "InputBucket", "Type": "String"},
                {"Name": "InputPrefix", "Type": "String"},
            ],
            "Steps": [],
        }
        boto3.client("sagemaker").create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps(definition),
            RoleArn=role_arn,
        )
        yield {"secret_arn": secret_arn, "table": "idempotency"}


@pytest.fixture
def github_env(
    monkeypatch: pytest.MonkeyPatch, fake_github: FakeGitHub, aws: dict[str, str]
) -> dict[str, str]:
    """Environment of a GitHub-target function pointed at the fake API."""
    env = {
        "DISPATCH_TARGET": "github",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN_SECRET_ARN": aws["secret_arn"],
        "GITHUB_API_URL": fake_github.url,
        "IDEMPOTENCY_TABLE_NAME": aws["table"],
        "DATA_BUCKET_NAME": BUCKET,
        "DISPATCH_BACKOFF_SECONDS": "0.01",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def sagemaker_env(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> dict[str, str]:
    """Environment of a SageMaker-target function."""
    env = {
        "DISPATCH_TARGET": "sagemaker",
        "SAGEMAKER_PIPELINE_NAME": PIPELINE,
        "IDEMPOTENCY_TABLE_NAME": aws["table"],
        "DATA_BUCKET_NAME": BUCKET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def retrain_dispatch() -> Iterator[ModuleType]:
    """The handler module, its per-container state rebuilt from this test's environment."""
    from mlops_cdk.lambdas.retrain_dispatch import handler

    handler._runtime.cache_clear()
    yield handler
    handler._runtime.cache_clear()


class FakeContext:
    """The parts of the Lambda context that Powertools and the handler read."""

    function_name = "retrain-dispatch"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retrain-dispatch"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


class _ListHandler(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines(retrain_dispatch: ModuleType) -> Iterator[list[str]]:
    """Every line the handler's logger writes, formatted as Powertools writes it (JSON)."""
    capture = _ListHandler(retrain_dispatch.logger.registered_formatter, [])
    service_logger = logging.getLogger(retrain_dispatch.logger.service)
    service_logger.addHandler(capture)
    yield capture.lines
    service_logger.removeHandler(capture)


@pytest.fixture
def all_log_lines(log_lines: list[str]) -> Iterator[list[str]]:
    """``log_lines`` plus every record any library logs, root and Powertools at DEBUG.

    Powertools' package logger does not propagate (unless POWERTOOLS_DEBUG is set, which adds a
    stdout handler): the capture is attached to it directly as well.
    """
    root_capture = _ListHandler(
        logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_info)s %(stack_info)s"),
        log_lines,
    )
    root, package = logging.getLogger(), logging.getLogger("aws_lambda_powertools")
    levels = root.level, package.level
    for target in (root, package):
        target.addHandler(root_capture)
        target.setLevel(logging.DEBUG)
    yield log_lines
    for target in (root, package):
        target.removeHandler(root_capture)
    root.setLevel(levels[0])
    package.setLevel(levels[1])
