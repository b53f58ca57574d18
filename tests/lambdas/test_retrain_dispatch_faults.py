"""Hostile answers and records: redirects never carry the token, foreign buckets never dispatch."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest
from conftest import FakeContext
from retrain_fakes import BUCKET, TOKEN, FakeGitHub, eventbridge_body, sqs_event, sqs_record

from mlops_cdk.lambdas.retrain_dispatch.dispatch import (
    DispatchError,
    RetryPolicy,
    send_repository_dispatch,
)

REDIRECTS = [301, 302, 303, 307, 308]


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on an ephemeral 127.0.0.1 port; yield its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def redirect_target() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A second host that records every request it gets and whether it carried a token."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            seen.append(
                {"method": self.command, "authorization": self.headers.get("Authorization")}
            )
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            self._record()

        def do_POST(self) -> None:
            self._record()

        def log_message(self, *args: Any) -> None:
            return

    with serve(Handler) as url:
        yield url, seen


def answer_with_redirect(fake: FakeGitHub, status: int, location: str) -> None:
    fake.script = [(status, {"Location": f"{location}/stolen"})] * 10


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirect_fails_the_dispatch_and_the_token_stays_home(
    fake_github: FakeGitHub, redirect_target, status: int
) -> None:
    target_url, seen = redirect_target
    answer_with_redirect(fake_github, status, target_url)

    with pytest.raises(DispatchError, match=f"HTTP {status}.*GITHUB_API_URL") as raised:
        send_repository_dispatch(
            api_url=fake_github.url,
            repository="acme/models",
            token=TOKEN,
            event_type="new-data-arrived",
            client_payload={"batch_id": "b"},
            deadline=float("inf"),
            policy=RetryPolicy(max_attempts=2, base_delay=0.0),
        )

    assert seen == []
    assert TOKEN not in str(raised.value)
    assert len(fake_github.dispatches) == 1


@pytest.mark.usefixtures("github_env")
@pytest.mark.parametrize("status", [302, 303])
def test_a_redirected_batch_is_not_recorded_as_dispatched(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    redirect_target,
    context: FakeContext,
    status: int,
) -> None:
    target_url, seen = redirect_target
    answer_with_redirect(fake_github, status, target_url)
    event = sqs_event([eventbridge_body("incoming/a.csv")])

    first = retrain_dispatch.handler(event, context)
    fake_github.script = []
    second = retrain_dispatch.handler(event, FakeContext())

    assert [item["itemIdentifier"] for item in first["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    assert second == {"batchItemFailures": []}
    assert len(fake_github.dispatches) == 2
    assert seen == []


@pytest.mark.usefixtures("github_env")
def test_a_record_from_another_bucket_is_invalid_and_never_dispatched(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    good = sqs_record(eventbridge_body("incoming/good.csv"))
    foreign = sqs_record(eventbridge_body("incoming/evil.csv", bucket="attacker-bucket"))

    response = retrain_dispatch.handler({"Records": [good, foreign]}, context)

    assert response["batchItemFailures"] == [{"itemIdentifier": foreign["messageId"]}]
    assert len(fake_github.dispatches) == 1
    payload = fake_github.dispatches[0].json()["client_payload"]
    assert (payload["bucket"], payload["keys"]) == (BUCKET, ["incoming/good.csv"])


@pytest.mark.usefixtures("github_env")
def test_a_batch_only_from_another_bucket_dispatches_nothing(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    event = sqs_event([eventbridge_body("incoming/a.csv", bucket="other-bucket")])

    response = retrain_dispatch.handler(event, context)

    assert len(response["batchItemFailures"]) == 1
    assert fake_github.requests == []
