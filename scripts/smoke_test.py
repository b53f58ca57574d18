"""Smoke test of the public contract: POST /v1/models/fraud-detection:predict returns a probability.

Usage:
    python scripts/smoke_test.py --url https://api.example.com
    python scripts/smoke_test.py --outputs-file cdk-outputs.json [--output-key PredictUrl]
    python scripts/smoke_test.py --url ... --sigv4            # IAM-authenticated API Gateway

``--url`` may be the API's base URL or the full predict URL. With ``--sigv4`` the request is
signed (service ``execute-api``) with the ambient AWS credentials, as the deploy workflow has
them; an API key is read from ``SMOKE_API_KEY`` and a JWT from ``SMOKE_BEARER_TOKEN`` (never
from the command line, so they stay out of logs). Exits 0 when every prediction is a number in
[0, 1], else 1 with a message saying what was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

PREDICT_PATH = "/v1/models/fraud-detection:predict"
SAMPLE = {"instances": [[1000, 45, 0.67]]}


class SmokeTestError(Exception):
    """The endpoint broke the contract; the message says how."""


def predict_url(url: str) -> str:
    """The full predict URL for a base URL (or the URL itself if it already is one)."""
    url = url.rstrip("/")
    return url if url.endswith(PREDICT_PATH) else url + PREDICT_PATH


def url_from_outputs(outputs_file: Path, output_key: str) -> str:
    """Find ``output_key`` in a ``cdk deploy --outputs-file`` JSON (any stack)."""
    outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
    found = [o[output_key] for o in outputs.values() if output_key in o]
    if len(found) != 1:
        keys = sorted({k for o in outputs.values() for k in o})
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
    for p in predictions:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise SmokeTestError(f"prediction {p!r} is not a probability in [0, 1]")
    return [float(p) for p in predictions]


def build_request(url: str, *, sigv4: bool, region: str | None) -> urllib.request.Request:
    """The POST request, with auth headers from the environment or a SigV4 signature."""
    data = json.dumps(SAMPLE).encode()
    headers = {"Content-Type": "application/json"}
    if api_key := os.environ.get("SMOKE_API_KEY"):
        headers["x-api-key"] = api_key
    if token := os.environ.get("SMOKE_BEARER_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    if sigv4:
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise SmokeTestError("--sigv4 needs AWS credentials in the environment")
        region = region or session.get_config_variable("region")
        if not region:
            raise SmokeTestError("--sigv4 needs --region or AWS_REGION")
        signed = AWSRequest(method="POST", url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(signed)
        headers = dict(signed.headers.items())
    return urllib.request.Request(url, data=data, headers=headers, method="POST")


def smoke_test(url: str, *, sigv4: bool = False, region: str | None = None) -> list[float]:
    """POST the sample to ``url``; raise :class:`SmokeTestError` unless the contract holds."""
    request = build_request(predict_url(url), sigv4=sigv4, region=region)
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
    parser.add_argument("--sigv4", action="store_true", help="sign with AWS SigV4")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    args = parser.parse_args(argv)
    try:
        url = args.url or url_from_outputs(args.outputs_file, args.output_key)
        predictions = smoke_test(url, sigv4=args.sigv4, region=args.region)
    except SmokeTestError as error:
        print(f"smoke test FAILED: {error}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {predict_url(url)} -> {predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
