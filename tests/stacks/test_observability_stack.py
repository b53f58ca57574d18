"""ObservabilityStack in the real app: per-environment budget, topic and dashboard."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("env", "limit"), [("dev", 150), ("prod", 1000)])
def test_each_environment_has_its_budget_topic_and_dashboard(synth, env, limit):
    s = synth(env)
    t = s.template(s.stacks.observability)
    budget = next(iter(t.find_resources("AWS::Budgets::Budget").values()))["Properties"]["Budget"]
    assert budget["BudgetLimit"]["Amount"] == limit
    assert budget["BudgetName"] == f"mlops-cdk-{env}"
    t.resource_count_is("AWS::SNS::Topic", 1)
    t.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": f"mlops-cdk-{env}"})
    assert {"AlarmTopicArn", "DashboardUrl"} <= set(t.find_outputs("*"))


def test_prod_keeps_the_topic_key_on_delete(synth):
    s = synth("prod")
    key = next(iter(s.template(s.stacks.observability).find_resources("AWS::KMS::Key").values()))
    assert key["DeletionPolicy"] == "Retain"
