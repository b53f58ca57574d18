"""DriftMonitor on a scratch stack: synthesized under cdk-nag AwsSolutions, resources asserted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from mlops_cdk.constructs.drift_monitor import DriftMonitor
from mlops_cdk.platform import add_security_checks

ENV = cdk.Environment(account="123456789012", region="us-east-1")
BUCKET_ARN = "arn:aws:s3:::mlops-prod-artifacts"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf"


def scratch(stack: cdk.Stack) -> dict:
    """What the platform's storage, alerting and secrets stacks would pass."""
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    return {
        "artifacts_bucket": s3.Bucket.from_bucket_attributes(
            stack, "Artifacts", bucket_arn=BUCKET_ARN, encryption_key=key
        ),
        "capture_prefix": "capture/prod/",
        "baseline_key": "models/fraud-detection/baseline.json",
        "alarm_topic": sns.Topic.from_topic_arn(stack, "Topic", TOPIC_ARN),
    }


def synth(outdir: Path, *, github: bool = False, **kwargs) -> tuple[Template, Path]:
    """Synthesize one DriftMonitor under cdk-nag (an unacknowledged finding fails synth)."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Drift", env=ENV)
    if github:
        kwargs |= {
            "github_repository": "acme/models",
            "github_token_secret": secretsmanager.Secret.from_secret_complete_arn(
                stack, "Token", SECRET_ARN
            ),
        }
    DriftMonitor(stack, "DriftMonitor", **scratch(stack), **kwargs)
    add_security_checks(app)
    app.synth()
    return Template.from_json(json.loads((outdir / "Drift.template.json").read_text())), outdir


@pytest.fixture(scope="module")
def github(tmp_path_factory) -> tuple[Template, Path]:
    return synth(tmp_path_factory.mktemp("drift-github"), github=True)


def test_hourly_schedule_passes_the_scheduled_time_and_has_a_dlq(github):
    template, _ = github
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(10 * * * ? *)",
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "Input": '{"scheduled_time":"<aws.scheduler.scheduled-time>"}',
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 3}),
                }
            ),
        },
    )


def test_alarm_on_max_psi_notifies_the_topic(github):
    template, _ = github
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "MaxPsi",
            "Namespace": "MlopsCdk/Drift",
            "Dimensions": [{"Name": "service", "Value": "drift-check"}],
            "Statistic": "Maximum",
            "Period": 3600,
            "Threshold": 0.2,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [TOPIC_ARN],
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "AlarmActions": [TOPIC_ARN]},
    )


def test_function_environment_names_the_window_threshold_and_dispatch(github):
    template, _ = github
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "mlops_cdk.lambdas.drift_check.handler.handler",
            "ReservedConcurrentExecutions": 1,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "ARTIFACTS_BUCKET_NAME": "mlops-prod-artifacts",
                        "CAPTURE_PREFIX": "capture/prod/",
                        "BASELINE_KEY": "models/fraud-detection/baseline.json",
                        "DISPATCH_TARGET": "github",
                        "GITHUB_REPOSITORY": "acme/models",
                        "GITHUB_TOKEN_SECRET_ARN": SECRET_ARN,
                        "GITHUB_EVENT_TYPE": "drift-detected",
                        "DRIFT_THRESHOLD": "0.2",
                        "MIN_ROWS": "200",
                        "WINDOW_HOURS": "1",
                        "POWERTOOLS_METRICS_NAMESPACE": "MlopsCdk/Drift",
                    }
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True}},
    )


def _statements(template: Template) -> list[dict]:
    policies = template.find_resources("AWS::IAM::Policy")
    return [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_function_reads_only_the_capture_prefix_and_the_baseline(github):
    template, _ = github
    s3_resources = set()
    for statement in _statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert "cloudwatch:PutMetricData" not in actions  # EMF, no API call
        if any(action.startswith("s3:") for action in actions):
            assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in actions)
            resources = statement["Resource"]
            s3_resources |= {
                json.dumps(r) for r in (resources if isinstance(resources, list) else [resources])
            }
    assert s3_resources == {
        json.dumps(BUCKET_ARN),
        json.dumps(f"{BUCKET_ARN}/capture/prod/*"),
        json.dumps(f"{BUCKET_ARN}/models/fraud-detection/baseline.json"),
    }
    actions = {
        a
        for statement in _statements(template)
        for a in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"secretsmanager:GetSecretValue", "kms:Decrypt", "dynamodb:PutItem"} <= actions
    assert not any(a.startswith("sagemaker:") for a in actions)


def test_asset_holds_the_drift_package_and_imports_alone(github):
    _, outdir = github
    manifest = json.loads((outdir / "Drift.assets.json").read_text())
    (asset,) = [
        outdir / f["source"]["path"]
        for f in manifest["files"].values()
        if f["source"]["path"].startswith("asset.")
        and (outdir / f["source"]["path"] / "mlops_cdk").is_dir()
    ]
    files = sorted(str(path.relative_to(asset)) for path in asset.rglob("*.py"))
    assert "mlops_cdk/drift/psi.py" in files
    assert "mlops_cdk/lambdas/drift_check/handler.py" in files
    assert "mlops_cdk/lambdas/retrain_dispatch/dispatch.py" in files
    assert not [f for f in files if "predict_proxy" in f or "constructs" in f]
    env = {**os.environ, "PYTHONPATH": str(asset), "AWS_DEFAULT_REGION": "us-east-1"}
    code = (
        "import mlops_cdk, mlops_cdk.lambdas.drift_check.handler as h; "
        "print(mlops_cdk.__file__); print(callable(h.handler))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=asset, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert output == [str(asset / "mlops_cdk" / "__init__.py"), "True"]


def test_sagemaker_target_may_start_only_its_pipeline_and_not_read_a_token(tmp_path):
    template, _ = synth(
        tmp_path,
        github=True,  # a token passed anyway: the sagemaker target does not need it
        target="sagemaker",
        pipeline_name="Retraining-Pipeline",
        schedule="rate(2 hours)",
        window_hours=2,
        threshold=0.25,
        min_rows=500,
    )
    statements = [
        statement
        for statement in _statements(template)
        if statement["Action"] == "sagemaker:StartPipelineExecution"
    ]
    assert len(statements) == 1
    assert "pipeline/retraining-pipeline" in json.dumps(statements[0]["Resource"])
    assert "secretsmanager:" not in json.dumps(_statements(template))
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "MaxPsi", "Threshold": 0.25, "Period": 7200}
    )
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(2 hours)"}
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"SAGEMAKER_PIPELINE_NAME": "Retraining-Pipeline", "MIN_ROWS": "500"}
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "lambda"}, "target = 'lambda'; use 'github' or 'sagemaker'"),
        ({"target": "github", "github_repository": "acme"}, "github_repository = 'owner/name'"),
        ({"target": "github", "github_repository": "acme/models"}, "needs github_token_secret"),
        ({"pipeline_name": None}, "target = 'sagemaker' needs pipeline_name"),
        ({"capture_prefix": "capture/prod"}, "capture_prefix = 'capture/prod'"),
        ({"baseline_key": "/baseline.json"}, "baseline_key = '/baseline.json'"),
        ({"threshold": 0}, "threshold = 0: must be in (0, 10)"),
        ({"min_rows": 0}, "min_rows = 0: must be >= 1"),
        ({"window_hours": 25}, "window_hours = 25: must be 1-24"),
        ({"schedule": "every hour"}, "schedule = 'every hour': is not an EventBridge"),
    ],
)
def test_bad_arguments_fail_naming_the_field(kwargs, message):
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    props = {**scratch(stack), "target": "sagemaker", "pipeline_name": "p", **kwargs}
    with pytest.raises(ValueError, match=f"DriftMonitor: .*{re.escape(message)}"):
        DriftMonitor(stack, "DriftMonitor", **props)
