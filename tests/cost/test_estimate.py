"""Cost estimator: arithmetic on a small fixture template, and full coverage of resource types."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlops_cdk.cost.estimate import (
    FREE,
    PRICED,
    PRICES_FILE,
    classify,
    estimate,
    estimate_assembly,
    load_prices,
    reference_design,
)
from mlops_cdk.fargate import parse_cpu, parse_memory
from tests.conftest import ENVS, ROOT, SERVINGS

HOURS = 730

# Round prices so the expected figures below can be checked by hand.
PRICES = {
    "as_of": "2026-01-01",
    "region": "us-east-1",
    "hours_per_month": HOURS,
    "assumptions": {
        **load_prices()["assumptions"],
        "requests_per_month": 2_000_000,
        "nat_data_processed_gb_per_month": 100,
        "interface_endpoint_data_gb_per_month": 0,
        "alb_average_lcu": 1,
        "serverless_inference_duration_ms": 500,
        "request_payload_kb": 0,
        "kms_requests_per_key_per_month": 0,
        "container_insights_metrics_per_cluster": 10,
        "eks_system_pods": [{"name": "CoreDNS", "count": 2, "vcpu": 0.25, "memory_gb": 0.5}],
    },
    "prices": {
        **load_prices()["prices"],
        "eks_cluster_hour": 0.1,
        "fargate_vcpu_hour": 0.04,
        "fargate_gb_hour": 0.005,
        "nat_gateway_hour": 0.05,
        "nat_gateway_gb": 0.05,
        "public_ipv4_hour": 0.005,
        "alb_hour": 0.02,
        "alb_lcu_hour": 0.01,
        "interface_endpoint_az_hour": 0.01,
        "sagemaker_instance_hour": {"ml.m5.large": 0.1},
        "sagemaker_serverless_gb_second": 0.00002,
        "http_api_million_requests": 1.0,
        "kms_key_month": 1.0,
        "secret_month": 0.4,
        "cloudwatch_alarm_metric_month": 0.1,
        "cloudwatch_custom_metric_month": 0.3,
    },
}


def deployment(name: str, replicas: int, container: dict) -> dict:
    pod = {"containers": [container]}
    spec = {"replicas": replicas, "template": {"spec": pod}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


DEPLOYMENT = deployment(
    "model", 3, {"name": "server", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
)
HPA = {
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "model"},
    "spec": {"scaleTargetRef": {"name": "model"}, "minReplicas": 2},
}
INGRESS = {"kind": "Ingress", "metadata": {"name": "model"}}
COLLECTOR = deployment(
    "adot-collector",
    1,
    {
        "name": "adot-collector",
        "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0",
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}},
    },
)


def resource(kind: str, **props) -> dict:
    return {"Type": kind, "Properties": props}


def fixture_resources() -> list[dict]:
    manifest = json.dumps([DEPLOYMENT, HPA, INGRESS, COLLECTOR])
    # CDK renders manifests with tokens as Fn::Join; the estimator must read through it.
    head, tail = manifest[:40], manifest[40:]
    return [
        resource("AWS::EC2::Subnet", AvailabilityZone="us-east-1a"),
        resource("AWS::EC2::Subnet", AvailabilityZone="us-east-1b"),
        resource("AWS::EC2::NatGateway"),
        resource("AWS::EC2::NatGateway"),
        resource("AWS::EC2::EIP"),
        resource("AWS::EC2::EIP"),
        resource("AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=["a", "b"]),
        resource("AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway"),
        resource("AWS::EKS::Cluster"),
        resource(
            "Custom::AWSCDK-EKS-KubernetesResource", Manifest={"Fn::Join": ["", [head, tail]]}
        ),
        resource(
            "AWS::SageMaker::EndpointConfig",
            ProductionVariants=[
                {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2},
                {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},
            ],
        ),
        resource("AWS::ApiGatewayV2::Api", ProtocolType="HTTP"),
        resource("AWS::KMS::Key"),
        resource("AWS::SecretsManager::Secret"),
        resource("AWS::CloudWatch::Alarm", MetricName="Errors"),
        resource(
            "AWS::CloudWatch::Alarm",
            Metrics=[
                {
                    "Id": "a",
                    "Expression": 'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
                },
                {"Id": "b", "MetricStat": {}},
                {"Id": "c", "Expression": "100 * b / a"},
            ],
        ),
        resource("AWS::IAM::Role"),
    ]


@pytest.fixture(scope="module")
def fixture_estimate():
    return estimate(fixture_resources(), PRICES, env="test", serving="eks")


def cost(e, item: str) -> float:
    return next(i.monthly_usd for i in e.line_items if i.item == item)


def test_network_lines(fixture_estimate):
    e = fixture_estimate
    assert cost(e, "NAT gateways") == round(2 * HOURS * 0.05 + 100 * 0.05, 2)  # 78.00
    assert cost(e, "Elastic IPs (public IPv4)") == round(2 * HOURS * 0.005, 2)  # 7.30
    # One interface endpoint in two subnets bills two endpoint-AZ hours; the gateway is free.
    assert cost(e, "Interface VPC endpoints") == round(2 * HOURS * 0.01, 2)  # 14.60


def test_eks_control_plane_fargate_pods_and_controller_alb(fixture_estimate):
    e = fixture_estimate
    assert cost(e, "EKS control plane") == 73.0
    # Model pods: HPA minimum 2 (not replicas 3); 0.5 vCPU, 1 GiB + 0.25 GB overhead -> 0.5 vCPU/2 GB.
    # CoreDNS: 2 x (0.25 vCPU, 0.5 + 0.25 GB -> 1 GB).  ADOT collector: 0.25 vCPU, 512 MiB +
    # 0.25 GB -> 1 GB.  Total 1.75 vCPU, 7 GB.
    assert cost(e, "EKS Fargate pods") == round(HOURS * (1.75 * 0.04 + 7 * 0.005), 2)  # 76.65
    # The Ingress's ALB: hour + 1 LCU + one public IPv4 per AZ (2 AZs from the subnets).
    assert cost(e, "Application Load Balancer") == round(HOURS * (0.02 + 0.01 + 2 * 0.005), 2)
    # Published only because the manifests run the ADOT collector.
    assert cost(e, "Container Insights metrics") == 3.0


def test_no_container_insights_metrics_without_the_collector():
    resources = [
        r for r in fixture_resources() if r["Type"] != "Custom::AWSCDK-EKS-KubernetesResource"
    ]
    manifest = json.dumps([DEPLOYMENT, HPA, INGRESS])
    resources.append(resource("Custom::AWSCDK-EKS-KubernetesResource", Manifest=manifest))
    e = estimate(resources, PRICES, env="test", serving="eks")
    assert "Container Insights metrics" not in {i.item for i in e.line_items}
    assert cost(e, "EKS Fargate pods") == round(HOURS * (1.5 * 0.04 + 6 * 0.005), 2)


def test_sagemaker_instances_serverless_and_api(fixture_estimate):
    e = fixture_estimate
    assert cost(e, "SageMaker real-time ml.m5.large") == round(2 * HOURS * 0.1, 2)  # 146.00
    # 2M requests x 0.5 s x 2 GB x $0.00002 = $40.
    assert cost(e, "SageMaker serverless inference") == 40.0
    assert cost(e, "API Gateway HTTP API") == 2.0


def test_alarms_are_billed_per_metric_and_query(fixture_estimate):
    # 1 (single metric) + 2 (a Metrics Insights query and a MetricStat; the math is free).
    assert cost(fixture_estimate, "CloudWatch alarms") == round(3 * 0.1, 2)


def test_total_is_the_sum_and_json_has_the_contract(fixture_estimate):
    e = fixture_estimate
    assert e.total_monthly_usd == round(sum(i.monthly_usd for i in e.line_items), 2)
    out = e.to_dict()
    assert set(out) >= {"total_monthly_usd", "line_items", "assumptions", "prices_as_of"}
    assert all({"item", "quantity", "monthly_usd"} <= set(i) for i in out["line_items"])
    assert e.unpriced_resource_types == [] and e.warnings == []


def test_unknown_type_and_missing_serving_path_are_reported():
    e = estimate([resource("AWS::Neptune::DBCluster")], PRICES, serving="sagemaker")
    assert e.unpriced_resource_types == ["AWS::Neptune::DBCluster"]
    assert "no AWS::SageMaker::EndpointConfig" in e.warnings[0]


def test_unknown_instance_type_names_the_table():
    with pytest.raises(
        KeyError, match=r"sagemaker_instance_hour has no price for 'ml\.p5\.48xlarge'"
    ):
        estimate(
            [
                resource(
                    "AWS::SageMaker::EndpointConfig",
                    ProductionVariants=[
                        {"InstanceType": "ml.p5.48xlarge", "InitialInstanceCount": 1}
                    ],
                )
            ],
            PRICES,
        )


@pytest.mark.parametrize(("value", "vcpu"), [("500m", 0.5), ("2", 2.0), (1, 1.0)])
def test_parse_cpu(value, vcpu):
    assert parse_cpu(value) == vcpu


@pytest.mark.parametrize(("value", "gib"), [("1Gi", 1.0), ("512Mi", 0.5), ("2048Mi", 2.0)])
def test_parse_memory(value, gib):
    assert parse_memory(value) == gib


def test_bad_quantities_are_named():
    with pytest.raises(ValueError, match="CPU quantity 'lots'"):
        parse_cpu("lots")
    with pytest.raises(ValueError, match="memory quantity '1GB'"):
        parse_memory("1GB")


def test_price_table_is_dated_and_regional_and_reference_is_about_543():
    prices = json.loads(PRICES_FILE.read_text())
    assert prices["region"] == "us-east-1" and prices["as_of"]
    description, total = reference_design()
    assert "3-node m5.xlarge" in description
    assert 535 <= total <= 550


def test_priced_and_free_tables_do_not_overlap():
    assert not PRICED & set(FREE)


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_every_resource_type_the_app_creates_is_priced_or_listed_free(synth, env, serving):
    s = synth(env, serving)
    types = {
        r["Type"]
        for path in s.outdir.glob("*.template.json")
        for r in json.loads(path.read_text())["Resources"].values()
    }
    unpriced = sorted(t for t in types if classify(t) == "unpriced")
    assert not unpriced, f"add a price rule or a FREE entry for: {unpriced}"


def test_cli_prints_json_with_total_and_line_items(synth):
    s = synth("prod", "eks")
    result = subprocess.run(
        [sys.executable, "-m", "mlops_cdk.cost", str(s.outdir), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["env"] == "prod" and out["serving"] == "eks"
    assert out["total_monthly_usd"] == round(sum(i["monthly_usd"] for i in out["line_items"]), 2)
    items = {i["item"] for i in out["line_items"]}
    assert {"NAT gateways", "Interface VPC endpoints", "KMS keys"} <= items
    assert out["reference_design"]["total_monthly_usd"] > 500


def test_prod_on_eks_costs_no_more_than_the_reference_design_and_keeps_ha(synth):
    """Issue 17: serverless MLflow brings prod/eks under the reference design, HA intact."""
    s = synth("prod", "eks")
    prod_estimate = estimate_assembly(s.outdir)
    _, reference = reference_design()
    assert prod_estimate.total_monthly_usd <= reference, prod_estimate.total_monthly_usd
    assert s.settings.network.max_azs >= 2 and s.settings.network.nat_gateways >= 2
    assert s.settings.eks.min_replicas >= 2
    items = {line.item: line for line in prod_estimate.line_items}
    assert not any(item.startswith("SageMaker MLflow tracking server") for item in items)
    assert items["SageMaker MLflow App (serverless)"].monthly_usd == 0.0


def test_cli_refuses_a_directory_that_is_not_an_assembly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mlops_cdk.cost", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "synth first" in result.stderr
