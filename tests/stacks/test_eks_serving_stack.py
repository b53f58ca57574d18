"""EksServingStack: Fargate coverage, kubectl layer, access, the front door, manifests."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Match, Template

from mlops_cdk.config import ConfigError, load_settings
from mlops_cdk.constructs.addons.cert_manager import NAMESPACE as CERT_MANAGER_NAMESPACE
from mlops_cdk.constructs.addons.kserve import NAMESPACE as KSERVE_NAMESPACE
from mlops_cdk.constructs.capture_log_routing import OBSERVABILITY_NAMESPACE
from mlops_cdk.constructs.eks_fargate_cluster import SYSTEM_NAMESPACE, EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.front_door import front_door_problem
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
        # Holds only Fargate's log router ConfigMap (CaptureLogRouting): no pods.
        and m["metadata"]["name"] != OBSERVABILITY_NAMESPACE
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
    layer = KubectlLayer(
        version="1.99", module="aws_cdk.lambda_layer_kubectl_v99", class_name="KubectlV99Layer"
    )
    with pytest.raises(
        KubectlLayerMissingError, match=r"pip install aws-cdk\.lambda-layer-kubectl-v99"
    ):
        layer.layer(cdk.Stack(), "Layer")


# The API server endpoint is private by default in every environment (eks.endpoint_access).
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
def test_target_group_binding_names_the_target_group_the_template_creates(synth, engine):
    s = synth("prod", "eks", serving_engine=engine)
    stack = s.stacks.eks
    template = s.template(stack)
    (group_id, group), *others = resources(
        template, "AWS::ElasticLoadBalancingV2::TargetGroup"
    ).items()
    assert not others
    assert group_id == logical_id(stack.serving.target_group)
    assert (group["Properties"]["TargetType"], group["Properties"]["Port"]) == ("ip", 8080)
    assert group["Properties"]["HealthCheckPath"] == "/v1/models/fraud-detection"
    workload_id = logical_id(stack.serving.node.find_child("Workload"))
    parts = template.to_json()["Resources"][workload_id]["Properties"]["Manifest"]["Fn::Join"][1]
    (index,) = [i for i, p in enumerate(parts) if str(p).endswith('"targetGroupARN":"')]
    assert parts[index + 1] == {"Ref": group_id}  # Ref of a target group is its ARN
    objects = objects_of(template, workload_id)
    (binding,) = [o for o in objects if o["kind"] == "TargetGroupBinding"]
    service = "fraud-detection-predictor" if engine == "kserve" else "fraud-detection"
    assert binding["spec"]["serviceRef"] == {"name": service, "port": 80}
    assert binding["apiVersion"] == "elbv2.k8s.aws/v1beta1"
    # The controller owns the binding: it is applied after the controller chart.
    assert stack.cluster.alb_controller is not None
    (chart_id,) = [
        k
        for k, c in resources(template, "Custom::AWSCDK-EKS-HelmChart").items()
        if c["Properties"]["Chart"] == "aws-load-balancer-controller"
    ]
    assert chart_id in template.to_json()["Resources"][workload_id]["DependsOn"]
    assert not [m for m in manifests(template) if m["kind"] == "Ingress"]
    kinds = {m["kind"] for m in manifests(template)}
    assert ("InferenceService" in kinds) == (engine == "kserve")
    if engine == "kserve":
        charts = {
            c["Properties"]["Chart"]: c["Properties"]
            for c in resources(template, "Custom::AWSCDK-EKS-HelmChart").values()
        }
        assert charts["kserve"]["Version"] == KSERVE_CHART.version
        assert charts["kserve"]["Repository"] == KSERVE_CHART.repository
        assert {"cert-manager", "kserve-crd", "kserve"} <= set(charts)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_internal_alb_is_reached_only_through_the_vpc_link_and_reaches_only_the_pods(synth, env):
    s = synth(env, "eks")
    stack = s.stacks.eks
    template = s.template(stack)
    (alb,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert alb["Properties"]["Scheme"] == "internal"
    assert alb["Properties"]["Name"] == stack.load_balancer_name == f"mlops-{env}-model"
    assert all("privateSubnet" in json.dumps(subnet) for subnet in alb["Properties"]["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    (listener,) = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert (listener["Properties"]["Port"], listener["Properties"]["Protocol"]) == (80, "HTTP")
    assert listener["Properties"]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    (rule,) = resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"] == [
        "/v1/models/fraud-detection*"
    ]
    alb_sg = logical_id(stack.serving.load_balancer_security_group)
    (link,) = resources(template, "AWS::ApiGatewayV2::VpcLink").values()
    (link_sg,) = [g["Fn::GetAtt"][0] for g in link["Properties"]["SecurityGroupIds"]]
    ingress = list(resources(template, "AWS::EC2::SecurityGroupIngress").values())
    into_alb = [
        r for r in ingress if r["Properties"]["GroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}
    ]
    assert [r["Properties"]["SourceSecurityGroupId"] for r in into_alb] == [
        {"Fn::GetAtt": [link_sg, "GroupId"]}
    ]
    assert "SecurityGroupIngress" not in template.to_json()["Resources"][alb_sg]["Properties"]
    cluster_sg = {"Fn::GetAtt": [logical_id(stack.cluster), "ClusterSecurityGroupId"]}
    (into_pods,) = [r["Properties"] for r in ingress if r["Properties"]["GroupId"] == cluster_sg]
    assert into_pods["SourceSecurityGroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}
    assert (into_pods["FromPort"], into_pods["ToPort"]) == (8080, 8080)
    (integration,) = resources(template, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["ConnectionType"] == "VPC_LINK"
    assert integration["Properties"]["IntegrationUri"] == {
        "Ref": logical_id(stack.serving.listener)
    }
    assert not resources(template, "Custom::AWSCDK-EKS-KubernetesObjectValue")


def test_model_pods_have_no_iam_role(synth):
    s = synth("prod", "eks")
    template = s.template(s.stacks.eks)
    trusts = json.dumps(
        [
            r["Properties"]["AssumeRolePolicyDocument"]
            for r in resources(template, "AWS::IAM::Role").values()
        ]
    )
    assert "system:serviceaccount:model-serving" not in trusts
    (account,) = [
        m
        for m in manifests(template)
        if m["kind"] == "ServiceAccount" and m["metadata"]["namespace"] == "model-serving"
    ]
    assert "annotations" not in account["metadata"]


def test_outputs_and_typed_attributes(synth):
    s = synth("dev", "eks")
    stack = s.stacks.eks
    outputs = s.template(stack).find_outputs("*")
    assert {
        "ClusterName",
        "UpdateKubeconfigCommand",
        "RepositoryUri",
        "ApiUrl",
        "PredictUrl",
        "ExampleRequest",
    } <= set(outputs)
    assert "IngressHostnameCommand" not in outputs
    api_id = logical_id(stack.model_api.http_api)
    endpoint = {"Fn::GetAtt": [api_id, "ApiEndpoint"]}
    assert outputs["ApiUrl"]["Value"] == endpoint
    assert outputs["PredictUrl"]["Value"] == {
        "Fn::Join": ["", [endpoint, "/v1/models/fraud-detection:predict"]]
    }
    example = json.dumps(outputs["ExampleRequest"]["Value"])
    assert "awscurl --service execute-api --region us-east-1 -X POST" in example
    assert stack.namespace == "model-serving"
    serving = stack.serving
    assert (serving.model_name, serving.namespace, serving.api) == (
        "fraud-detection",
        "model-serving",
        stack.model_api,
    )
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
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
    ]
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


def synth_with(tmp_path, env: str, overrides: dict, **context):
    settings = load_settings({"env": env, "serving": "eks", **context}, {}, overrides)
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(tmp_path))
    stacks = build_platform(app, settings)
    add_security_checks(app)
    app.synth()
    return stacks


CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
WAF = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/model/11111111-2222-3333-4444-555555555555"


def test_public_alb_is_https_only_with_redirect_waf_and_cidrs_and_container_insights_off(
    tmp_path,
):
    """The guarded opt-out: internet-facing, HTTPS (TLS 1.2+), HTTP redirected, no API."""
    stacks = synth_with(
        tmp_path,
        "prod",
        {
            "eks": {
                "certificate_arn": CERT,
                "domain_name": "model.example.com",
                "waf_acl_arn": WAF,
                "inbound_cidrs": ["203.0.113.0/24"],
                "container_insights": False,
            }
        },
        front_door="public_alb",
    )
    template = Template.from_stack(stacks.eks)
    assert stacks.eks.model_api is None and stacks.eks.serving.api is None
    assert not template.find_resources("AWS::ApiGatewayV2::Api")
    assert not template.find_resources("AWS::ApiGatewayV2::VpcLink")
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERT}],
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                Match.object_like(
                    {
                        "Type": "redirect",
                        "RedirectConfig": Match.object_like({"Protocol": "HTTPS", "Port": "443"}),
                    }
                )
            ],
        },
    )
    template.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"WebACLArn": WAF})
    (alb_sg,) = [
        g
        for k, g in template.find_resources("AWS::EC2::SecurityGroup").items()
        if k == logical_id(stacks.eks.serving.load_balancer_security_group)
    ]
    cidrs = {r["CidrIp"] for r in alb_sg["Properties"]["SecurityGroupIngress"]}
    assert cidrs == {"203.0.113.0/24"}
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
    cicd = Template.from_stack(stacks.cicd) if stacks.cicd else None
    if cicd is not None:
        assert "execute-api:Invoke" not in json.dumps(cicd.to_json())


@pytest.mark.parametrize(
    ("env", "eks", "missing"),
    [
        ("dev", {}, ["eks.certificate_arn", "eks.domain_name"]),
        ("dev", {"certificate_arn": CERT}, ["eks.domain_name"]),
        (
            "prod",
            {"certificate_arn": CERT, "domain_name": "model.example.com"},
            ["eks.waf_acl_arn or inbound_cidrs (restricted)"],
        ),
    ],
)
def test_public_alb_without_tls_or_prod_protection_fails_with_one_message(env, eks, missing):
    with pytest.raises(ConfigError) as raised:
        load_settings({"env": env, "serving": "eks", "front_door": "public_alb"}, {}, {"eks": eks})
    (message,) = [m for m in raised.value.errors if "front_door" in m]
    assert message.startswith(f"{env}.eks.front_door = 'public_alb'")
    for name in missing:
        assert name.removeprefix("eks.") in message
    assert "front_door = 'api'" in message  # the fix
    # The construct applies the same rule to library users.
    problem = front_door_problem(
        front_door="public_alb",
        certificate_arn=eks.get("certificate_arn"),
        domain_name=eks.get("domain_name"),
        waf_acl_arn=None,
        inbound_cidrs=("0.0.0.0/0",),
        production=env == "prod",
    )
    assert problem is not None and all(name in problem for name in missing)


def test_public_alb_in_prod_passes_with_restricted_cidrs_alone():
    problem = front_door_problem(
        front_door="public_alb",
        certificate_arn=CERT,
        domain_name="model.example.com",
        waf_acl_arn=None,
        inbound_cidrs=("203.0.113.0/24",),
        production=True,
    )
    assert problem is None
    with pytest.raises(ConfigError, match=r"dev.eks.front_door = 'lb'"):
        load_settings({"env": "dev", "serving": "eks", "front_door": "lb"})


def test_construct_refuses_public_alb_without_tls():
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    cluster = EksFargateCluster(stack, "Eks", vpc=vpc, cluster_name="c")
    with pytest.raises(
        ValueError, match=r"EksModelServing.front_door = 'public_alb'.*certificate_arn"
    ):
        EksModelServing(
            stack,
            "Serving",
            cluster=cluster,
            env_name="dev",
            repository=ecr.Repository(stack, "Repo"),
            front_door="public_alb",
        )


def test_api_custom_domain_and_jwt_on_eks(tmp_path):
    stacks = synth_with(
        tmp_path,
        "dev",
        {
            "api": {
                "domain_name": "api.example.com",
                "certificate_arn": CERT,
                "auth": "jwt",
                "jwt_issuer": "https://idp.example.com/",
                "jwt_audience": ["model"],
            },
            "eks": {"container_insights": False},
        },
    )
    template = Template.from_stack(stacks.eks)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "api.example.com",
            "DomainNameConfigurations": [
                Match.object_like({"CertificateArn": CERT, "SecurityPolicy": "TLS_1_2"})
            ],
        },
    )
    template.resource_count_is("AWS::ApiGatewayV2::ApiMapping", 1)
    template.has_resource_properties("AWS::ApiGatewayV2::Api", {"DisableExecuteApiEndpoint": True})
    routes = template.find_resources("AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["AuthorizationType"] for r in routes.values()} == {"JWT"}
    outputs = template.find_outputs("*")
    assert outputs["PredictUrl"]["Value"] == (
        "https://api.example.com/v1/models/fraud-detection:predict"
    )
    assert "Authorization: Bearer $TOKEN" in outputs["ExampleRequest"]["Value"]


def test_the_admin_principal_arns_context_key_yields_access_entries(synth):
    """``-c admin_principal_arns=a,b`` reaches the cluster as two cluster-admin access entries."""
    admins = "arn:aws:iam::123456789012:role/platform-admin,arn:aws:iam::123456789012:role/oncall"
    built = synth("dev", "eks", admin_principal_arns=admins)
    entries = built.template(built.stacks.eks).find_resources("AWS::EKS::AccessEntry")
    by_principal = {
        json.dumps(entry["Properties"]["PrincipalArn"]).strip('"'): entry
        for entry in entries.values()
    }
    for arn in admins.split(","):
        (policy,) = by_principal[arn]["Properties"]["AccessPolicies"]
        assert "AmazonEKSClusterAdminPolicy" in json.dumps(policy["PolicyArn"])
        assert policy["AccessScope"] == {"Type": "cluster"}
