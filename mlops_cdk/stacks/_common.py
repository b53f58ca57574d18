"""Helpers the stacks share to turn settings into CDK values."""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs

from mlops_cdk.config import Settings

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS, 7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS, 150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS, 2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}  # fmt: skip


def retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a validated number of days."""
    return _RETENTION[days]


def removal_policy(settings: Settings) -> RemovalPolicy:
    """``RETAIN`` where the environment keeps its data (prod), else ``DESTROY``."""
    return RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY


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
