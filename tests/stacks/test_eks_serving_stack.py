"""EksServingStack: Fargate coverage, kubectl layer, access, ALB controller, manifests."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from mlops_cdk.config import load_settings
from mlops_cdk.constructs.addons.cert_manager import NAMESPACE as CERT_MANAGER_NAMESPACE
from mlops_cdk.constructs.addons.kserve import NAMESPACE as KSERVE_NAMESPACE
from mlops_cdk.constructs.eks_fargate_cluster import SYSTEM_NAMESPACE, EksFargateCluster
from mlops_cdk.k8s import adot
from mlops_cdk.platform import add_security_checks, build_platform
from mlops_cdk.versions import (
    ADOT_COLLECTOR_IMAGE,
    ALB_CONTROLLER_VERSION,
    KSERVE_CHART,
    KUBERNETES_VERSIONS,
    METRICS_SERVER_ADDON,
    KubectlLayer,
    KubectlLayerMissingError,
)
from tests.conftest import CDK_JSON_CONTEXT

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


@pytest.mark.parametrize(("env", "public"), [("dev", False), ("prod", False)])
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
                    "EnabledTypes": [
                        {"Type": log}
                        for log in ("api", "audit", "authenticator")
                        + (("controllerManager", "scheduler") if env == "prod" else ())
                    ]
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


def objects_of(template: Template, logical_id: str) -> list[dict]:
    text = template.to_json()["Resources"][logical_id]["Properties"]["Manifest"]
    if isinstance(text, dict):
        text = "".join(p if isinstance(p, str) else "TOKEN" for p in text["Fn::Join"][1])
    return json.loads(text)


def logical_id(construct) -> str:
    return cdk.Stack.of(construct).get_logical_id(construct.node.default_child)


@pytest.mark.parametrize("engine", ENGINES)
def test_metrics_server_add_on_runs_in_a_fargate_namespace(synth, engine):
    s = synth("staging", "eks", serving_engine=engine)
    template = s.template(s.stacks.eks)
    cluster = s.stacks.eks.fargate_cluster
    (addon_id, addon), *others = resources(template, "AWS::EKS::Addon").items()
    assert not others
    assert addon["Properties"]["AddonName"] == METRICS_SERVER_ADDON == "metrics-server"
    assert "AddonVersion" not in addon["Properties"]  # EKS picks the build for the version
    # The community add-on installs into kube-system, which the system profile selects.
    assert SYSTEM_NAMESPACE in selector_namespaces(template) and SYSTEM_NAMESPACE == "kube-system"
    assert logical_id(cluster.fargate_profiles["system"]) in addon["DependsOn"]
    assert addon_id == logical_id(cluster.metrics_server)
    # Something must serve the Metrics API for the autoscaler to act.
    kinds = {m["kind"] for m in manifests(template)}
    assert ("HorizontalPodAutoscaler" in kinds) == (engine == "deployment")


@pytest.mark.parametrize("engine", ENGINES)
def test_container_insights_collector_is_applied_after_its_profile_and_log_groups(synth, engine):
    s = synth("prod", "eks", serving_engine=engine)
    stack = s.stacks.eks
    template = s.template(stack)
    insights = stack.container_insights
    assert insights is not None
    assert adot.NAMESPACE in selector_namespaces(template)
    collector_id = logical_id(insights.collector)
    collector = template.to_json()["Resources"][collector_id]
    for dependency in (
        stack.fargate_cluster.fargate_profiles["observability"],
        insights.service_account.node.find_child("manifest-ServiceAccountServiceAccountResource"),
        insights.performance_log_group,
        insights.prometheus_log_group,
    ):
        assert logical_id(dependency) in collector["DependsOn"]
    objects = objects_of(template, collector_id)
    # Namespace, then the service account (eks.ServiceAccount, IRSA), then the collector.
    assert [o["kind"] for o in objects] == [
        "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
    ]  # fmt: skip
    assert [o["kind"] for o in objects_of(template, logical_id(insights.namespace_manifest))] == [
        "Namespace"
    ]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == ADOT_COLLECTOR_IMAGE
    # The pod-reading Role goes into the serving namespace once that exists.
    access_id = logical_id(insights.scrape_access)
    access = template.to_json()["Resources"][access_id]
    assert logical_id(stack.serving.namespace_manifest) in access["DependsOn"]
    assert {o["metadata"]["namespace"] for o in objects_of(template, access_id)} == {
        "model-serving"
    }
    for name, group in (
        ("performance", insights.performance_log_group),
        ("prometheus", insights.prometheus_log_group),
    ):
        props = template.to_json()["Resources"][logical_id(group)]["Properties"]
        assert props["RetentionInDays"] == s.settings.log_retention_days == 365
        assert props["LogGroupName"]["Fn::Join"][1][-1] == f"/{name}"


def test_collector_role_only_writes_its_two_log_groups(synth):
    s = synth("prod", "eks")
    template = s.template(s.stacks.eks)
    insights = s.stacks.eks.container_insights
    role_id = logical_id(insights.service_account_role)
    (policy,) = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == [
        {"Fn::GetAtt": [logical_id(insights.performance_log_group), "Arn"]},
        {"Fn::GetAtt": [logical_id(insights.prometheus_log_group), "Arn"]},
    ]
    trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    (trust_statement,) = trust["Statement"]
    assert trust_statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = json.dumps(template.to_json()["Resources"])
    assert "system:serviceaccount:fargate-container-insights:adot-collector" in conditions


def test_predict_url_reads_the_ingress_hostname_after_the_ingress_is_applied(synth):
    s = synth("dev", "eks")
    stack = s.stacks.eks
    template = s.template(stack)
    (value_id, value), *others = resources(
        template, "Custom::AWSCDK-EKS-KubernetesObjectValue"
    ).items()
    assert not others
    props = value["Properties"]
    assert (props["ObjectType"], props["ObjectName"], props["ObjectNamespace"]) == (
        "ingress", "fraud-detection", "model-serving",
    )  # fmt: skip
    assert props["JsonPath"] == ".status.loadBalancer.ingress[0].hostname"
    assert props["TimeoutSeconds"] == 600
    workload_id = logical_id(stack.serving.node.find_child("Workload"))
    assert workload_id in value["DependsOn"]
    (ingress,) = [o for o in objects_of(template, workload_id) if o["kind"] == "Ingress"]
    assert ingress["metadata"]["name"] == props["ObjectName"]
    outputs = template.find_outputs("*")
    hostname = {"Fn::GetAtt": [value_id, "Value"]}
    assert outputs["ApiUrl"]["Value"] == {"Fn::Join": ["", ["http://", hostname]]}
    assert outputs["PredictUrl"]["Value"] == {
        "Fn::Join": ["", ["http://", hostname, "/v1/models/fraud-detection:predict"]]
    }


def test_https_domain_and_container_insights_off(tmp_path):
    """With a certificate the URLs use the domain; without the collector, no collector."""
    settings = load_settings(
        {"env": "dev", "serving": "eks"},
        {},
        {
            "eks": {
                "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "domain_name": "model.example.com",
                "container_insights": False,
            }
        },
    )
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(tmp_path))
    stacks = build_platform(app, settings)
    add_security_checks(app)
    app.synth()
    template = Template.from_stack(stacks.eks)
    outputs = template.find_outputs("*")
    assert outputs["ApiUrl"]["Value"] == "https://model.example.com"
    assert outputs["PredictUrl"]["Value"] == (
        "https://model.example.com/v1/models/fraud-detection:predict"
    )
    assert stacks.eks.container_insights is None
    assert adot.NAMESPACE not in selector_namespaces(template)
    images = json.dumps([m for m in manifests(template) if m["kind"] == "Deployment"])
    assert "aws-otel-collector" not in images
    body = json.dumps(
        Template.from_stack(stacks.observability).find_resources("AWS::CloudWatch::Dashboard")
    )
    assert "MlopsCdk/ModelServer" not in body and "pod_cpu_utilization" not in body
