"""Start a retraining run: GitHub ``repository_dispatch`` (stdlib HTTP) or SageMaker Pipelines.

The GitHub client retries 429, 5xx and connection errors with exponential backoff, honours
``Retry-After``, and never waits past the caller's deadline. The token only ever travels in the
``Authorization`` header, to the configured API host: redirects are never followed (a 3xx is a
permanent failure), and no message built here contains it.
"""

from __future__ import annotations

import email.utils
import http.client
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .payload import MAX_BODY_BYTES, encode

__all__ = ["MAX_BODY_BYTES"]

GITHUB_API_VERSION = "2022-11-28"
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_ERROR_BODY_EXCERPT = 300

PIPELINE_BUCKET_PARAMETER = "InputBucket"
"""Pipeline parameter naming the data bucket; ``mlops_cdk.pipelines`` declares the same name."""
PIPELINE_PREFIX_PARAMETER = "InputPrefix"
"""Pipeline parameter naming the data prefix; ``mlops_cdk.pipelines`` declares the same name."""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an ``HTTPError``: following one would send the token elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


class DispatchError(Exception):
    """The retraining run could not be started; every record of the batch must be retried."""


class PermanentDispatchError(DispatchError):
    """A configuration problem that retrying cannot fix (token, repository, permissions)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving the batch back to SQS.

    Attributes:
        max_attempts: Requests per dispatch, the first included.
        base_delay: Seconds before the second attempt; doubles per attempt.
        max_delay: Ceiling for one computed backoff (``Retry-After`` may ask for more).
        request_timeout: Socket timeout per request, shortened near the deadline.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    request_timeout: float = 10.0


def send_repository_dispatch(
    *,
    api_url: str,
    repository: str,
    token: str,
    event_type: str,
    client_payload: dict[str, Any],
    deadline: float,
    policy: RetryPolicy,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST a ``repository_dispatch`` event, retrying transient failures until ``deadline``.

    Args:
        api_url: GitHub API root, e.g. ``https://api.github.com`` or a GHES ``/api/v3`` URL.
        repository: ``owner/name``.
        token: Token with write access to the repository's contents.
        event_type: The ``repository_dispatch`` type the workflow listens to.
        client_payload: Built by :meth:`DispatchPlan.client_payload`.
        deadline: ``clock()`` value after which no request is started and no wait ends.
        policy: Attempts and backoff.
        clock: Monotonic clock in seconds (injectable for tests).
        sleep: Waits between attempts (injectable for tests).

    Returns:
        The number of requests made.

    Raises:
        PermanentDispatchError: 401/403/404/422 or another non-retryable answer.
        DispatchError: Retries or time ran out.
    """
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/repos/{repository}/dispatches",
        data=encode({"event_type": event_type, "client_payload": client_payload}),
        method="POST",
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            "Content-Type": "application/json",
            "User-Agent": "mlops-cdk-retrain-dispatch",
        },
    )
    problem = "no attempt made"
    for attempt in range(1, policy.max_attempts + 1):
        remaining = deadline - clock()
        if remaining <= 0:
            break
        failure = _post_once(request, min(policy.request_timeout, remaining), repository)
        if failure is None:
            return attempt
        problem, retry_after = failure
        if attempt == policy.max_attempts:
            break
        delay = (
            retry_after
            if retry_after is not None
            else min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        )
        if clock() + delay >= deadline:
            problem += f"; next retry in {delay:.1f} s would pass the time budget"
            break
        sleep(delay)
    raise DispatchError(f"GitHub dispatch to {repository} failed after retries: {problem}")


def _post_once(
    request: urllib.request.Request, timeout: float, repository: str
) -> tuple[str, float | None] | None:
    """Send the request once, never following a redirect.

    Returns:
        None when GitHub accepted it, else (what went wrong, ``Retry-After`` seconds or None).

    Raises:
        PermanentDispatchError: A redirect or an answer that retrying cannot fix.
    """
    try:
        with _NO_REDIRECTS.open(request, timeout=timeout) as response:
            response.read()
        return None
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise PermanentDispatchError(_explain_redirect(error)) from None
        if not _is_retryable(error.code, error.headers):
            raise PermanentDispatchError(
                _explain(error.code, repository, _excerpt(error))
            ) from None
        return f"HTTP {error.code}", _retry_after(error.headers)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        return f"connection error: {getattr(error, 'reason', error)}", None


def _is_retryable(status: int, headers: Any) -> bool:
    """429 and 5xx retry; a 403 retries only when it is GitHub's secondary rate limit."""
    if status in _RETRYABLE_STATUS:
        return True
    rate_limited = headers.get("Retry-After") or headers.get("X-RateLimit-Remaining") == "0"
    return status == 403 and bool(rate_limited)


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), if usable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _explain_redirect(error: urllib.error.HTTPError) -> str:
    """Name the redirect without following it (the location's host only, never a query)."""
    location = urllib.parse.urlsplit(error.headers.get("Location") or "")
    target = f" to {location.scheme}://{location.netloc}" if location.netloc else ""
    return (
        f"GitHub dispatch failed with HTTP {error.code}: the API redirected{target}, which is "
        "never followed so the token only goes to the configured host; set GITHUB_API_URL to "
        "the API root itself (https://api.github.com, or https://HOST/api/v3 for GHES)"
    )


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(_ERROR_BODY_EXCERPT).decode(errors="replace").strip()
    except OSError:
        return ""


def _explain(status: int, repository: str, body: str) -> str:
    """Build an error message that names what to fix, never the token."""
    fixes = {
        401: "the token was rejected: store a valid, unexpired token in the secret named by "
        "GITHUB_TOKEN_SECRET_ARN (its SecretString is the bare token)",
        403: f"the token may not dispatch to {repository}: grant it 'Contents: read and write' "
        "(fine-grained) or the 'repo' scope (classic), and check the org's token policy",
        404: f"repository {repository!r} was not found or the token cannot see it: check "
        "GITHUB_REPOSITORY (owner/name), GITHUB_API_URL and the token's repository access",
        422: "GitHub rejected the request body: check GITHUB_EVENT_TYPE and the payload limits",
    }
    fix = fixes.get(status, "GitHub answered with a status that retrying cannot fix")
    detail = f" (GitHub said: {body})" if body else ""
    return f"GitHub dispatch failed with HTTP {status}: {fix}{detail}"


def start_pipeline_execution(
    sagemaker_client: Any,
    *,
    pipeline_name: str,
    batch_id: str,
    bucket: str,
    prefix: str,
    description: str,
) -> str:
    """Start the SageMaker pipeline once per batch and return the execution ARN.

    ``ClientRequestToken`` is the batch id, so SageMaker itself refuses a second execution if
    a retry gets past the idempotency table. Only non-empty parameters are passed so the
    pipeline's defaults apply to the others.

    Raises:
        DispatchError: When SageMaker refuses or cannot be reached, naming the pipeline.
    """
    parameters = [
        {"Name": name, "Value": value}
        for name, value in (
            (PIPELINE_BUCKET_PARAMETER, bucket),
            (PIPELINE_PREFIX_PARAMETER, prefix),
        )
        if value
    ]
    try:
        response = sagemaker_client.start_pipeline_execution(
            PipelineName=pipeline_name,
            ClientRequestToken=batch_id,
            PipelineParameters=parameters,
            PipelineExecutionDescription=description[:3072],
        )
    except (ClientError, BotoCoreError) as error:
        raise DispatchError(
            f"SageMaker StartPipelineExecution on {pipeline_name!r} failed: {error}; check the "
            "pipeline name and the function's sagemaker:StartPipelineExecution permission"
        ) from None
    return str(response["PipelineExecutionArn"])
