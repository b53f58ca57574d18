"""Behaviour of the retrain_dispatch handler end to end: fake GitHub on 127.0.0.1, moto for AWS."""

from __future__ import annotations

import json
from types import ModuleType

import boto3
import pytest
from conftest import FakeContext
from retrain_fakes import (
    BUCKET,
    PIPELINE,
    REPOSITORY,
    TOKEN,
    FakeGitHub,
    eventbridge_body,
    notification_body,
    redeliver,
    sqs_event,
    sqs_record,
)


def failed_ids(response: dict) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def all_ids(event: dict) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def payload_of(fake: FakeGitHub, index: int = 0) -> dict:
    return fake.dispatches[index].json()["client_payload"]


@pytest.mark.usefixtures("github_env")
def test_one_batch_makes_one_github_dispatch_with_the_documented_request(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event([eventbridge_body(f"incoming/part-{i}.csv", size=10 + i) for i in range(3)])

    response = retrain_dispatch.handler(event, context)

    assert response == {"batchItemFailures": []}
    assert len(fake_github.requests) == 1
    request = fake_github.requests[0]
    assert request.path == f"/repos/{REPOSITORY}/dispatches"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    body = request.json()
    assert body["event_type"] == "new-data-arrived"
    payload = body["client_payload"]
    assert payload["bucket"] == BUCKET
    assert payload["object_count"] == 3
    assert payload["total_bytes"] == 10 + 11 + 12
    assert payload["keys"] == [f"incoming/part-{i}.csv" for i in range(3)]
    assert payload["keys_truncated"] is False
    assert payload["trigger"] == "s3"
    assert len(payload["batch_id"]) == 64


@pytest.mark.usefixtures("github_env")
def test_event_type_comes_from_the_environment(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_TYPE", "retrain-now")

    retrain_dispatch.handler(sqs_event([eventbridge_body("incoming/a.csv")]), context)

    assert fake_github.dispatches[0].json()["event_type"] == "retrain-now"


@pytest.mark.usefixtures("github_env")
def test_ten_thousand_records_make_one_dispatch_within_github_payload_limits(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event(
        [eventbridge_body(f"incoming/2026/11/01/object-{i:05d}.parquet") for i in range(10_000)]
    )

    response = retrain_dispatch.handler(event, context)

    assert response == {"batchItemFailures": []}
    assert len(fake_github.dispatches) == 1
    body = fake_github.dispatches[0].body
    payload = json.loads(body)["client_payload"]
    assert len(body) < 64 * 1024
    assert len(json.dumps(payload).encode()) < 64 * 1024
    assert len(payload) <= 10
    assert payload["object_count"] == 10_000
    assert payload["total_bytes"] == 100 * 10_000
    assert payload["keys_truncated"] is True
    assert 0 < len(payload["keys"]) < 10_000


@pytest.mark.usefixtures("github_env")
def test_redelivered_objects_never_dispatch_twice(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event([eventbridge_body(f"incoming/{i}.csv", etag=f"e{i}") for i in range(5)])

    first = retrain_dispatch.handler(event, context)
    second = retrain_dispatch.handler(redeliver(event), FakeContext())
    # New messages (new ids) announcing the same objects are duplicates too.
    third = retrain_dispatch.handler(
        sqs_event([eventbridge_body(f"incoming/{i}.csv", etag=f"e{i}") for i in range(5)]),
        FakeContext(),
    )

    assert failed_ids(first) == failed_ids(second) == failed_ids(third) == []
    assert len(fake_github.dispatches) == 1


@pytest.mark.usefixtures("github_env")
def test_a_new_version_of_an_object_dispatches_again(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    retrain_dispatch.handler(sqs_event([eventbridge_body("incoming/a.csv", etag="v1")]), context)
    retrain_dispatch.handler(sqs_event([eventbridge_body("incoming/a.csv", etag="v2")]), context)

    assert len(fake_github.dispatches) == 2


@pytest.mark.usefixtures("github_env")
def test_duplicate_records_within_a_batch_count_once(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    body = eventbridge_body("incoming/same.csv", size=7, version_id="v1")

    retrain_dispatch.handler(sqs_event([body, body, body]), context)

    payload = payload_of(fake_github)
    assert (payload["object_count"], payload["total_bytes"]) == (1, 7)


@pytest.mark.usefixtures("github_env")
def test_failed_dispatch_is_not_recorded_and_the_retry_dispatches(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPATCH_MAX_ATTEMPTS", "2")
    fake_github.script = [503, 503]
    event = sqs_event([eventbridge_body(f"incoming/{i}.csv") for i in range(4)])

    failed = retrain_dispatch.handler(event, context)

    assert sorted(failed_ids(failed)) == sorted(all_ids(event))
    assert boto3.client("dynamodb").scan(TableName="idempotency")["Items"] == []

    retried = retrain_dispatch.handler(redeliver(event), FakeContext())

    assert failed_ids(retried) == []
    assert len(fake_github.dispatches) == 3
    assert [item["status"]["S"] for item in scan_idempotency()] == ["COMPLETED"]


def scan_idempotency() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName="idempotency")["Items"]


@pytest.mark.usefixtures("github_env")
@pytest.mark.parametrize(
    "script",
    [
        [(429, {"Retry-After": "0"})],
        [503, 502],
        ["drop"],
        [(403, {"Retry-After": "0"})],
    ],
    ids=["429-retry-after", "5xx", "connection-dropped", "403-secondary-rate-limit"],
)
def test_transient_failures_are_retried_until_the_dispatch_succeeds(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext, script: list
) -> None:
    fake_github.script = list(script)

    response = retrain_dispatch.handler(sqs_event([eventbridge_body("incoming/a.csv")]), context)

    assert response == {"batchItemFailures": []}
    assert len(fake_github.dispatches) == len(script) + 1


@pytest.mark.usefixtures("github_env")
def test_retry_after_beyond_the_time_budget_fails_the_batch_without_waiting(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    fake_github.script = [(429, {"Retry-After": "3600"})]
    event = sqs_event([eventbridge_body("incoming/a.csv"), eventbridge_body("incoming/b.csv")])

    response = retrain_dispatch.handler(event, context)

    assert sorted(failed_ids(response)) == sorted(all_ids(event))
    assert len(fake_github.dispatches) == 1


@pytest.mark.usefixtures("github_env")
def test_unreachable_github_fails_every_record(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("DISPATCH_MAX_ATTEMPTS", "2")
    event = sqs_event([eventbridge_body("incoming/a.csv"), eventbridge_body("incoming/b.csv")])

    response = retrain_dispatch.handler(event, context)

    assert sorted(failed_ids(response)) == sorted(all_ids(event))
    assert scan_idempotency() == []


@pytest.mark.usefixtures("github_env")
@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "GITHUB_TOKEN_SECRET_ARN"),
        (403, "Contents: read and write"),
        (404, "GITHUB_REPOSITORY"),
        (422, "GITHUB_EVENT_TYPE"),
    ],
)
def test_client_errors_fail_at_once_with_a_log_that_says_what_to_fix(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    log_lines: list[str],
    status: int,
    hint: str,
) -> None:
    fake_github.script = [status]
    event = sqs_event([eventbridge_body("incoming/a.csv"), eventbridge_body("incoming/b.csv")])

    response = retrain_dispatch.handler(event, context)

    assert sorted(failed_ids(response)) == sorted(all_ids(event))
    assert len(fake_github.dispatches) == 1
    errors = [line for line in log_lines if json.loads(line)["level"] == "ERROR"]
    assert len(errors) == 1
    assert f"HTTP {status}" in errors[0]
    assert hint in errors[0]


@pytest.mark.usefixtures("github_env")
def test_unreadable_token_secret_fails_the_batch_and_names_the_variable(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: list[str],
) -> None:
    monkeypatch.setenv(
        "GITHUB_TOKEN_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf",
    )
    event = sqs_event([eventbridge_body("incoming/a.csv")])

    response = retrain_dispatch.handler(event, context)

    assert failed_ids(response) == all_ids(event)
    assert fake_github.requests == []
    assert any("GITHUB_TOKEN_SECRET_ARN" in line for line in log_lines)


@pytest.mark.parametrize(
    ("bodies", "encoded", "dispatched_keys"),
    [
        pytest.param(
            [
                notification_body("incoming/with space.csv"),
                notification_body("incoming/real+plus.csv"),
                notification_body("incoming/données/é.csv"),
                eventbridge_body("incoming/eb+plus.csv"),
                eventbridge_body("incoming/eb space/数据.csv"),
            ],
            ["incoming/with+space.csv", "incoming/real%2Bplus.csv"],
            [
                "incoming/with space.csv",
                "incoming/real+plus.csv",
                "incoming/données/é.csv",
                "incoming/eb+plus.csv",
                "incoming/eb space/数据.csv",
            ],
            id="url-encoded-and-unicode-keys-decoded-exactly-once",
        ),
        pytest.param(
            [
                eventbridge_body("processed/a.csv"),
                eventbridge_body("incoming/folder/", size=0),
                eventbridge_body("Incoming/case-matters.csv"),
            ],
            [],
            None,
            id="outside-the-prefix-and-folder-markers-only-no-request",
        ),
        pytest.param(
            [eventbridge_body("processed/a.csv"), eventbridge_body("incoming/b.csv")],
            [],
            ["incoming/b.csv"],
            id="outside-the-prefix-ignored-beside-a-wanted-key",
        ),
    ],
)
@pytest.mark.usefixtures("github_env")
def test_the_dispatch_lists_exactly_the_wanted_keys_decoded_once(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    bodies: list[str],
    encoded: list[str],
    dispatched_keys: list[str] | None,
) -> None:
    event = sqs_event(bodies)
    for index, key in enumerate(encoded):  # as S3 notifications send them
        assert key in event["Records"][index]["body"]

    assert retrain_dispatch.handler(event, context) == {"batchItemFailures": []}

    if dispatched_keys is None:
        assert fake_github.requests == []
    else:
        assert sorted(payload_of(fake_github)["keys"]) == sorted(dispatched_keys)


@pytest.mark.usefixtures("github_env")
def test_data_prefix_comes_from_the_environment(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATA_PREFIX", "landing/")
    event = sqs_event([eventbridge_body("incoming/a.csv"), eventbridge_body("landing/b.csv")])

    retrain_dispatch.handler(event, context)

    assert payload_of(fake_github)["keys"] == ["landing/b.csv"]
    assert payload_of(fake_github)["prefix"] == "landing/"


@pytest.mark.usefixtures("github_env")
def test_invalid_bodies_are_reported_and_do_not_block_valid_records(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    valid = sqs_record(eventbridge_body("incoming/good.csv"))
    invalid = [
        sqs_record("not json"),
        sqs_record(json.dumps(["a", "list"])),
        sqs_record(json.dumps({"detail-type": "Object Deleted", "source": "aws.s3"})),
        sqs_record(eventbridge_body("incoming/x.csv").replace('"key"', '"nokey"')),
        sqs_record(eventbridge_body("incoming/y.csv", size=-1)),
    ]

    response = retrain_dispatch.handler({"Records": [valid, *invalid]}, context)

    assert sorted(failed_ids(response)) == sorted(r["messageId"] for r in invalid)
    assert payload_of(fake_github)["keys"] == ["incoming/good.csv"]


@pytest.mark.usefixtures("github_env")
def test_a_batch_of_only_invalid_records_reports_them_all(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event(["{", "[]"])

    assert sorted(failed_ids(retrain_dispatch.handler(event, context))) == sorted(all_ids(event))
    assert fake_github.requests == []


@pytest.mark.usefixtures("github_env")
def test_s3_test_event_is_ignored(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event([json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})])

    assert retrain_dispatch.handler(event, context) == {"batchItemFailures": []}
    assert fake_github.requests == []


SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-02T02:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly-retrain"],
    "detail": {},
}


@pytest.mark.usefixtures("github_env")
def test_scheduled_event_dispatches_once(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATA_BUCKET_NAME", BUCKET)

    retrain_dispatch.handler(dict(SCHEDULED), context)
    retrain_dispatch.handler(dict(SCHEDULED), FakeContext())

    assert len(fake_github.dispatches) == 1
    payload = payload_of(fake_github)
    assert (payload["trigger"], payload["bucket"], payload["object_count"]) == (
        "schedule",
        BUCKET,
        0,
    )

    retrain_dispatch.handler(
        {**SCHEDULED, "id": "next-night", "time": "2026-11-03T02:00:00Z"}, context
    )
    assert len(fake_github.dispatches) == 2


@pytest.mark.usefixtures("github_env")
def test_failed_scheduled_dispatch_raises_for_the_scheduler_to_retry(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    fake_github.script = [401]

    with pytest.raises(retrain_dispatch.DispatchError, match="HTTP 401"):
        retrain_dispatch.handler(dict(SCHEDULED), context)

    assert retrain_dispatch.handler(dict(SCHEDULED), context)["batch_id"]
    assert len(fake_github.dispatches) == 2


@pytest.mark.usefixtures("sagemaker_env")
def test_sagemaker_target_starts_one_execution_per_batch(
    retrain_dispatch: ModuleType, context: FakeContext
) -> None:
    event = sqs_event([eventbridge_body(f"incoming/{i}.csv") for i in range(3)])

    assert retrain_dispatch.handler(event, context) == {"batchItemFailures": []}
    assert retrain_dispatch.handler(redeliver(event), FakeContext()) == {"batchItemFailures": []}

    sagemaker = boto3.client("sagemaker")
    executions = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]
    assert len(executions) == 1
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=executions[0]["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert {parameter["Name"]: parameter["Value"] for parameter in parameters} == {
        "InputBucket": BUCKET,
        "InputPrefix": "incoming/",
    }


@pytest.mark.usefixtures("sagemaker_env")
def test_sagemaker_client_request_token_is_derived_from_the_objects(
    retrain_dispatch: ModuleType,
) -> None:
    bodies = [eventbridge_body(f"incoming/{i}.csv", etag=f"e{i}") for i in range(3)]
    plans = retrain_dispatch.plan_batch(
        {str(i): retrain_dispatch.parse_body(body) for i, body in enumerate(bodies)}
    )
    reordered = retrain_dispatch.plan_batch(
        {f"other-{i}": retrain_dispatch.parse_body(body) for i, body in enumerate(reversed(bodies))}
    )

    assert plans[0][0].batch_id == reordered[0][0].batch_id
    assert 32 <= len(plans[0][0].batch_id) <= 128


@pytest.mark.usefixtures("sagemaker_env")
def test_missing_pipeline_fails_the_batch_with_a_hint(
    retrain_dispatch: ModuleType,
    context: FakeContext,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: list[str],
) -> None:
    monkeypatch.setenv("SAGEMAKER_PIPELINE_NAME", "no-such-pipeline")
    event = sqs_event([eventbridge_body("incoming/a.csv")])

    assert failed_ids(retrain_dispatch.handler(event, context)) == all_ids(event)
    assert any("sagemaker:StartPipelineExecution" in line for line in log_lines)


@pytest.mark.usefixtures("github_env")
def test_metrics_are_emitted_as_emf(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = sqs_event(
        [
            eventbridge_body("incoming/a.csv"),
            eventbridge_body("other/b.csv"),
            "not json",
        ]
    )

    retrain_dispatch.handler(event, context)

    emf = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and "_aws" in line
    ]
    assert len(emf) == 1
    values = {
        m["Name"]: emf[0][m["Name"]] for m in emf[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert values == {
        "ObjectsSeen": [2.0],
        "ObjectsIgnored": [1.0],
        "InvalidRecords": [1.0],
        "DispatchesSent": [1.0],
    }
