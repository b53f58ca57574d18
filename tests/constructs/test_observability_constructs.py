"""AlarmTopic, MonthlyBudget and PlatformMonitoring watching real constructs in a scratch app.

Every alarm is pinned down by what it watches (namespace, metric, dimensions), how
(statistic) and when it fires (threshold, comparison, missing data): a "5xx" alarm that
counts 4xx, or a p99 turned into an average, fails here (issue 14).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from mlops_cdk.config import load_settings
from mlops_cdk.constructs import (
    ModelApi,
    PlatformMonitoring,
    RetrainingDispatcher,
    SageMakerBackend,
    SageMakerModelEndpoint,
)
from mlops_cdk.constructs.alarm_topic import AlarmTopic
from mlops_cdk.constructs.monthly_budget import MonthlyBudget
from mlops_cdk.stacks.alerting_stack import AlertingStack
from mlops_cdk.stacks.observability_stack import ObservabilityStack
from tests.cfn_lint import cfn_lint
from tests.conftest import CDK_JSON_CONTEXT

ENV = cdk.Environment(account="123456789012", region="us-east-1")
NOT_BREACHING, BREACHING = "notBreaching", "breaching"


class Serving(cdk.Stack):
    """The constructs the monitoring watches, as the serving and retraining stacks make them."""

    def __init__(self, scope: cdk.App, *, serverless: bool = False) -> None:
        super().__init__(scope, "Serving", env=ENV)
        self.vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        self.endpoint = SageMakerModelEndpoint(
            self,
            "Endpoint",
            endpoint_name="mlops-test-model",
            repository=ecr.Repository.from_repository_name(self, "Repo", "model-server"),
            image_tag="1.0.0",
            model_artifacts_bucket=s3.Bucket.from_bucket_name(self, "Bucket", "artifacts"),
            variant="serverless" if serverless else "realtime",
            vpc=None if serverless else self.vpc,
            data_capture_percent=0,
        )
        self.api = ModelApi(self, "Api", backend=SageMakerBackend(endpoint_name="mlops-test-model"))
        self.dispatcher = RetrainingDispatcher(
            self,
            "Retraining",
            data_bucket=s3.Bucket(self, "Data", event_bridge_enabled=True),
            github_repository="acme/models",
            github_token_secret=secretsmanager.Secret(self, "Token"),
        )
        # The EKS front door: an internal ALB and the ip target group the pods are bound to.
        self.load_balancer = elbv2.ApplicationLoadBalancer(self, "Alb", vpc=self.vpc)
        listener = self.load_balancer.add_listener("Http", port=80, open=False)
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Pods",
            vpc=self.vpc,
            port=8080,
            target_type=elbv2.TargetType.IP,
            protocol=elbv2.ApplicationProtocol.HTTP,
        )
        listener.add_target_groups("Model", target_groups=[self.target_group])


def settings(env: str):
    return load_settings({"env": env}, {}, {"observability": {"alarm_emails": ["ops@example.com"]}})


def templates(outdir: Path, *names: str) -> tuple[Template, list[Path]]:
    """The named stacks' templates as one, so assertions see the topic and its alarms."""
    paths = [outdir / f"{name}.template.json" for name in names]
    resources: dict = {}
    for path in paths:
        resources |= json.loads(path.read_text())["Resources"]
    return Template.from_json({"Resources": resources}), paths


@pytest.fixture(scope="module")
def sagemaker(tmp_path_factory):
    """The SageMaker path through ObservabilityStack, as platform.py wires it (prod)."""
    out = tmp_path_factory.mktemp("sagemaker")
    app = cdk.App(outdir=str(out), context=CDK_JSON_CONTEXT)
    alerting = AlertingStack(app, "Alerting", settings=settings("prod"), env=ENV)
    serving = Serving(app)
    ObservabilityStack(
        app,
        "Obs",
        settings=settings("prod"),
        env=ENV,
        alarm_topic=alerting.alarm_topic,
        dispatcher=serving.dispatcher,
        api=serving.api,
        model_endpoint=serving.endpoint,
    )
    app.synth()
    return (*templates(out, "Alerting", "Obs"), serving)


@pytest.fixture(scope="module")
def eks(tmp_path_factory):
    """The EKS path: the facade's methods on the ALB, target group, API and dispatcher."""
    out = tmp_path_factory.mktemp("eks")
    app = cdk.App(outdir=str(out), context=CDK_JSON_CONTEXT)
    alerting = AlertingStack(app, "Alerting", settings=settings("dev"), env=ENV)
    serving = Serving(app, serverless=True)
    obs = cdk.Stack(app, "Obs", env=ENV)
    monitoring = PlatformMonitoring(
        obs, "Monitoring", alarm_topic=alerting.alarm_topic, dashboard_name="mlops-cdk-dev"
    )
    monitoring.monitor_eks_serving(
        load_balancer=serving.load_balancer,
        target_group=serving.target_group,
        cluster_name="mlops-dev",
        namespace="model-serving",
        container_insights=True,
    )
    monitoring.monitor_api(serving.api)
    monitoring.monitor_endpoint(serving.endpoint)  # serverless
    monitoring.monitor_retraining(serving.dispatcher)
    app.synth()
    return (*templates(out, "Alerting", "Obs"), serving)


def alarms(t: Template) -> dict[str, dict]:
    """Alarms by logical id without CDK's hash suffix."""
    return {
        re.sub(r"[0-9A-F]{8}$", "", logical_id): resource["Properties"]
        for logical_id, resource in t.find_resources("AWS::CloudWatch::Alarm").items()
    }


def export_of(construct: Any, attribute: str | None = None) -> str:
    """How the Obs stack reads a value of ``construct``'s CloudFormation resource."""
    resource = construct.node.default_child if hasattr(construct, "node") else construct
    stack = cdk.Stack.of(resource)
    logical_id = stack.get_logical_id(resource)
    kind = f"FnGetAtt{logical_id}{attribute}" if attribute else f"Ref{logical_id}"
    return f"{stack.stack_name}:PublishOutput{kind}"


def value(raw: Any) -> str:
    """A dimension value as text: literals as they are, stack outputs by name (hash stripped),
    ``Fn::Join``/``Fn::Select``/``Fn::Split`` spelled out."""
    if isinstance(raw, str):
        return raw
    ((function, args),) = raw.items()
    if function == "Fn::GetStackOutput":
        return re.sub(r"[0-9A-F]{8}$", "", f"{args['StackName']}:{args['OutputName']}")
    if function == "Fn::Join":
        return args[0].join(value(part) for part in args[1])
    if function == "Fn::Select":
        return f"{value(args[1])}[{args[0]}]"
    if function == "Fn::Split":
        return f"{value(args[1])}.split({args[0]})"
    raise AssertionError(raw)


def watched(alarm: dict) -> dict:
    """What an alarm watches and when it fires, in one comparable shape."""
    shape = {
        "threshold": alarm["Threshold"],
        "comparison": alarm["ComparisonOperator"],
        "missing": alarm["TreatMissingData"],
    }
    if "Metrics" not in alarm:
        dims = {d["Name"]: value(d["Value"]) for d in alarm.get("Dimensions", [])}
        stat = alarm.get("ExtendedStatistic", alarm.get("Statistic"))
        return {**shape, "metrics": {"": (alarm["Namespace"], alarm["MetricName"], dims, stat)}}
    metrics, expression = {}, None
    for query in alarm["Metrics"]:
        if "Expression" in query:
            expression = query["Expression"]
            continue
        stat = query["MetricStat"]
        metric = stat["Metric"]
        dims = {d["Name"]: value(d["Value"]) for d in metric.get("Dimensions", [])}
        key = "" if expression is None and len(alarm["Metrics"]) == 1 else query["Id"]
        metrics[key] = (metric["Namespace"], metric["MetricName"], dims, stat["Stat"])
    return {**shape, "metrics": metrics, **({"expression": expression} if expression else {})}


def test_topic_is_encrypted_with_a_key_cloudwatch_and_budgets_can_use(sagemaker):
    t, _, _ = sagemaker
    t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    key = next(iter(t.find_resources("AWS::KMS::Key").values()))["Properties"]
    assert key["EnableKeyRotation"] is True
    principals: dict[str, set[str]] = {}
    for statement in key["KeyPolicy"]["Statement"]:
        # With the app's feature flags, CDK merges statements: Service may be a list.
        services = statement.get("Principal", {}).get("Service", [])
        for service in [services] if isinstance(services, str) else services:
            principals[service] = set(statement["Action"])
    for service in ("cloudwatch.amazonaws.com", "budgets.amazonaws.com"):
        assert principals[service] == {"kms:Decrypt", "kms:GenerateDataKey*"}
    policy = next(iter(t.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]
    statements = policy["PolicyDocument"]["Statement"]
    assert any(
        statement["Effect"] == "Allow"
        and statement["Principal"] == {"Service": "budgets.amazonaws.com"}
        and statement["Action"] == "sns:Publish"
        for statement in statements
    )
    assert any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in statements
    )
    t.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_monthly_budget_alerts_on_actual_and_forecast_to_the_topic(sagemaker):
    t, _, _ = sagemaker
    budget = next(iter(t.find_resources("AWS::Budgets::Budget").values()))["Properties"]
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 1000, "Unit": "USD"}
    assert budget["Budget"]["TimeUnit"] == "MONTHLY"
    kinds = sorted(
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    )
    assert kinds == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    for n in budget["NotificationsWithSubscribers"]:
        assert n["Subscribers"][0]["SubscriptionType"] == "SNS"
        assert "Ref" in n["Subscribers"][0]["Address"]


def test_budget_refuses_bad_limits_and_too_many_notifications():
    stack = cdk.Stack(cdk.App(), "S")
    topic = sns.Topic(stack, "T")
    with pytest.raises(ValueError, match="S/B0: limit_usd = 0: must be > 0"):
        MonthlyBudget(stack, "B0", limit_usd=0, topic=topic)
    with pytest.raises(ValueError, match="needs 1 to 4 percentages"):
        MonthlyBudget(stack, "B1", limit_usd=10, topic=topic, alert_percents=(10, 20, 30, 40, 50))


def test_budget_can_count_only_tagged_costs():
    stack = cdk.Stack(cdk.App(), "S")
    MonthlyBudget(
        stack,
        "B",
        limit_usd=10,
        topic=sns.Topic(stack, "T"),
        cost_allocation_tags={"mlops-cdk:env": "dev"},
    )
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


ABOVE, BELOW = "GreaterThanThreshold", "LessThanThreshold"


def expected_alarm(
    threshold: float,
    comparison: str,
    metrics: dict[str, tuple],
    *,
    missing: str = NOT_BREACHING,
    expression: str | None = None,
) -> dict:
    """An alarm as :func:`watched` reads it; ``metrics`` maps ids to (namespace, name, dims, stat)."""
    alarm = {
        "threshold": threshold,
        "comparison": comparison,
        "missing": missing,
        "metrics": metrics,
    }
    if expression is not None:
        alarm["expression"] = expression
    return alarm


def expected_api_alarms(prefix: str, api: ModelApi) -> dict[str, dict]:
    api_dims = {"ApiId": export_of(api.http_api), "Stage": "$default"}
    return {
        # The HTTP API's 5xx metric is 0 or 1 per request: its Average is the 5xx share.
        f"MonitoringFacade{prefix}PredictApiFaultRateCritical": expected_alarm(
            0.05, ABOVE, {"": ("AWS/ApiGateway", "5xx", api_dims, "Average")}
        ),
        f"MonitoringFacade{prefix}PredictApiLatencyP99Critical": expected_alarm(
            500, ABOVE, {"": ("AWS/ApiGateway", "Latency", api_dims, "p99")}
        ),
    }


def expected_dispatcher_alarm(prefix: str, dispatcher: RetrainingDispatcher) -> dict[str, dict]:
    function_dims = {"FunctionName": export_of(dispatcher.function)}
    return {
        f"MonitoringFacade{prefix}RetrainingDispatcherFaultCountCritical": expected_alarm(
            0, ABOVE, {"": ("AWS/Lambda", "Errors", function_dims, "Sum")}
        ),
    }


def expected_endpoint_alarms(*, realtime: bool) -> dict[str, dict]:
    dims = {"EndpointName": "mlops-test-model", "VariantName": "AllTraffic"}
    alarms_ = {
        "MonitoringEndpointErrorRate": expected_alarm(
            5,
            ABOVE,
            {
                "errors": ("AWS/SageMaker", "Invocation5XXErrors", dims, "Sum"),
                "total": ("AWS/SageMaker", "Invocations", dims, "Sum"),
            },
            expression="100 * (FILL(errors, 0)) / FILL(total, 1)",
        ),
        # ModelLatency is in microseconds: 500 ms.
        "MonitoringEndpointLatency": expected_alarm(
            500_000, ABOVE, {"": ("AWS/SageMaker", "ModelLatency", dims, "p99")}
        ),
    }
    if realtime:
        # Instances publish CPUUtilization every minute, idle or busy, with no extra
        # permission: no sample means no instance is up.
        alarms_["MonitoringEndpointDown"] = expected_alarm(
            1,
            BELOW,
            {"": ("/aws/sagemaker/Endpoints", "CPUUtilization", dims, "SampleCount")},
            missing=BREACHING,
        )
    return alarms_


def expected_alb_alarms(serving: Serving) -> dict[str, dict]:
    namespace = "AWS/ApplicationELB"
    alb_dims = {"LoadBalancer": export_of(serving.load_balancer, "LoadBalancerFullName")}
    target_dims = {
        **alb_dims,
        "TargetGroup": export_of(serving.target_group, "TargetGroupFullName"),
    }
    return {
        "MonitoringAlbErrorRate": expected_alarm(
            5,
            ABOVE,
            {
                "target5xx": (namespace, "HTTPCode_Target_5XX_Count", target_dims, "Sum"),
                "elb5xx": (namespace, "HTTPCode_ELB_5XX_Count", alb_dims, "Sum"),
                "total": (namespace, "RequestCount", alb_dims, "Sum"),
            },
            expression="100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / FILL(total, 1)",
        ),
        "MonitoringAlbLatency": expected_alarm(
            0.5, ABOVE, {"": (namespace, "TargetResponseTime", target_dims, "p99")}
        ),
        "MonitoringAlbNoHealthyTargets": expected_alarm(
            1,
            BELOW,
            {"": (namespace, "HealthyHostCount", target_dims, "Minimum")},
            missing=BREACHING,
        ),
        "MonitoringAlbUnhealthyTargets": expected_alarm(
            0, ABOVE, {"": (namespace, "UnHealthyHostCount", target_dims, "Maximum")}
        ),
    }


def test_sagemaker_path_alarms_watch_the_right_metric_statistic_and_threshold(sagemaker):
    t, _, serving = sagemaker
    assert export_of(serving.api.http_api).endswith("ApiHttpApi4C294DC0")  # the real API
    expected = {
        **expected_api_alarms("mlopscdkprod", serving.api),
        **expected_dispatcher_alarm("mlopscdkprod", serving.dispatcher),
        **expected_endpoint_alarms(realtime=True),
    }
    actual = {name: watched(alarm) for name, alarm in alarms(t).items()}
    assert actual == expected


def test_eks_path_alarms_use_the_alb_and_target_group_real_dimensions(eks):
    t, _, serving = eks
    expected = {
        **expected_alb_alarms(serving),
        **expected_api_alarms("mlopscdkdev", serving.api),
        **expected_dispatcher_alarm("mlopscdkdev", serving.dispatcher),
        # The fixture's endpoint is serverless: no instances, so no "endpoint down" alarm.
        **expected_endpoint_alarms(realtime=False),
    }
    actual = {name: watched(alarm) for name, alarm in alarms(t).items()}
    assert actual == expected


def test_no_metrics_insights_or_tag_lookups_remain(sagemaker, eks):
    for t, _, _ in (sagemaker, eks):
        text = json.dumps(t.to_json())
        for fragment in ("SELECT ", "SCHEMA(", "tag."):
            assert fragment not in text, fragment


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(sagemaker, eks):
    for t, _, _ in (sagemaker, eks):
        topic = next(iter(t.find_resources("AWS::SNS::Topic")))
        found = alarms(t)
        assert found
        for alarm in found.values():
            assert alarm["AlarmActions"] == alarm["OKActions"]
            (action,) = alarm["AlarmActions"]
            # The topic lives in the Alerting stack: the alarm reads its output.
            assert value(action) == f"Alerting:PublishOutputRef{topic}"
            assert alarm.get("ActionsEnabled", True) is True


def test_dispatcher_dlq_alarms_are_reused_and_notify_the_topic(sagemaker):
    t, paths, serving = sagemaker
    # No second alarm on the DLQ depth in the observability stack.
    assert not [
        a for a in alarms(t).values() if "ApproximateNumberOfMessagesVisible" in json.dumps(a)
    ]
    retraining = Template.from_json(
        json.loads((paths[0].parent / "Serving.template.json").read_text())
    )
    for alarm in (serving.dispatcher.dlq_alarm, serving.dispatcher.delivery_dlq_alarm):
        logical_id = cdk.Stack.of(alarm).get_logical_id(alarm.node.default_child)
        props = retraining.to_json()["Resources"][logical_id]["Properties"]
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["TreatMissingData"] == NOT_BREACHING
        (action,) = props["AlarmActions"]
        assert value(action).startswith("Alerting:PublishOutputRef")
        assert props["OKActions"] == props["AlarmActions"]


def test_dashboard_graphs_what_each_path_publishes(sagemaker, eks):
    def body(t: Template) -> str:
        (dashboard,) = t.find_resources("AWS::CloudWatch::Dashboard").values()
        return json.dumps(dashboard["Properties"])

    sagemaker_body, eks_body = body(sagemaker[0]), body(eks[0])
    assert '"DashboardName": "mlops-cdk-prod"' in sagemaker_body
    for fragment in (
        "/aws/sagemaker/Endpoints",
        "CPUUtilization",
        "Invocation4XXErrors",
        "AWS/ApiGateway",
        "ObjectsSeen",
        "DispatchFailures",
        "MlopsCdk/Retraining",
        "retrain-dispatch",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert fragment in sagemaker_body, fragment
    for fragment in (
        "TargetResponseTime",
        "HealthyHostCount",
        "UnHealthyHostCount",
        "HTTPCode_Target_5XX_Count",
        "RequestCount",
        "ServerlessConcurrentExecutionsUtilization",
        "pod_cpu_utilization_over_pod_limit",
        "pod_memory_utilization_over_pod_limit",
        "MlopsCdk/ModelServer",
        "fraud_model_requests_total",
        "fraud_model_request_duration_seconds",
        "fraud_model_predicted_rows_total",
        "v1_predict",
        "${PROP('Dim.code')}",
    ):
        assert fragment in eks_body, fragment
    # Serverless endpoints publish no instance metrics; Fargate has no node agent.
    assert "/aws/sagemaker/Endpoints" not in eks_body
    assert "pod_number_of_container_restarts" not in eks_body
    # Fargate pod metrics carry LaunchType (the collector's dimension sets all include it).
    assert '\\"LaunchType\\",\\"fargate\\"' in eks_body


@pytest.mark.parametrize("which", ["eks", "sagemaker"])
def test_templates_pass_cfn_lint(which, request):
    _, paths, _ = request.getfixturevalue(which)
    result = cfn_lint(paths, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_observability_stack_needs_the_cluster_with_eks_serving():
    app = cdk.App(context=CDK_JSON_CONTEXT)
    serving = Serving(app, serverless=True)
    with pytest.raises(ValueError, match="eks_serving needs eks_cluster"):
        ObservabilityStack(
            app,
            "Obs",
            settings=settings("dev"),
            env=ENV,
            alarm_topic=sns.Topic(serving, "T"),
            dispatcher=serving.dispatcher,
            eks_serving=object(),  # type: ignore[arg-type]
        )
