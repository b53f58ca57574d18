"""AlarmTopic, MonthlyBudget, PlatformMonitoring wired to small fakes of the serving/retraining
objects, synthesized under cdk-nag and checked with cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from mlops_cdk.config import load_settings
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs.alarm_topic import AlarmTopic
from mlops_cdk.constructs.monthly_budget import MonthlyBudget
from mlops_cdk.constructs.platform_monitoring import PlatformMonitoring
from mlops_cdk.platform import add_security_checks
from mlops_cdk.stacks.alerting_stack import AlertingStack
from mlops_cdk.stacks.observability_stack import ObservabilityStack

ENV = cdk.Environment(account="123456789012", region="us-east-1")


def fakes(stack: cdk.Stack) -> dict:
    """What the serving and retraining stacks will pass, built from plain CDK objects."""
    fn = lambda_.Function(
        stack, "Dispatcher", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )  # fmt: skip
    dlq = sqs.Queue(stack, "Dlq", enforce_ssl=True)
    queue = sqs.Queue(
        stack, "Queue", enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
    )  # fmt: skip
    api = apigwv2.HttpApi(stack, "Api")
    return {"dispatcher_function": fn, "dispatch_queue": queue, "dead_letter_queue": dlq,
            "http_api": api}  # fmt: skip


def merged(outdir: Path) -> tuple[Template, list[Path]]:
    """The Alerting and Obs templates as one, so assertions see the topic and its alarms."""
    paths = [outdir / "Alerting.template.json", outdir / "Obs.template.json"]
    resources: dict = {}
    for path in paths:
        resources |= json.loads(path.read_text())["Resources"]
    return Template.from_json({"Resources": resources}), paths


def synth_stack(tmp_path: Path, env: str, **monitored) -> tuple[Template, list[Path]]:
    app = cdk.App(outdir=str(tmp_path))
    settings = load_settings(
        {"env": env}, {}, {"observability": {"alarm_emails": ["ops@example.com"]}}
    )
    alerting = AlertingStack(app, "Alerting", settings=settings, env=ENV)
    ObservabilityStack(
        app, "Obs", settings=settings, env=ENV, alarm_topic=alerting.alarm_topic, **monitored
    )
    add_security_checks(app)
    app.synth()
    return merged(tmp_path)


@pytest.fixture(scope="module")
def eks(tmp_path_factory):
    return synth_stack(
        tmp_path_factory.mktemp("eks"), "prod",
        load_balancer_name="mlops-prod-model", eks_cluster_name="mlops-prod", eks_namespace="model-serving",
    )  # fmt: skip


@pytest.fixture(scope="module")
def sagemaker(tmp_path_factory):
    """SageMaker realtime + API + retraining, the fakes living in the same stack."""
    out = tmp_path_factory.mktemp("sm")
    app = cdk.App(outdir=str(out))
    settings = load_settings({"env": "dev"}, {})
    alerting = AlertingStack(app, "Alerting", settings=settings, env=ENV)
    stack = ObservabilityStack(
        app, "Obs", settings=settings, env=ENV, alarm_topic=alerting.alarm_topic,
        sagemaker_endpoint_name="mlops-dev-model", sagemaker_variant_name="AllTraffic",
    )  # fmt: skip
    PlatformMonitoring(
        stack, "ServerlessMonitoring", alarm_topic=alerting.alarm_topic,
        sagemaker_endpoint_name="mlops-dev-serverless", serverless=True, **fakes(stack),
    )  # fmt: skip
    for child in stack.node.find_all():
        if isinstance(child, lambda_.Function):
            acknowledge(
                child,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "test fake",
            )
            acknowledge(child, "AwsSolutions-L1", "test fake")
        if isinstance(child, sqs.Queue) and child.node.id == "Dlq":
            acknowledge(child, "AwsSolutions-SQS3", "test fake: it is the DLQ")
        if isinstance(child, apigwv2.HttpApi):
            for rule in ("AwsSolutions-APIG1", "AwsSolutions-APIG4"):
                acknowledge(child, rule, "test fake")
    add_security_checks(app)
    app.synth()
    return merged(out)


def alarms(t: Template) -> dict:
    return {k: v["Properties"] for k, v in t.find_resources("AWS::CloudWatch::Alarm").items()}


def by_description(t: Template, fragment: str) -> list[dict]:
    return [a for a in alarms(t).values() if fragment in a["AlarmDescription"]]


def test_topic_is_encrypted_with_a_key_cloudwatch_and_budgets_can_use(eks):
    t, _ = eks
    t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    key = next(iter(t.find_resources("AWS::KMS::Key").values()))["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = {
        s["Principal"]["Service"]: s["Action"]
        for s in key["KeyPolicy"]["Statement"] if "Service" in s.get("Principal", {})
    }  # fmt: skip
    for service in ("cloudwatch.amazonaws.com", "budgets.amazonaws.com"):
        assert set(principals[service]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    policy = next(iter(t.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]
    statements = policy["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "budgets.amazonaws.com"}
               and s["Action"] == "sns:Publish" for s in statements)  # fmt: skip
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)  # fmt: skip
    t.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_monthly_budget_alerts_on_actual_and_forecast_to_the_topic(eks):
    t, _ = eks
    budget = next(iter(t.find_resources("AWS::Budgets::Budget").values()))["Properties"]
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 1000, "Unit": "USD"}
    assert budget["Budget"]["TimeUnit"] == "MONTHLY"
    kinds = sorted((n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
                   for n in budget["NotificationsWithSubscribers"])  # fmt: skip
    assert kinds == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    for n in budget["NotificationsWithSubscribers"]:
        assert n["Subscribers"][0]["SubscriptionType"] == "SNS"
        assert "Ref" in n["Subscribers"][0]["Address"]


def test_eks_alarms_find_the_controller_alb_by_tags_with_metrics_insights(eks):
    t, _ = eks
    error_rate = by_description(t, "answer 5xx")[0]
    queries = [
        m["Expression"] for m in error_rate["Metrics"] if "SELECT" in m.get("Expression", "")
    ]
    assert len(queries) == 3
    for q in queries:
        assert 'FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)' in q
        assert "tag.\"elbv2.k8s.aws/cluster\" = 'mlops-prod'" in q
        assert "tag.\"mlops-cdk:env\" = 'prod'" in q
    healthy = by_description(t, "No healthy model-server pods")[0]
    assert healthy["TreatMissingData"] == "breaching"
    assert healthy["ComparisonOperator"] == "LessThanThreshold"
    assert "MIN(HealthyHostCount)" in healthy["Metrics"][0]["Expression"]
    latency = by_description(t, "Average target response time")[0]
    assert latency["Threshold"] == 0.25
    assert error_rate["Threshold"] == 5
    assert error_rate["TreatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_topic_and_sets_missing_data(eks, sagemaker):
    for t, _ in (eks, sagemaker):
        topic = next(iter(t.find_resources("AWS::SNS::Topic")))
        for alarm in alarms(t).values():
            assert alarm["AlarmActions"] == alarm["OKActions"]
            (action,) = alarm["AlarmActions"]
            # The topic lives in the Alerting stack: the alarm imports its export.
            assert action["Fn::ImportValue"].startswith(f"Alerting:ExportsOutputRef{topic}")
            assert alarm["TreatMissingData"] in ("breaching", "notBreaching")


def test_dashboard_has_eks_widgets(eks):
    t, _ = eks
    body = json.dumps(
        next(iter(t.find_resources("AWS::CloudWatch::Dashboard").values()))["Properties"][
            "DashboardBody"
        ]
    )
    for fragment in ("TargetResponseTime", "LoadBalancer=mlops-prod-model", "p99",
                     "pod_cpu_utilization_over_pod_limit", "pod_memory_utilization_over_pod_limit",
                     "HTTPCode_Target_5XX_Count", "RequestCount"):  # fmt: skip
        assert fragment in body, fragment
    # Fargate pod metrics carry LaunchType (the collector's dimension sets all include it).
    assert '\\"LaunchType\\",\\"fargate\\"' in body
    assert "pod_number_of_container_restarts" not in body  # no node agent on Fargate
    # The model server's own Prometheus metrics, as the ADOT collector names them.
    for fragment in ("MlopsCdk/ModelServer", "fraud_model_requests_total",
                     "fraud_model_request_duration_seconds", "fraud_model_predicted_rows_total",
                     "v1_predict", "${PROP('Dim.code')}"):  # fmt: skip
        assert fragment in body, fragment


def test_sagemaker_api_and_retraining_alarms(sagemaker):
    t, _ = sagemaker
    latency = by_description(t, "p99 model latency of mlops-dev-model")[0]
    assert latency["Metrics"][0]["MetricStat"]["Stat"] == "p99"
    assert latency["Threshold"] == 500_000  # microseconds
    down = by_description(t, "No instance of mlops-dev-model")
    assert down and down[0]["TreatMissingData"] == "breaching"
    assert not by_description(t, "No instance of mlops-dev-serverless"), (
        "serverless has no instances"
    )
    assert by_description(t, "API requests answer 5xx")
    assert by_description(t, "p99 API latency")
    dlq = by_description(t, "dead-letter queue; inspect")[0]
    assert (dlq["Threshold"], dlq["ComparisonOperator"], dlq["TreatMissingData"]) == (
        0,
        "GreaterThanThreshold",
        "notBreaching",
    )
    errors = by_description(t, "dispatcher Lambda failed")[0]
    assert errors["MetricName"] == "Errors" and errors["Namespace"] == "AWS/Lambda"
    dashboards = t.find_resources("AWS::CloudWatch::Dashboard")
    body = json.dumps([d["Properties"]["DashboardBody"] for d in dashboards.values()])
    for fragment in ("ServerlessConcurrentExecutionsUtilization", "/aws/sagemaker/Endpoints",
                     "Invocation4XXErrors", "ObjectsSeen", "DispatchFailures", "MlopsCdk/Retraining",
                     "AWS/ApiGateway"):  # fmt: skip
        assert fragment in body, fragment


@pytest.mark.parametrize("which", ["eks", "sagemaker"])
def test_templates_pass_cfn_lint(which, request):
    _, paths = request.getfixturevalue(which)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, paths), "--format", "parseable",
         "--non-zero-exit-code", "error", "--ignore-checks", "W3005"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_alb_monitoring_without_tags_or_cluster_is_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="load_balancer_tags or eks_cluster_name"):
        PlatformMonitoring(stack, "M", alarm_topic=sns.Topic(stack, "T"), load_balancer_name="x")


def test_budget_refuses_bad_limits_and_too_many_notifications():
    stack = cdk.Stack(cdk.App(), "S")
    topic = sns.Topic(stack, "T")
    with pytest.raises(ValueError, match="S/B0: limit_usd = 0: must be > 0"):
        MonthlyBudget(stack, "B0", limit_usd=0, topic=topic)
    with pytest.raises(ValueError, match="needs 1 to 4 percentages"):
        MonthlyBudget(stack, "B1", limit_usd=10, topic=topic, alert_percents=(10, 20, 30, 40, 50))


def test_budget_can_count_only_tagged_costs():
    stack = cdk.Stack(cdk.App(), "S")
    MonthlyBudget(stack, "B", limit_usd=10, topic=sns.Topic(stack, "T"),
                  cost_allocation_tags={"mlops-cdk:env": "dev"})  # fmt: skip
    Template.from_stack(stack).has_resource_properties(
        "AWS::Budgets::Budget",
        {"Budget": {"CostFilters": {"TagKeyValue": ["user:mlops-cdk:env$dev"]}}},
    )


def test_existing_topic_is_reused_without_a_new_key():
    stack = cdk.Stack(cdk.App(), "S")
    existing = sns.Topic.from_topic_arn(stack, "T", "arn:aws:sns:us-east-1:123456789012:ops")
    topic = AlarmTopic(stack, "A", existing_topic=existing)
    assert topic.topic is existing and topic.encryption_key is None
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 0)
