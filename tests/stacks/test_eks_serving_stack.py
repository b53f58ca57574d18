"""EksServingStack: Fargate coverage, kubectl layer, access, ALB controller, manifests."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import CERT_MANAGER_NAMESPACE, KSERVE_NAMESPACE
from mlops_cdk.versions import (
    ALB_CONTROLLER_VERSION,
    KSERVE_CHART,
    KUBERNETES_VERSIONS,
    KubectlLayer,
    KubectlLayerMissingError,
)

ENGINES = ("deployment", "kserve")


def resources(template: Template, kind: str) -> dict:
    return template.find_resources(kind)


def manifests(template: Template) -> list[dict]:
    """Kubernetes objects the stack applies, with CDK tokens rendered as placeholders."""
    objects = []
    for resource in resources(template, "Custom::AWSCDK-EKS-KubernetesResource").values():
        text = resource["Properties"]["Manifest"]
        if isinstance(text, dict):  # Fn::Join around tokens, each inside a JSON string
            text = "".join(p if isinstance(p, str) else "TOKEN" for p in text["Fn::Join"][1])
        objects += json.loads(text)
    return objects


def selector_namespaces(template: Template) -> set[str]:
    return {
        selector["Namespace"]
        for profile in resources(template, "AWS::EKS::FargateProfile").values()
        for selector in profile["Properties"]["Selectors"]
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_fargate_profiles_cover_every_namespace_with_pods(synth, engine):
    s = synth("staging", "eks", serving_engine=engine)
    template = s.template(s.stacks.eks)
    covered = selector_namespaces(template)
    pod_namespaces = {"kube-system"}  # CoreDNS and the AWS Load Balancer Controller
    pod_namespaces |= {
        m["metadata"].get("namespace", m["metadata"]["name"])
        for m in manifests(template)
        if m["kind"] in ("Deployment", "InferenceService", "Namespace")
    }
    pod_namespaces |= {
        chart["Properties"]["Namespace"]
        for chart in resources(template, "Custom::AWSCDK-EKS-HelmChart").values()
    }
    assert pod_namespaces <= covered, pod_namespaces - covered
    if engine == "kserve":
        assert {CERT_MANAGER_NAMESPACE, KSERVE_NAMESPACE} <= covered
    assert covered == set(s.stacks.eks.fargate_cluster.fargate_namespaces)
    # No node groups, no Auto Mode: Fargate only, in private subnets.
    assert not resources(template, "AWS::EKS::Nodegroup")
    template.has_resource_properties("AWS::EKS::Cluster", {"ComputeConfig": {"Enabled": False}})
    network = s.template(s.stacks.network)
    private = {
        logical_id
        for logical_id, subnet in network.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Private"} in subnet["Properties"]["Tags"]
    }
    for profile in resources(template, "AWS::EKS::FargateProfile").values():
        outputs = [
            sub["Fn::GetStackOutput"]["OutputName"] for sub in profile["Properties"]["Subnets"]
        ]
        assert len(outputs) == len(private) == 2
        assert all(any(lid in name for lid in private) for name in outputs)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cluster_version_matches_its_kubectl_layer(synth, env):
    s = synth(env, "eks")
    version = s.settings.eks.kubernetes_version
    layer = KUBERNETES_VERSIONS[version]
    s.template(s.stacks.eks).has_resource_properties("AWS::EKS::Cluster", {"Version": version})
    kubectl = s.stacks.eks.fargate_cluster.node.find_child("KubectlLayer")
    assert type(kubectl).__name__ == layer.class_name
    assert type(kubectl).__module__.startswith(layer.module)
    handler_layers = s.template(s.stacks.eks).find_resources(
        "AWS::Lambda::Function", {"Properties": {"Layers": Match.any_value()}}
    )
    layer_id = cdk.Stack.of(kubectl).get_logical_id(kubectl.node.default_child)
    assert any({"Ref": layer_id} in f["Properties"]["Layers"] for f in handler_layers.values())


def test_a_missing_kubectl_layer_names_the_pip_install():
    layer = KubectlLayer(version="1.99", module="aws_cdk.lambda_layer_kubectl_v99",
                         class_name="KubectlV99Layer")  # fmt: skip
    with pytest.raises(
        KubectlLayerMissingError, match=r"pip install aws-cdk\.lambda-layer-kubectl-v99"
    ):
        layer.layer(cdk.Stack(), "Layer")


@pytest.mark.parametrize(("env", "public"), [("dev", True), ("prod", False)])
def test_access_secrets_logging_and_endpoint(synth, env, public):
    s = synth(env, "eks")
    template = s.template(s.stacks.eks)
    template.has_resource_properties(
        "AWS::EKS::Cluster",
        {
            "AccessConfig": {
                "AuthenticationMode": "API",
                "BootstrapClusterCreatorAdminPermissions": False,
            },
            "EncryptionConfig": [
                {"Resources": ["secrets"], "Provider": {"KeyArn": Match.any_value()}}
            ],
            "Logging": {
                "ClusterLogging": {
                    "EnabledTypes": [{"Type": "api"}, {"Type": "audit"}, {"Type": "authenticator"}]
                }
            },
            "ResourcesVpcConfig": Match.object_like(
                {"EndpointPrivateAccess": True, "EndpointPublicAccess": public}
            ),
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": f"/aws/eks/mlops-{env}/cluster",
            "RetentionInDays": s.settings.log_retention_days,
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    # Only the kubectl handler has an access entry when no admins are configured.
    assert len(resources(template, "AWS::EKS::AccessEntry")) == 1


def test_admin_principals_get_cluster_admin_access_entries():
    app = cdk.App()
    stack = cdk.Stack(
        app, "Admins", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    admins = [
        "arn:aws:iam::123456789012:role/platform-admin",
        "arn:aws:iam::123456789012:role/oncall",
    ]
    EksFargateCluster(stack, "Eks", vpc=vpc, cluster_name="admins", admin_principal_arns=admins)
    template = Template.from_stack(stack)
    for arn in admins:
        template.has_resource_properties(
            "AWS::EKS::AccessEntry",
            {
                "PrincipalArn": arn,
                "AccessPolicies": [
                    {
                        "AccessScope": {"Type": "cluster"},
                        "PolicyArn": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                                ],
                            ]
                        },
                    }
                ],
            },
        )
    assert not template.find_resources("AWS::EKS::Nodegroup")
    with pytest.raises(ValueError, match=r"kubernetes_version = '1\.31'"):
        EksFargateCluster(stack, "Old", vpc=vpc, cluster_name="old", kubernetes_version="1.31")


def test_alb_controller_runs_on_fargate_with_region_and_vpc(synth):
    s = synth("staging", "eks")
    template = s.template(s.stacks.eks)
    (chart,) = [
        c
        for c in resources(template, "Custom::AWSCDK-EKS-HelmChart").values()
        if c["Properties"]["Chart"] == "aws-load-balancer-controller"
    ]
    assert chart["Properties"]["Version"] == ALB_CONTROLLER_VERSION.helm_chart_version
    values = json.dumps(chart["Properties"]["Values"])
    assert '\\"region\\":\\"us-east-1\\"' in values and "vpcId" in values
    system = [
        k
        for k, p in resources(template, "AWS::EKS::FargateProfile").items()
        if p["Properties"]["Selectors"] == [{"Namespace": "kube-system", "Labels": []}]
    ]
    assert set(system) <= set(chart["DependsOn"])
    patch = resources(template, "Custom::AWSCDK-EKS-KubernetesPatch")
    (core_dns,) = patch.values()
    assert "Fargate".lower() in json.dumps(core_dns["Properties"]["ApplyPatchJson"]).lower()
    assert set(system) <= set(core_dns["DependsOn"])


@pytest.mark.parametrize("engine", ENGINES)
def test_applied_manifests_carry_the_ingress_annotations(synth, engine):
    s = synth("prod", "eks", serving_engine=engine)
    (ingress,) = [m for m in manifests(s.template(s.stacks.eks)) if m["kind"] == "Ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert (
        annotations["alb.ingress.kubernetes.io/load-balancer-name"]
        == s.stacks.eks.load_balancer_name
    )
    assert s.stacks.eks.load_balancer_name == "mlops-prod-model"
    assert ingress["spec"]["ingressClassName"] == "alb"
    kinds = {m["kind"] for m in manifests(s.template(s.stacks.eks))}
    assert ("InferenceService" in kinds) == (engine == "kserve")
    if engine == "kserve":
        charts = {
            c["Properties"]["Chart"]: c["Properties"]
            for c in resources(s.template(s.stacks.eks), "Custom::AWSCDK-EKS-HelmChart").values()
        }
        assert charts["kserve"]["Version"] == KSERVE_CHART.version
        assert charts["kserve"]["Repository"] == KSERVE_CHART.repository
        assert {"cert-manager", "kserve-crd", "kserve"} <= set(charts)


def test_service_account_role_reads_only_the_model_prefix_and_pulls_the_image(synth):
    s = synth("prod", "eks")
    template = s.template(s.stacks.eks)
    role_id = cdk.Stack.of(s.stacks.eks).get_logical_id(
        s.stacks.eks.service_account_role.node.default_child
    )
    (policy,) = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    s3_resources = [
        r for st in statements if "s3:GetObject*" in st["Action"] for r in st["Resource"]
    ]
    object_arns = [r for r in s3_resources if "Fn::Join" in r]
    assert [r["Fn::Join"][1][-1] for r in object_arns] == ["/models/fraud-detection/*"]
    actions = {
        a
        for st in statements
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert not any(a.startswith(("s3:Put", "s3:Delete", "ecr:Put")) for a in actions)
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= actions
    trust = template.find_resources("AWS::IAM::Role")[role_id]["Properties"][
        "AssumeRolePolicyDocument"
    ]
    assert trust["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_outputs_and_typed_attributes(synth):
    s = synth("dev", "eks")
    stack = s.stacks.eks
    outputs = s.template(stack).find_outputs("*")
    assert {
        "ClusterName",
        "UpdateKubeconfigCommand",
        "IngressHostnameCommand",
        "RepositoryUri",
    } <= set(outputs)
    assert (
        "kubectl get ingress fraud-detection -n model-serving"
        in outputs["IngressHostnameCommand"]["Value"]
    )
    assert stack.namespace == "model-serving"
    assert stack.cluster is stack.fargate_cluster.cluster
    assert stack.cluster_name == stack.cluster.cluster_name
