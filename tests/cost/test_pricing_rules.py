"""Pricing rules for the resources the EKS front door, data capture and monitoring bring.

Each test prices a small fixture template with round prices so the figures check by hand.
"""

from __future__ import annotations

import json

import pytest

from mlops_cdk.cost.estimate import PRICED, UnpricedError, classify, estimate, load_prices
from mlops_cdk.cost.pricing import schedule_invocations

HOURS = 730
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"

PRICES = {
    "as_of": "2026-01-01",
    "region": "us-east-1",
    "hours_per_month": HOURS,
    "assumptions": {
        **load_prices()["assumptions"],
        "alb_average_lcu": 1,
        "powertools_metrics_per_function": 6,
        "firehose_records_per_stream_per_month": 2**20,
        "firehose_record_kb": 2,
    },
    "prices": {
        **load_prices()["prices"],
        "alb_hour": 0.02,
        "alb_lcu_hour": 0.01,
        "public_ipv4_hour": 0.005,
        "cloudwatch_custom_metric_month": 0.3,
        "firehose_ingested_gb": 0.1,
        "scheduler_million_invocations": 100.0,
        "scheduler_free_invocations_month": 10_000,
        "sagemaker_mlflow_app_month": 10.0,
    },
}


def resource(kind: str, **props) -> dict:
    return {"Type": kind, "Properties": props}


def subnets(count: int) -> list[dict]:
    zones = "abcdef"[:count]
    return [resource("AWS::EC2::Subnet", AvailabilityZone=f"us-east-1{zone}") for zone in zones]


def ingress_manifest(*ingresses: dict) -> dict:
    return resource("Custom::AWSCDK-EKS-KubernetesResource", Manifest=json.dumps(list(ingresses)))


def ingress(name: str, **annotations: str) -> dict:
    return {"kind": "Ingress", "metadata": {"name": name, "annotations": annotations}}


def line(resources: list[dict], item: str, prices: dict = PRICES):
    lines = estimate(resources, prices).line_items
    return next(line for line in lines if line.item == item)


def test_vpc_link_is_free_and_new_types_are_priced():
    assert classify("AWS::ApiGatewayV2::VpcLink") == "free"
    assert {
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::Scheduler::Schedule",
        "AWS::Logs::MetricFilter",
        "AWS::SageMaker::MlflowApp",
    } <= PRICED
    template = [resource("AWS::ApiGatewayV2::VpcLink", SubnetIds=["a", "b"])]
    assert estimate(template, PRICES).unpriced_resource_types == []


def test_cdk_owned_internet_facing_alb_bills_one_public_ipv4_per_subnet():
    template = [*subnets(2), resource(LOAD_BALANCER, Subnets=["s1", "s2", "s3"])]
    alb = line(template, "Application Load Balancer")
    assert alb.monthly_usd == round(HOURS * (0.02 + 0.01 + 3 * 0.005), 2)  # 32.85
    assert alb.quantity == "1 ALB x 730 h, 1 LCU, 3 public IPv4"
    assert "Ingress" not in alb.note


def test_cdk_owned_internal_alb_has_no_public_ipv4():
    template = [*subnets(2), resource(LOAD_BALANCER, Scheme="internal", Subnets=["s1", "s2"])]
    alb = line(template, "Application Load Balancer")
    assert alb.monthly_usd == round(HOURS * (0.02 + 0.01), 2)  # 21.90
    assert "0 public IPv4" in alb.quantity and "internal" in alb.note


def test_cdk_owned_alb_and_an_ingress_alb_are_both_counted():
    template = [
        *subnets(2),
        resource(LOAD_BALANCER, Scheme="internal", Subnets=["s1", "s2"]),
        ingress_manifest(
            ingress("public", **{"alb.ingress.kubernetes.io/scheme": "internet-facing"})
        ),
    ]
    alb = line(template, "Application Load Balancer")
    assert alb.quantity == "2 ALB x 730 h, 1 LCU, 2 public IPv4"
    assert alb.monthly_usd == round(HOURS * (2 * (0.02 + 0.01) + 2 * 0.005), 2)  # 51.10


def test_ingresses_in_one_group_share_an_alb_and_internal_ingress_has_no_public_ipv4():
    group = {"alb.ingress.kubernetes.io/group.name": "model"}
    template = [
        *subnets(2),
        ingress_manifest(
            ingress("a", **group),
            ingress("b", **group),
            ingress("private", **{"alb.ingress.kubernetes.io/scheme": "internal"}),
        ),
    ]
    alb = line(template, "Application Load Balancer")
    assert alb.quantity == "2 ALB x 730 h, 1 LCU, 2 public IPv4"


def test_network_load_balancer_is_an_error_naming_the_type():
    with pytest.raises(UnpricedError, match="Type 'network' has no price rule"):
        estimate([resource(LOAD_BALANCER, Type="network")], PRICES)


@pytest.mark.parametrize(("record_kb", "usd"), [(2, 0.5), (5, 0.5), (6, 1.0)])
def test_firehose_bills_ingested_gb_in_5_kb_steps(record_kb, usd):
    prices = {**PRICES, "assumptions": {**PRICES["assumptions"], "firehose_record_kb": record_kb}}
    # 2**20 records x 5 KB (or 10 KB) = 5 GB (or 10 GB) at $0.10.
    firehose = line([resource("AWS::KinesisFirehose::DeliveryStream")], "Data Firehose", prices)
    assert firehose.monthly_usd == usd


def test_scheduler_bills_invocations_beyond_the_free_tier():
    every_minute = resource("AWS::Scheduler::Schedule", ScheduleExpression="rate(1 minute)")
    nightly = resource("AWS::Scheduler::Schedule", ScheduleExpression="cron(0 2 * * ? *)")
    # 43,800 + 30.4 invocations, 10,000 free, $100 per million.
    scheduler = line([every_minute, nightly], "EventBridge Scheduler")
    assert scheduler.monthly_usd == round((43_800 + 730 / 24 - 10_000) / 1e6 * 100, 2)  # 3.38
    within_free_tier = line([nightly], "EventBridge Scheduler")
    assert within_free_tier.monthly_usd == 0.0


@pytest.mark.parametrize(
    ("expression", "invocations"),
    [
        ("rate(1 minute)", 43_800),
        ("rate(5 minutes)", 8_760),
        ("rate(2 hours)", 365),
        ("rate(1 day)", 730 / 24),
        ("cron(0 2 * * ? *)", 730 / 24),
        ("cron(0/15 * * * ? *)", 4 * 24 * 730 / 24),
        ("cron(0 12 1 * ? *)", 1),
        ("cron(0 12 1 1 ? *)", 1 / 12),
        ("cron(0 9 ? * 2-6 *)", 5 / 7 * 730 / 24),
        ("at(2027-01-01T00:00:00)", 1),
        ({"Ref": "Expression"}, 43_800),
    ],
)
def test_schedule_invocations(expression, invocations):
    assert schedule_invocations(expression, HOURS) == pytest.approx(invocations)


def test_schedule_with_day_names_errs_high():
    assert schedule_invocations("cron(0 9 ? * MON-FRI *)", HOURS) >= 5 / 7 * 730 / 24


def test_custom_metrics_from_metric_filters_and_powertools_functions():
    template = [
        resource(
            "AWS::Logs::MetricFilter",
            MetricTransformations=[{"MetricName": "Errors"}, {"MetricName": "Timeouts"}],
        ),
        resource(
            "AWS::Lambda::Function",
            Environment={"Variables": {"POWERTOOLS_METRICS_NAMESPACE": "MlopsCdk/Retraining"}},
        ),
        resource("AWS::Lambda::Function", Environment={"Variables": {}}),
    ]
    metrics = line(template, "CloudWatch custom metrics")
    assert metrics.monthly_usd == round((2 + 6) * 0.3, 2)  # 2.40


def test_no_custom_metrics_line_without_custom_metrics():
    lines = estimate([resource("AWS::Lambda::Function")], PRICES).line_items
    assert "CloudWatch custom metrics" not in {line.item for line in lines}


def test_mlflow_app_is_priced_from_the_table_with_a_dated_source():
    app = line([resource("AWS::SageMaker::MlflowApp")], "SageMaker MLflow App (serverless)")
    assert app.monthly_usd == 10.0
    assert "artifacts are priced under S3" in app.note
    prices = load_prices()
    assert prices["prices"]["sagemaker_mlflow_app_month"] == 0.0
    source = prices["sources"]["sagemaker_mlflow_app_month"]
    assert source["checked"] == "2026-12-04" and source["url"].startswith("https://aws.amazon.com/")
    assert "no additional" in source["basis"]
    assert "firehose_ingested_gb" in prices["sources"]
