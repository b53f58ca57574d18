"""Cluster add-ons and the EKS deploy traps (issues 12, 13, 18), asserted on templates."""

from __future__ import annotations

import itertools
import json

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match, Template

from mlops_cdk.constructs.addons import HelmAddOn
from mlops_cdk.constructs.addons.cert_manager import WEBHOOK_SECURE_PORT, CertManagerAddOn
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.versions import CERT_MANAGER_CHART

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"


def logical_id(construct) -> str:
    element = construct
    while not isinstance(element, cdk.CfnElement):
        element = element.node.default_child
    return cdk.Stack.of(construct).get_logical_id(element)


def scratch_stack() -> tuple[cdk.Stack, ec2.Vpc]:
    stack = cdk.Stack(
        cdk.App(), "Scratch", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    return stack, ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)


@pytest.fixture(scope="module")
def scratch():
    """A private cluster with every add-on asked for twice, and its template."""
    stack, vpc = scratch_stack()
    cluster = EksFargateCluster(stack, "Eks", vpc=vpc, cluster_name="scratch")
    first = (cluster.add_kserve(), cluster.add_cert_manager(), cluster.add_container_insights())
    second = (cluster.add_kserve(), cluster.add_cert_manager(), cluster.add_container_insights())
    return cluster, vpc, first, second, Template.from_stack(stack)


@pytest.fixture(scope="module")
def prod_kserve(synth):
    s = synth("prod", "eks", serving_engine="kserve")
    return s.stacks.eks, s.template(s.stacks.eks)


def charts(template: Template) -> dict[str, dict]:
    return {
        chart["Properties"]["Chart"]: {"id": chart_id, **chart}
        for chart_id, chart in template.find_resources(HELM_CHART).items()
    }


def test_asking_twice_installs_once_and_returns_the_same_add_on(scratch):
    cluster, _, first, second, template = scratch
    assert all(a is b for a, b in zip(first, second, strict=True))
    _, cert_manager, _ = first
    names = [c["Properties"]["Chart"] for c in template.find_resources(HELM_CHART).values()]
    assert sorted(names) == sorted(
        ["aws-load-balancer-controller", "cert-manager", "kserve-crd", "kserve"]
    )
    # Each add-on has its own Fargate profile namespace.
    for profile in ("cert-manager", "kserve", "observability"):
        assert profile in cluster.fargate_profiles
    assert (
        logical_id(cluster.fargate_profiles["cert-manager"])
        in template.to_json()["Resources"][logical_id(cert_manager.chart)]["DependsOn"]
    )
    with pytest.raises(ValueError, match="add_container_insights was already called"):
        cluster.add_container_insights(scrape_namespaces=["model-serving"])


def test_cert_manager_webhook_is_off_the_fargate_kubelet_port(prod_kserve):
    _, template = prod_kserve
    chart = charts(template)["cert-manager"]
    values = json.loads(chart["Properties"]["Values"])
    assert values["webhook"]["securePort"] == WEBHOOK_SECURE_PORT == 10260
    assert values["crds"]["enabled"] is True
    assert chart["Properties"]["Version"] == CERT_MANAGER_CHART.version


def test_cert_manager_refuses_the_kubelet_port_and_helm_refuses_long_timeouts():
    stack, vpc = scratch_stack()
    cluster = EksFargateCluster(
        stack, "Eks", vpc=vpc, cluster_name="x", admin_principal_arns=["arn:aws:iam::1:role/a"]
    )
    with pytest.raises(ValueError, match=r"webhook\.securePort = 10250"):
        CertManagerAddOn(
            stack, "Cm", cluster=cluster.cluster, values={"webhook": {"securePort": 10250}}
        )
    with pytest.raises(ValueError, match="timeout = 15 minutes for chart cert-manager"):
        HelmAddOn(
            stack,
            "Slow",
            cluster=cluster.cluster,
            pin=CERT_MANAGER_CHART,
            namespace="cert-manager",
            default_values={},
            timeout=Duration.minutes(15),
        )


def test_everything_creating_services_waits_for_the_alb_controller(prod_kserve):
    stack, template = prod_kserve
    resources = template.to_json()["Resources"]
    alb_chart = charts(template)["aws-load-balancer-controller"]["id"]
    cluster = stack.fargate_cluster
    kserve = cluster.add_kserve()
    insights = stack.container_insights
    waiting = {
        "cert-manager": logical_id(cluster.add_cert_manager().chart),
        "kserve-crd": logical_id(kserve.crds.chart),
        "kserve": logical_id(kserve.controller.chart),
        "collector namespace": logical_id(insights.namespace_manifest),
        "serving workload": logical_id(stack.serving.node.find_child("Workload")),
    }
    for name, resource_id in waiting.items():
        if name != "kserve":  # waits through the CRDs chart, asserted below
            assert alb_chart in resources[resource_id]["DependsOn"], name
    # cert-manager -> CRDs -> controller (waited for) -> InferenceService.
    chain = [waiting["cert-manager"], waiting["kserve-crd"], waiting["kserve"]]
    for before, after in itertools.pairwise(chain):
        assert before in resources[after]["DependsOn"]
    assert resources[waiting["kserve"]]["Properties"]["Wait"] is True
    workload = resources[waiting["serving workload"]]
    assert waiting["kserve"] in workload["DependsOn"]
    assert '"kind":"InferenceService"' in json.dumps(
        workload["Properties"]["Manifest"], separators=(",", ":")
    ).replace("\\", "")


def test_helm_gives_up_before_the_kubectl_handler_does(prod_kserve):
    _, template = prod_kserve
    (handler,) = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": "onEvent handler for EKS kubectl resource provider"}},
    ).values()
    handler_seconds = handler["Properties"]["Timeout"]
    assert handler_seconds == 900
    timeouts = [c["Properties"].get("Timeout") for c in charts(template).values()]
    assert len(timeouts) == 4
    # aws-cdk-lib's own ALB controller chart included (it defaults to the handler's 900s).
    for timeout in timeouts:
        assert timeout is not None and int(timeout.removesuffix("s")) < handler_seconds


def test_private_cluster_runs_kubectl_in_private_subnets_with_the_cluster_group(scratch):
    cluster, vpc, _, _, template = scratch
    template.has_resource_properties(
        "AWS::EKS::Cluster",
        {
            "ResourcesVpcConfig": Match.object_like(
                {"EndpointPrivateAccess": True, "EndpointPublicAccess": False}
            )
        },
    )
    (handler,) = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": "onEvent handler for EKS kubectl resource provider"}},
    ).values()
    config = handler["Properties"]["VpcConfig"]
    private = [{"Ref": logical_id(subnet)} for subnet in vpc.private_subnets]
    assert config["SubnetIds"] == private
    cluster_id = logical_id(cluster.cluster)
    assert config["SecurityGroupIds"] == [{"Fn::GetAtt": [cluster_id, "ClusterSecurityGroupId"]}]


def test_no_admin_principal_warns_how_to_add_one(scratch):
    cluster, *_ = scratch
    Annotations.from_stack(cdk.Stack.of(cluster)).has_warning(
        "/Scratch/Eks", Match.string_like_regexp("-c admin_principal_arns=arn:")
    )


def test_public_endpoint_needs_restricted_cidrs():
    stack, vpc = scratch_stack()
    common = {"vpc": vpc, "admin_principal_arns": ["arn:aws:iam::1:role/a"]}
    for index, (access, cidrs, message) in enumerate(
        [
            ("public_and_private", (), r"public_access_cidrs = \[\]"),
            ("public_and_private", ("0.0.0.0/0",), r"never the whole internet"),
            ("private", ("203.0.113.0/24",), r"endpoint_access = 'private' has no public"),
            ("public", (), r"endpoint_access = 'public'; use one of"),
        ]
    ):
        with pytest.raises(ValueError, match=message):
            EksFargateCluster(
                stack,
                f"Bad{index}",
                cluster_name=f"bad{index}",
                endpoint_access=access,
                public_access_cidrs=cidrs,
                **common,
            )
    EksFargateCluster(
        stack,
        "Ok",
        cluster_name="ok",
        endpoint_access="public_and_private",
        public_access_cidrs=["203.0.113.0/24"],
        **common,
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::EKS::Cluster",
        {
            "ResourcesVpcConfig": Match.object_like(
                {"EndpointPublicAccess": True, "PublicAccessCidrs": ["203.0.113.0/24"]}
            )
        },
    )
