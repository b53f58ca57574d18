"""Helpers the stacks share to turn settings into CDK values."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs

from mlops_cdk.config import LOG_RETENTION, Settings


def retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a validated number of days (``LOG_RETENTION``)."""
    return getattr(logs.RetentionDays, LOG_RETENTION[days])


def removal_policy(settings: Settings) -> RemovalPolicy:
    """``RETAIN`` where the environment keeps its data (prod), else ``DESTROY``."""
    return RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY


def capture_prefix(settings: Settings) -> str:
    """The environment's capture prefix in the artifacts bucket (both serving paths, drift)."""
    return f"capture/{settings.env_name}/"


def api_props(settings: Settings) -> dict[str, Any]:
    """:class:`ModelApi` keyword arguments from the ``api`` settings on either serving path."""
    api = settings.api
    return {
        "auth": "jwt" if api.auth == "jwt" else "iam",
        "jwt_issuer": api.jwt_issuer,
        "jwt_audience": api.jwt_audience,
        "throttle_rate_limit": api.throttle_rate_limit,
        "throttle_burst_limit": api.throttle_burst_limit,
        "domain_name": api.domain_name,
        "certificate_arn": api.certificate_arn,
        "log_retention": retention(settings.log_retention_days),
        "removal_policy": removal_policy(settings),
    }


EXAMPLE_BODY = json.dumps({"instances": [1000, 45, 0.67]})


def add_request_outputs(stack: Stack, *, api_url: str, predict_url: str, auth: str) -> None:
    """``ApiUrl``, ``PredictUrl`` and ``ExampleRequest`` (``awscurl`` with IAM auth).

    One front door: the same outputs on either serving path, all known at synth.
    """
    CfnOutput(stack, "ApiUrl", value=api_url, description="Model API base URL")
    CfnOutput(stack, "PredictUrl", value=predict_url, description="Predict URL")
    body = f"-H 'content-type: application/json' -d '{EXAMPLE_BODY}' {predict_url}"
    if auth == "iam":
        example = f"awscurl --service execute-api --region {stack.region} -X POST {body}"
    elif auth == "jwt":
        example = f'curl -X POST -H "Authorization: Bearer $TOKEN" {body}'
    else:
        example = f"curl -X POST {body}"
    CfnOutput(stack, "ExampleRequest", value=example, description="Call the model")
