"""The drift loop in the real app: capture on both paths, the monitor, its dashboard and alarms."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from mlops_cdk.config import load_settings
from mlops_cdk.constructs.capture_log_routing import CONFIG_MAP_NAME
from mlops_cdk.k8s.manifests import ModelServingSpec
from mlops_cdk.platform import build_platform
from mlops_cdk.stacks.retraining_stack import BASELINE_KEY


def resources(template, resource_type):
    return template.find_resources(resource_type)


def only(template, resource_type, predicate=lambda _: True):
    found = [r for r in resources(template, resource_type).values() if predicate(r)]
    assert len(found) == 1, found
    return found[0]["Properties"]


def container_env(manifests):
    workload = next(m for m in manifests if m["kind"] in ("Deployment", "InferenceService"))
    spec = workload["spec"]
    containers = (
        spec["template"]["spec"]["containers"]
        if workload["kind"] == "Deployment"
        else spec["predictor"]["containers"]
    )
    return {item["name"]: item["value"] for item in containers[0]["env"]}


@pytest.mark.parametrize(("env", "serving"), [("prod", "eks"), ("dev", "sagemaker")])
def test_the_retraining_stack_runs_the_drift_check_of_its_environment(synth, env, serving):
    built = synth(env, serving)
    template = built.template(built.stacks.retraining)
    monitor = built.stacks.retraining.drift_monitor
    assert monitor is not None
    schedules = resources(template, "AWS::Scheduler::Schedule").values()
    assert "cron(10 * * * ? *)" in [s["Properties"]["ScheduleExpression"] for s in schedules]
    function = only(
        template,
        "AWS::Lambda::Function",
        lambda r: "BASELINE_KEY" in r["Properties"].get("Environment", {}).get("Variables", {}),
    )
    # Reserving fails on new accounts (quota 10); idempotency guards each window instead.
    assert "ReservedConcurrentExecutions" not in function
    variables = function["Environment"]["Variables"]
    assert variables["CAPTURE_PREFIX"] == f"capture/{env}/"
    assert variables["BASELINE_KEY"] == BASELINE_KEY == "models/fraud-detection/baseline.json"
    assert (variables["DRIFT_THRESHOLD"], variables["MIN_ROWS"], variables["WINDOW_HOURS"]) == (
        "0.2",
        "200",
        "1",
    )
    assert variables["POWERTOOLS_SERVICE_NAME"] == f"drift-check-{env}"
    assert (variables["DISPATCH_TARGET"], variables["GITHUB_EVENT_TYPE"]) == (
        "github",
        "drift-detected",
    )
    assert "StorageArtifacts" in json.dumps(variables["ARTIFACTS_BUCKET_NAME"])
    assert "DriftCheckFunctionName" in template.find_outputs("*")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_drift_alarms_notify_the_topic_once_on_alarm_and_on_ok(synth, env):
    built = synth(env)
    template = built.template(built.stacks.retraining)
    for metric in ("MaxPsi", "ApproximateNumberOfMessagesVisible"):
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            if props["MetricName"] != metric:
                continue
            assert len(props["AlarmActions"]) == 1, props
            assert len(props["OKActions"]) == 1, props
            assert "AlarmsTopic" in json.dumps(props["AlarmActions"])
    alarms = built.stacks.observability.monitoring.alarms
    assert alarms["DataDrift"] is built.stacks.retraining.drift_monitor.alarm
    assert alarms["DriftCheckFailures"] is built.stacks.retraining.drift_monitor.dlq_alarm


def test_the_dashboard_graphs_max_psi_per_feature_psi_and_captured_rows(synth):
    built = synth("prod", "eks")
    body = json.dumps(
        only(built.template(built.stacks.observability), "AWS::CloudWatch::Dashboard")[
            "DashboardBody"
        ]
    )
    assert "Data drift" in body
    assert '\\"MaxPsi\\"' in body and '\\"CaptureRows\\"' in body
    assert "drift threshold" in body
    assert "SEARCH('{MlopsCdk/Drift,Feature,service} MetricName=" in body
    assert "drift-check-prod" in body


def test_eks_routes_capture_lines_to_the_environment_prefix(synth):
    built = synth("prod", "eks")
    eks = built.stacks.eks
    assert eks is not None and eks.capture_routing is not None
    template = built.template(eks)
    stream = only(template, "AWS::KinesisFirehose::DeliveryStream")
    prefix = stream["ExtendedS3DestinationConfiguration"]["Prefix"]
    assert prefix == "capture/prod/eks/!{timestamp:yyyy/MM/dd/HH}/"
    assert container_env(eks.serving.manifests)["CAPTURE_PERCENT"] == "20"
    config_map = eks.capture_routing.manifests[1]
    assert config_map["metadata"]["name"] == CONFIG_MAP_NAME
    assert "_model-serving_" in config_map["data"]["filters.conf"]
    # The model server's pods start after the log router config exists.
    routing_id = built.stacks.eks.get_logical_id(
        eks.capture_routing.manifest.node.default_child  # type: ignore[arg-type]
    )
    namespace_id = built.stacks.eks.get_logical_id(
        eks.serving.namespace_manifest.node.default_child  # type: ignore[arg-type]
    )
    depends = template.to_json()["Resources"][namespace_id].get("DependsOn", [])
    assert routing_id in depends


def test_sagemaker_captures_under_the_environment_prefix_only_when_it_can(synth):
    prod = synth("prod", "sagemaker")
    config = only(prod.template(prod.stacks.sagemaker), "AWS::SageMaker::EndpointConfig")
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert json.dumps(config["DataCaptureConfig"]["DestinationS3Uri"]).endswith(
        '"/capture/prod"]]}'
    )
    dev = synth("dev", "sagemaker")  # serverless: no capture (drift.capture_percent = 0)
    config = only(dev.template(dev.stacks.sagemaker), "AWS::SageMaker::EndpointConfig")
    assert "DataCaptureConfig" not in config


def test_drift_disabled_and_capture_off_create_neither_part():
    app = cdk.App()
    settings = load_settings(
        {"env": "staging"}, {}, {"drift": {"enabled": False, "capture_percent": 0}}
    )
    stacks = build_platform(app, settings)
    assert stacks.retraining.drift_monitor is None
    assert stacks.eks is not None and stacks.eks.capture_routing is None
    assert container_env(stacks.eks.serving.manifests)["CAPTURE_PERCENT"] == "0"
    assert "DataDrift" not in stacks.observability.monitoring.alarms


@pytest.mark.parametrize("percent", [-1, 101])
def test_a_capture_percent_outside_0_100_is_refused_naming_it(percent):
    with pytest.raises(ValueError, match=rf"capture_percent = {percent}; use 0-100"):
        ModelServingSpec(
            env_name="dev",
            namespace="model-serving",
            image="repo:tag",
            service_account_name="model-server",
            target_group_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/y",
            model_name="fraud-detection",
            capture_percent=percent,
        )
