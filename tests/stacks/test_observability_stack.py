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
