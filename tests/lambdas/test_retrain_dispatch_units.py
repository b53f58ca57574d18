"""Pure parts of retrain_dispatch: parsing, payload limits, retry timing, settings validation."""

from __future__ import annotations

import email.utils
import json
import time

import pytest
from retrain_fakes import TOKEN, FakeGitHub, eventbridge_body, notification_body

from mlops_cdk.lambdas.retrain_dispatch.dispatch import (
    MAX_BODY_BYTES,
    DispatchError,
    PermanentDispatchError,
    RetryPolicy,
    send_repository_dispatch,
)
from mlops_cdk.lambdas.retrain_dispatch.handler import Settings
from mlops_cdk.lambdas.retrain_dispatch.payload import DispatchPlan
from mlops_cdk.lambdas.retrain_dispatch.records import (
    InvalidRecordError,
    S3Object,
    batch_id,
    is_wanted,
    parse_body,
)


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def dispatch(fake: FakeGitHub, clock: FakeClock, *, deadline: float = 100.0) -> int:
    return send_repository_dispatch(
        api_url=fake.url,
        repository="acme/models",
        token=TOKEN,
        event_type="new-data-arrived",
        client_payload={"batch_id": "b"},
        deadline=deadline,
        policy=RetryPolicy(max_attempts=4, base_delay=2.0, max_delay=5.0),
        clock=clock,
        sleep=clock.sleep,
    )


def test_backoff_doubles_up_to_its_ceiling(fake_github: FakeGitHub) -> None:
    fake_github.script = [503, 503, 503]
    clock = FakeClock()

    assert dispatch(fake_github, clock) == 4
    assert clock.sleeps == [2.0, 4.0, 5.0]


def test_retry_after_is_honoured_in_seconds_and_as_a_date(fake_github: FakeGitHub) -> None:
    in_five_seconds = email.utils.formatdate(time.time() + 5, usegmt=True)
    fake_github.script = [(429, {"Retry-After": "7"}), (503, {"Retry-After": in_five_seconds})]
    clock = FakeClock()

    dispatch(fake_github, clock)

    assert clock.sleeps[0] == 7.0
    assert 3.0 < clock.sleeps[1] <= 5.0


def test_no_wait_passes_the_deadline(fake_github: FakeGitHub) -> None:
    fake_github.script = [503, (429, {"Retry-After": "30"})]
    clock = FakeClock()

    with pytest.raises(DispatchError, match="would pass the time budget"):
        dispatch(fake_github, clock, deadline=10.0)

    assert clock.sleeps == [2.0]
    assert len(fake_github.requests) == 2


def test_retries_run_out(fake_github: FakeGitHub) -> None:
    fake_github.script = [503] * 4

    with pytest.raises(DispatchError, match="HTTP 503") as raised:
        dispatch(fake_github, FakeClock())

    assert not isinstance(raised.value, PermanentDispatchError)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent(fake_github: FakeGitHub, status: int) -> None:
    fake_github.script = [status]

    with pytest.raises(PermanentDispatchError, match=f"HTTP {status}") as raised:
        dispatch(fake_github, FakeClock())

    assert TOKEN not in str(raised.value)
    assert len(fake_github.requests) == 1


def test_payload_lists_every_key_that_fits() -> None:
    plan = DispatchPlan(
        batch_id="x" * 64,
        bucket="b",
        trigger="s3",
        keys=("incoming/a", "incoming/b"),
        total_bytes=3,
    )

    payload = plan.client_payload(prefix="incoming/", event_type="new-data-arrived")

    assert payload["keys"] == ["incoming/a", "incoming/b"]
    assert payload["keys_truncated"] is False
    assert len(payload) <= 10


def test_payload_truncates_multibyte_keys_by_encoded_size() -> None:
    keys = [f"incoming/データ/{i:06d}-é.csv" for i in range(20_000)]
    plan = DispatchPlan(batch_id="x" * 64, bucket="b", trigger="s3", keys=tuple(keys))

    payload = plan.client_payload(prefix="incoming/", event_type="new-data-arrived")
    body = json.dumps(
        {"event_type": "new-data-arrived", "client_payload": payload}, ensure_ascii=False
    )

    assert payload["keys_truncated"] is True
    assert payload["object_count"] == 20_000
    assert MAX_BODY_BYTES - 100 < len(body.encode()) <= MAX_BODY_BYTES
    assert payload["keys"] == keys[: len(payload["keys"])]


def test_eventbridge_keys_are_taken_as_stored_and_notifications_decoded() -> None:
    assert parse_body(eventbridge_body("incoming/a+b c.csv"))[0].key == "incoming/a+b c.csv"
    assert parse_body(notification_body("incoming/a+b c.csv"))[0].key == "incoming/a+b c.csv"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "null",
        json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {}}),
        json.dumps({"Records": [{"eventName": "ObjectRemoved:Delete"}]}),
        eventbridge_body("incoming/a").replace('"size": 100', '"size": "100"'),
        eventbridge_body("incoming/a").replace('"size": 100', '"size": 1.5'),
        eventbridge_body("incoming/a").replace("2026-11-01T10:00:00Z", "yesterday"),
        notification_body("incoming/a").replace('"eventTime": "2026-11-01T10:00:00.000Z", ', ""),
        notification_body("incoming/a").replace('"eTag"', '"etag"'),
    ],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(InvalidRecordError):
        parse_body(body)


def test_folder_markers_and_foreign_prefixes_are_unwanted() -> None:
    assert is_wanted(S3Object("b", "incoming/x.csv", 0, "e"), "incoming/")
    assert not is_wanted(S3Object("b", "incoming/dir/", 0, "e"), "incoming/")
    assert not is_wanted(S3Object("b", "other/x.csv", 5, "e"), "incoming/")


def test_batch_id_ignores_order_and_duplicates_but_not_versions() -> None:
    a, b = ("b", "k1", "", "e1"), ("b", "k2", "", "e2")

    assert batch_id([a, b]) == batch_id([b, a, a])
    assert batch_id([a]) != batch_id([("b", "k1", "", "e2")])


def test_settings_report_every_problem_at_once() -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env({"DISPATCH_TARGET": "github", "GITHUB_REPOSITORY": "no-slash"})

    message = str(raised.value)
    for expected in (
        "IDEMPOTENCY_TABLE_NAME",
        "DATA_BUCKET_NAME",
        "GITHUB_REPOSITORY = 'no-slash'",
        "GITHUB_TOKEN",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DISPATCH_TARGET": "gitlab"}, "DISPATCH_TARGET = 'gitlab'"),
        ({"DISPATCH_TARGET": "sagemaker"}, "SAGEMAKER_PIPELINE_NAME"),
    ],
)
def test_settings_reject_unknown_target_and_missing_pipeline(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        Settings.from_env({"IDEMPOTENCY_TABLE_NAME": "t", **env})


@pytest.mark.parametrize(
    "optional",
    [{}, {"DATA_PREFIX": "", "GITHUB_EVENT_TYPE": "", "GITHUB_API_URL": ""}],
    ids=["unset", "empty"],
)
def test_settings_defaults(optional: dict[str, str]) -> None:
    settings = Settings.from_env(
        {
            "DISPATCH_TARGET": "github",
            "IDEMPOTENCY_TABLE_NAME": "t",
            "GITHUB_REPOSITORY": "acme/models",
            "GITHUB_TOKEN_SECRET_ARN": "arn",
            "DATA_BUCKET_NAME": "data",
            **optional,
        }
    )

    assert settings.github_api_url == "https://api.github.com"
    assert settings.github_event_type == "new-data-arrived"
    assert settings.data_prefix == "incoming/"
