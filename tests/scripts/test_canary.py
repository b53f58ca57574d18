"""scripts/canary.py: the release plan, the canary verdict and status, against moto's AWS."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from mlops_cdk.canary import canary_alarm_name
from scripts.canary import (
    CanaryMetrics,
    Thresholds,
    judge,
    listener_weights,
    main,
    read_metrics,
    release_plan,
)
from tests.conftest import ROOT

REGION = "us-east-1"
EKS_STACK = "MlopsCdk-prod-EksServing"


class DeployedStacks:
    """A boto3 session under moto whose CloudFormation DescribeStacks answers from ``stacks``.

    The script reads stack outputs with DescribeStacks only; moto's CloudFormation would need
    its ``cloudformation`` extra (API Gateway's OpenAPI validator and more), so that one call
    is answered here, the way botocore's Stubber answers, and everything else by moto.
    """

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.stacks: dict[str, dict[str, str]] = {}

    def client(self, name: str, **kwargs):
        client = self.session.client(name, **kwargs)
        if name == "cloudformation":
            events = client.meta.events
            events.register("before-parameter-build.cloudformation.DescribeStacks", self._name)
            events.register("before-call.cloudformation.DescribeStacks", self._describe_stacks)
        return client

    @staticmethod
    def _name(params, context, **_):
        context["stack_name"] = params["StackName"]

    def _describe_stacks(self, context, **_):
        name = context["stack_name"]
        if name not in self.stacks:
            error = {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}
            return AWSResponse(None, 400, {}, None), {
                "Error": error,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.stacks[name].items()]
        stack = {"StackName": name, "StackStatus": "UPDATE_COMPLETE", "Outputs": outputs}
        return AWSResponse(None, 200, {}, None), {"Stacks": [stack]}


@pytest.fixture
def aws(moto_credentials, monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with mock_aws():
        yield DeployedStacks(boto3.Session(region_name=REGION))


def create_stack(session: DeployedStacks, name: str, outputs: dict[str, str]) -> None:
    session.stacks[name] = outputs


def eks_canary(session, *, canary_percent: int = 10) -> dict[str, str]:
    """An ALB with a stable and a canary target group, weighted like the construct's rule."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
        for i, z in enumerate("ab")
    ]
    elbv2 = session.client("elbv2")
    balancer = elbv2.create_load_balancer(
        Name="mlops-prod-model",
        Subnets=[subnet["Subnet"]["SubnetId"] for subnet in subnets],
        Scheme="internal",
    )["LoadBalancers"][0]
    groups = {
        track: elbv2.create_target_group(
            Name=f"model-{track}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for track in ("stable", "canary")
    }
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "application/json"},
            }
        ],
    )["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/v1/models/fraud-detection*"]}],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": groups["stable"], "Weight": 100 - canary_percent},
                        {"TargetGroupArn": groups["canary"], "Weight": canary_percent},
                    ]
                },
            }
        ],
    )
    outputs = {
        "StableImageTag": "1.4.0",
        "CanaryImageTag": "1.5.0",
        "ModelListenerArn": listener,
        "LoadBalancerFullName": balancer["LoadBalancerArn"].split(":loadbalancer/")[1],
        "CanaryTargetGroupFullName": groups["canary"].split(":")[-1],
    }
    create_stack(session, EKS_STACK, outputs)
    return outputs


def put_traffic(session, outputs, *, requests: float, errors: float, target_group=None) -> None:
    dimensions = [
        {"Name": "LoadBalancer", "Value": outputs["LoadBalancerFullName"]},
        {"Name": "TargetGroup", "Value": target_group or outputs["CanaryTargetGroupFullName"]},
    ]
    when = datetime.now(UTC) - timedelta(minutes=3)
    session.client("cloudwatch").put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": when}
            for name, value in (("RequestCount", requests), ("HTTPCode_Target_5XX_Count", errors))
        ],
    )


def canary_alarms(session, states: dict[str, str]) -> None:
    """prod's canary alarms in ``states``: the script reads their states only, not their metric."""
    cloudwatch = session.client("cloudwatch")
    for kind, state in states.items():
        name = canary_alarm_name("prod", kind)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            EvaluationPeriods=3,
            Threshold=0.5,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def run(session, capsys, *argv: str, sleep=None) -> tuple[int, dict, str]:
    code = main(list(argv), session=session, sleep=sleep or (lambda seconds: None))
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


# -- analyze on EKS ----------------------------------------------------------------------------


def test_a_healthy_canary_passes(aws, capsys):
    outputs = eks_canary(aws)
    put_traffic(aws, outputs, requests=200, errors=2)
    put_traffic(aws, outputs, requests=5000, errors=4000, target_group="targetgroup/other/1")
    code, verdict, _ = run(aws, capsys, "analyze", "--env", "prod", "--minutes", "10")
    assert code == 0, verdict
    assert verdict["passed"] is True and verdict["reasons"] == []
    # Only the canary group's own metrics count: the other group's 80 % errors are ignored.
    assert (verdict["requests"], verdict["errors_5xx"]) == (200, 2)
    assert verdict["error_rate_percent"] == 1.0
    assert (verdict["stable_tag"], verdict["canary_tag"]) == ("1.4.0", "1.5.0")
    assert verdict["thresholds"]["error_rate_percent"] == 5.0  # prod's observability setting


def test_a_canary_answering_5xx_fails_saying_why(aws, capsys, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs = eks_canary(aws)
    put_traffic(aws, outputs, requests=200, errors=20)
    code, verdict, err = run(aws, capsys, "analyze", "--env", "prod", "--minutes", "10")
    assert code == 1
    assert verdict["passed"] is False
    assert "5xx rate 10.00% (20 of 200) is above 5.0% (observability.error_rate_percent)" in err
    assert "prod: release failed" in err
    assert "FAILED" in summary.read_text() and "5xx rate 10.00%" in summary.read_text()


def test_a_canary_without_traffic_cannot_be_judged(aws, capsys):
    eks_canary(aws)
    code, verdict, _ = run(aws, capsys, "analyze", "--env", "prod", "--minutes", "5")
    assert code == 1
    assert "served 0 requests in 5 min" in verdict["reasons"][0]


def analyze_waiting(
    session, capsys, *, requests: float, alarms: dict[str, str], minutes: int
) -> tuple[int, dict, list[float]]:
    """``analyze --wait`` of a canary with ``requests`` and no errors: code, verdict, sleeps."""
    put_traffic(session, eks_canary(session), requests=requests, errors=0)
    canary_alarms(session, alarms)
    slept: list[float] = []
    argv = ("analyze", "--env", "prod", "--minutes", str(minutes), "--wait")
    code, verdict, _ = run(session, capsys, *argv, sleep=slept.append)
    return code, verdict, slept


def test_waiting_stops_at_the_first_canary_alarm(aws, capsys):
    alarms = {"error-rate": "OK", "p99-latency": "ALARM"}
    code, verdict, slept = analyze_waiting(aws, capsys, requests=200, alarms=alarms, minutes=15)
    assert code == 1
    assert slept == [60]  # one minute, not fifteen
    assert verdict["reasons"][0] == (
        "alarm mlops-cdk-prod-canary-p99-latency went to ALARM after 1 min"
    )


def test_waiting_the_whole_window_when_the_alarms_stay_ok(aws, capsys):
    alarms = {"error-rate": "OK", "p99-latency": "OK"}
    code, verdict, slept = analyze_waiting(aws, capsys, requests=50, alarms=alarms, minutes=3)
    assert (code, verdict["passed"], slept) == (0, True, [60, 60, 60])


def test_analyze_without_a_deployed_canary_fails(aws, capsys):
    create_stack(aws, EKS_STACK, {"StableImageTag": "1.4.0", "CanaryImageTag": "none"})
    code, verdict, _ = run(aws, capsys, "analyze", "--env", "prod")
    assert code == 1
    assert "runs no canary" in verdict["reasons"][0]


def test_p99_is_read_per_minute_and_the_highest_minute_counts():
    """moto has no percentiles: the p99 query is checked on botocore's own stubber."""
    cloudwatch = boto3.client(
        "cloudwatch", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    end = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    start = end - timedelta(minutes=10)
    dimensions = [
        {"Name": "LoadBalancer", "Value": "app/mlops-prod-model/1"},
        {"Name": "TargetGroup", "Value": "targetgroup/canary/2"},
    ]
    with Stubber(cloudwatch) as stubber:
        stubber.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "requests", "Values": [100.0, 120.0], "StatusCode": "Complete"},
                    {"Id": "errors", "Values": [1.0], "StatusCode": "Complete"},
                    {"Id": "p99", "Values": [0.2, 0.74, 0.3], "StatusCode": "Complete"},
                ]
            },
            {
                "MetricDataQueries": [
                    {
                        "Id": query_id,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/ApplicationELB",
                                "MetricName": name,
                                "Dimensions": dimensions,
                            },
                            "Period": 60,
                            "Stat": stat,
                        },
                    }
                    for query_id, name, stat in (
                        ("requests", "RequestCount", "Sum"),
                        ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
                        ("p99", "TargetResponseTime", "p99"),
                    )
                ],
                "StartTime": start,
                "EndTime": end,
            },
        )
        metrics = read_metrics(
            cloudwatch,
            load_balancer="app/mlops-prod-model/1",
            target_group="targetgroup/canary/2",
            start=start,
            end=end,
        )
    assert metrics == CanaryMetrics(requests=220.0, errors_5xx=1.0, p99_seconds=0.74)
    verdict = judge(metrics, Thresholds(error_rate_percent=5, p99_latency_ms=500), 10)
    assert verdict["reasons"] == [
        "p99 target response time 740 ms is above 500 ms (observability.p99_latency_ms)"
    ]


# -- the decisions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metrics", "passed"),
    [
        (CanaryMetrics(requests=1000, errors_5xx=50, p99_seconds=0.5), True),  # at the limits
        (CanaryMetrics(requests=1000, errors_5xx=51, p99_seconds=0.1), False),
        (CanaryMetrics(requests=1000, errors_5xx=0, p99_seconds=0.501), False),
        (CanaryMetrics(requests=9, errors_5xx=0, p99_seconds=0.1), False),  # below min_requests
    ],
)
def test_judge_compares_with_the_thresholds(metrics, passed):
    thresholds = Thresholds(error_rate_percent=5, p99_latency_ms=500, min_requests=10)
    assert judge(metrics, thresholds, 15)["passed"] is passed


@pytest.mark.parametrize(
    ("serving", "stable", "new", "mode"),
    [
        ("eks", "1.4.0", "1.5.0", "canary"),
        ("eks", None, "1.5.0", "direct"),
        ("eks", "1.5.0", "1.5.0", "direct"),
        ("sagemaker", "1.4.0", "1.5.0", "blue-green"),
    ],
)
def test_release_plan(serving, stable, new, mode):
    assert release_plan(serving=serving, stable_tag=stable, new_tag=new)["mode"] == mode


def test_listener_weights_of_a_single_forward_action():
    rules = [
        {"Actions": [{"Type": "fixed-response"}]},
        {"Actions": [{"Type": "forward", "TargetGroupArn": "arn:...:targetgroup/stable/1"}]},
    ]
    assert listener_weights(rules, None) == [
        {"target_group": "arn:...:targetgroup/stable/1", "track": "stable", "weight": 1}
    ]


# -- plan and status ---------------------------------------------------------------------------


def test_plan_reads_the_stable_tag_and_writes_the_github_outputs(
    aws, capsys, tmp_path, monkeypatch
):
    github_output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    create_stack(aws, EKS_STACK, {"StableImageTag": "1.4.0", "CanaryImageTag": "none"})
    code, plan, _ = run(aws, capsys, "plan", "--env", "prod", "--new-tag", "1.5.0")
    assert code == 0 and plan["mode"] == "canary"
    lines = github_output.read_text().splitlines()
    assert {"mode=canary", "serving=eks", "stable_tag=1.4.0"} <= set(lines)


def test_plan_of_a_first_deploy_and_of_sagemaker(aws, capsys):
    assert run(aws, capsys, "plan", "--env", "prod", "--new-tag", "1.5.0")[1]["mode"] == "direct"
    assert run(aws, capsys, "plan", "--env", "dev", "--new-tag", "1.5.0")[1]["mode"] == "blue-green"


def test_status_prints_both_tags_the_weights_and_the_alarms(aws, capsys):
    outputs = eks_canary(aws, canary_percent=25)
    canary_alarms(aws, {"error-rate": "OK", "p99-latency": "ALARM"})
    code, status, _ = run(aws, capsys, "status", "--env", "prod")
    assert code == 0
    assert (status["stable_tag"], status["canary_tag"]) == ("1.4.0", "1.5.0")
    weights = {entry["track"]: entry["weight"] for entry in status["weights"]}
    assert weights == {"stable": 75, "canary": 25}
    canary = next(entry for entry in status["weights"] if entry["track"] == "canary")
    assert canary["target_group"].endswith(outputs["CanaryTargetGroupFullName"])
    assert status["alarms"] == {
        "mlops-cdk-prod-canary-error-rate": "OK",
        "mlops-cdk-prod-canary-p99-latency": "ALARM",
    }


def test_status_of_an_environment_not_deployed(aws, capsys):
    code, _, err = run(aws, capsys, "status", "--env", "staging")
    assert code == 1 and "MlopsCdk-staging-EksServing is not deployed" in err


# -- SageMaker: the same step reports the blue/green outcome ------------------------------------


def sagemaker_endpoint(session, image_tag: str) -> None:
    sagemaker = session.client("sagemaker")
    image = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/model:{image_tag}"
    sagemaker.create_model(
        ModelName="model",
        PrimaryContainer={"Image": image},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="fraud", EndpointConfigName="config")
    create_stack(session, "MlopsCdk-dev-SageMakerServing", {"EndpointName": "fraud"})


def test_sagemaker_endpoint_serving_the_new_tag_passes(aws, capsys):
    sagemaker_endpoint(aws, "1.5.0")
    code, verdict, _ = run(aws, capsys, "analyze", "--env", "dev", "--expect-tag", "1.5.0")
    assert code == 0, verdict
    assert (verdict["serving"], verdict["status"]) == ("sagemaker", "InService")


def test_sagemaker_rollback_fails_the_release_saying_so(aws, capsys):
    sagemaker_endpoint(aws, "1.4.0")
    code, verdict, err = run(aws, capsys, "analyze", "--env", "dev", "--expect-tag", "1.5.0")
    assert code == 1
    assert "SageMaker rolled the blue/green update back" in verdict["reasons"][0]
    assert "release failed" in err


# -- the Makefile targets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "variables", "message"),
    [
        ("canary-status", ["ENV=qa"], "ENV = 'qa': must be dev, staging or prod"),
        ("canary-analyze", ["ENV=prod'; touch injected; '"], "must be dev, staging or prod"),
        ("canary-analyze", ["ENV=prod", "MINUTES=ten"], "MINUTES = 'ten': must be a whole number"),
        ("canary-analyze", ["ENV=prod", "MINUTES=0"], "MINUTES = '0': must be a whole number"),
    ],
)
def test_make_targets_validate_env_and_minutes_before_anything_runs(target, variables, message):
    result = subprocess.run(
        ["make", "--no-print-directory", target, *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr
    assert not (ROOT / "injected").exists()


def test_make_canary_analyze_passes_its_variables_quoted():
    result = subprocess.run(
        ["make", "-n", "canary-analyze", "ENV=prod", "MINUTES=20", "WAIT=true", "IMAGE_TAG=1.5.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    command = " ".join(result.stdout.replace("\\\n", " ").split())
    assert (
        "-m scripts.canary analyze --env 'prod' --minutes '20' --wait --expect-tag '1.5.0'"
        in command
    )
