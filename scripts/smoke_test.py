"""Smoke test of the public contract: POST /v1/models/<model>:predict returns a probability.

Usage:
    python -m scripts.smoke_test --outputs-file cdk-outputs.json [--output-key PredictUrl]
    python -m scripts.smoke_test --url https://abc123.execute-api.us-east-1.amazonaws.com
    python -m scripts.smoke_test --url https://model.example.com --unsigned   # public_alb

Both serving paths have the same front door (an HTTP API with IAM auth by default), so the same
request works on either: it is signed with SigV4 (service ``execute-api``) using the ambient AWS
credentials, as the deploy workflow has them. A JWT is read from ``SMOKE_BEARER_TOKEN`` (never
from the command line, so it stays out of logs) and sent instead of a signature; ``--unsigned``
sends neither (``front_door=public_alb``). ``--url`` may be the base URL or the full predict
URL. Exits 0 when every prediction is a number in [0, 1], else 1 with a message saying what
was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_MODEL = "fraud-detection"
SAMPLE = {"instances": [[1000, 45, 0.67]]}
_EXECUTE_API_HOST = re.compile(r"^https://[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class SmokeTestError(Exception):
    """The endpoint broke the contract; the message says how."""


def predict_url(url: str, model: str = DEFAULT_MODEL) -> str:
    """The full predict URL for a base URL (or the URL itself if it already is one)."""
    url = url.rstrip("/")
    return url if url.endswith(":predict") else f"{url}/v1/models/{model}:predict"


def url_from_outputs(outputs_file: Path, output_key: str) -> str:
    """Find ``output_key`` in a ``cdk deploy --outputs-file`` JSON (any stack)."""
    outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
    found = [stack[output_key] for stack in outputs.values() if output_key in stack]
    if len(found) != 1:
        keys = sorted({key for stack in outputs.values() for key in stack})
        raise SmokeTestError(
            f"{outputs_file}: expected exactly one output {output_key!r}, found {len(found)}; "
            f"outputs are {keys}"
        )
    return found[0]


def check_predictions(body: bytes) -> list[float]:
    """Validate a response body against the contract; return the probabilities."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise SmokeTestError(f"response is not JSON: {body[:200]!r}") from error
    predictions = payload.get("predictions") if isinstance(payload, dict) else None
    if not isinstance(predictions, list) or not predictions:
        raise SmokeTestError(f"response has no non-empty 'predictions' list: {payload!r}"[:300])
    for prediction in predictions:
        if (
            isinstance(prediction, bool)
            or not isinstance(prediction, int | float)
            or not 0 <= prediction <= 1
        ):
            raise SmokeTestError(f"prediction {prediction!r} is not a probability in [0, 1]")
    return [float(prediction) for prediction in predictions]


def build_request(url: str, *, sign: bool, region: str | None) -> urllib.request.Request:
    """The POST request: a bearer token from the environment, else a SigV4 signature."""
    data = json.dumps(SAMPLE).encode()
    headers = {"Content-Type": "application/json"}
    if token := os.environ.get("SMOKE_BEARER_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    elif sign:
        headers = sigv4_headers(url, data, headers, region)
    return urllib.request.Request(url, data=data, headers=headers, method="POST")


def sigv4_headers(url: str, data: bytes, headers: dict[str, str], region: str | None) -> dict:
    """``headers`` plus the SigV4 ``Authorization``/``X-Amz-Date`` for ``execute-api``."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SmokeTestError(
            "signing needs AWS credentials in the environment (or --unsigned for public_alb)"
        )
    host_region = _EXECUTE_API_HOST.match(url)
    region = region or session.get_config_variable("region") or (host_region and host_region[1])
    if not region:
        raise SmokeTestError("signing needs --region or AWS_REGION for a custom domain")
    signed = AWSRequest(method="POST", url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(signed)
    return dict(signed.headers.items())


def smoke_test(
    url: str, *, sign: bool = True, region: str | None = None, model: str = DEFAULT_MODEL
) -> list[float]:
    """POST the sample to ``url``; raise :class:`SmokeTestError` unless the contract holds."""
    request = build_request(predict_url(url, model), sign=sign, region=region)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return check_predictions(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read()[:300].decode(errors="replace")
        raise SmokeTestError(f"POST {request.full_url} returned {error.code}: {detail}") from error
    except urllib.error.URLError as error:
        raise SmokeTestError(f"POST {request.full_url} failed: {error.reason}") from error


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="API base URL or full predict URL")
    source.add_argument("--outputs-file", type=Path, help="cdk deploy --outputs-file JSON")
    parser.add_argument("--output-key", default="PredictUrl", help="output naming the URL")
    parser.add_argument(
        "--unsigned", action="store_true", help="no SigV4 signature (front_door=public_alb)"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name in the URL")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    args = parser.parse_args(argv)
    try:
        url = args.url or url_from_outputs(args.outputs_file, args.output_key)
        predictions = smoke_test(url, sign=not args.unsigned, region=args.region, model=args.model)
    except SmokeTestError as error:
        print(f"smoke test FAILED: {error}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {predict_url(url, args.model)} -> {predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
