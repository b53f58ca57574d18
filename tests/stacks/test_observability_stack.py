"""ObservabilityStack in the real app: per-environment budget, topic and dashboard."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("env", "limit"), [("dev", 150), ("prod", 1000)])
def test_each_environment_has_its_budget_topic_and_dashboard(synth, env, limit):
    s = synth(env)
    t = s.template(s.stacks.alerting)
    budget = next(iter(t.find_resources("AWS::Budgets::Budget").values()))["Properties"]["Budget"]
    assert budget["BudgetLimit"]["Amount"] == limit
    assert budget["BudgetName"] == f"mlops-cdk-{env}"
    t.resource_count_is("AWS::SNS::Topic", 1)
    assert "AlarmTopicArn" in t.find_outputs("*")
    o = s.template(s.stacks.observability)
    o.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": f"mlops-cdk-{env}"})
    assert "DashboardUrl" in o.find_outputs("*")


def test_prod_keeps_the_topic_key_on_delete(synth):
    s = synth("prod")
    key = next(iter(s.template(s.stacks.alerting).find_resources("AWS::KMS::Key").values()))
    assert key["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sagemaker_path_alarms_on_the_api_p99_and_5xx_and_on_instances(synth, env):
    s = synth(env, serving="sagemaker")
    o = s.template(s.stacks.observability)
    alarms = [a["Properties"] for a in o.find_resources("AWS::CloudWatch::Alarm").values()]
    api_metrics = {
        (query["MetricStat"]["Metric"]["MetricName"], query["MetricStat"]["Stat"])
        for alarm in alarms
        for query in alarm.get("Metrics", [])
        if query.get("MetricStat", {}).get("Metric", {}).get("Namespace") == "AWS/ApiGateway"
    }
    assert api_metrics == {("Latency", "p99"), ("5xx", "Average")}
    down = [a for a in alarms if "is reporting" in a.get("AlarmDescription", "")]
    # Serverless variants publish no instance metrics: an "endpoint down" alarm there would
    # sit in ALARM on a healthy, idle endpoint.
    assert len(down) == (0 if s.stacks.sagemaker.is_serverless else 1)
