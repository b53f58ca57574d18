"""The GitHub token never reaches a log line, a metric, an error message or the response."""

from __future__ import annotations

import logging
from types import ModuleType

import pytest
from conftest import FakeContext
from retrain_fakes import TOKEN, FakeGitHub, eventbridge_body, sqs_event


@pytest.mark.usefixtures("github_env")
@pytest.mark.parametrize(
    "script",
    [[], [401], [(429, {"Retry-After": "0"})], [503, 503, 503], ["drop", "drop", "drop"]],
    ids=["204", "401", "429", "503", "connection-dropped"],
)
def test_token_never_appears_in_any_output(
    retrain_dispatch: ModuleType,
    fake_github: FakeGitHub,
    context: FakeContext,
    all_log_lines: list[str],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    script: list,
) -> None:
    monkeypatch.setenv("DISPATCH_MAX_ATTEMPTS", "3")
    fake_github.script = list(script)
    logging.getLogger("botocore.parsers").setLevel(logging.NOTSET)  # as a user might leave it

    response = retrain_dispatch.handler(sqs_event([eventbridge_body("incoming/a.csv")]), context)

    assert fake_github.dispatches[0].headers["authorization"] == f"Bearer {TOKEN}"
    out, err = capfd.readouterr()
    assert any("idempotency key" in line for line in all_log_lines)  # DEBUG was captured...
    assert all(TOKEN not in line for line in all_log_lines)  # ...without the token
    assert TOKEN not in out + err
    assert TOKEN not in repr(response)


@pytest.mark.usefixtures("github_env")
def test_token_is_not_in_the_raised_error_of_a_failed_schedule(
    retrain_dispatch: ModuleType, fake_github: FakeGitHub, context: FakeContext
) -> None:
    fake_github.script = [401]

    with pytest.raises(retrain_dispatch.DispatchError) as raised:
        retrain_dispatch.handler(
            {"detail-type": "Scheduled Event", "id": "x", "time": "t"}, context
        )

    assert TOKEN not in str(raised.value)
    assert TOKEN not in repr(raised.value.__context__)
