"""The EKS canary: a second workload on its own target group, the listener weighted across both."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Template

from mlops_cdk.canary import ALARM_KINDS, canary_alarm_name, canary_weights
from mlops_cdk.config import ConfigError, load_settings
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.versions import KUBERNETES_VERSIONS
from tests.cfn_lint import cfn_lint
from tests.k8s.schemas import crd_schema
from tests.k8s.test_k8s_manifests import (
    CRD_FILE,
    TARGET_GROUP_BINDING_CRD,
    validate,
)

ENGINES = ("deployment", "kserve")
STABLE, CANARY, PERCENT = "1.4.0", "1.5.0", 10
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def canary_synth(synth, engine: str):
    return synth(
        "prod",
        "eks",
        serving_engine=engine,
        image_tag=STABLE,
        canary_image_tag=CANARY,
        canary_percent=str(PERCENT),  # as `-c canary_percent=10` passes it
    )


@pytest.fixture(scope="module")
def schemas() -> dict:
    """The closed CRD schemas the strict manifest tests use, by ``apiVersion``."""
    return {
        "serving.kserve.io/v1beta1": crd_schema(CRD_FILE),
        "elbv2.k8s.aws/v1beta1": crd_schema(TARGET_GROUP_BINDING_CRD),
    }


def logical_id(construct) -> str:
    return cdk.Stack.of(construct).get_logical_id(construct.node.default_child)


def model_rule(template) -> dict:
    (rule,) = template.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    return rule["Properties"]


def manifest_parts(template, construct) -> list:
    return template.to_json()["Resources"][logical_id(construct)]["Properties"]["Manifest"][
        "Fn::Join"
    ][1]


def images(parts: list) -> list[list]:
    """Each ``"image":"..."`` value of a manifest as its Fn::Join parts (strings and tokens)."""
    found: list[list] = []
    current: list | None = None
    for part in parts:
        if not isinstance(part, str):
            if current is not None:
                current.append(part)
            continue
        text = part
        while True:
            if current is not None:
                value, closed, text = text.partition('"')
                current.append(value)
                if not closed:
                    break
                found.append(current)
                current = None
            if '"image":"' not in text:
                break
            current, text = [], text.split('"image":"', 1)[1]
    return found


@pytest.mark.parametrize("engine", ENGINES)
def test_canary_adds_a_target_group_and_weights_the_listener(synth, engine):
    built = canary_synth(synth, engine)
    serving = built.stacks.eks.serving
    template = built.template(built.stacks.eks)
    groups = template.find_resources(TARGET_GROUP)
    assert serving.canary_target_group is not None
    stable_id, canary_id = logical_id(serving.target_group), logical_id(serving.canary_target_group)
    assert set(groups) == {stable_id, canary_id}
    for group in groups.values():
        props = group["Properties"]
        assert (props["TargetType"], props["Port"]) == ("ip", 8080)
        assert props["HealthCheckPath"] == "/v1/models/fraud-detection"
    (action,) = model_rule(template)["Actions"]
    weighted = action["ForwardConfig"]["TargetGroups"]
    assert weighted == [
        {"TargetGroupArn": {"Ref": stable_id}, "Weight": 100 - PERCENT},
        {"TargetGroupArn": {"Ref": canary_id}, "Weight": PERCENT},
    ]
    assert sum(group["Weight"] for group in weighted) == 100


@pytest.mark.parametrize("engine", ENGINES)
def test_canary_workload_runs_the_canary_tag_from_the_same_repository(synth, engine):
    built = canary_synth(synth, engine)
    serving = built.stacks.eks.serving
    template = built.template(built.stacks.eks)
    workloads = {
        "stable": images(manifest_parts(template, serving.workload_manifest)),
        "canary": images(manifest_parts(template, serving.node.find_child("CanaryWorkload"))),
    }
    (stable,), (canary,) = workloads["stable"], workloads["canary"]
    # One shared repository (imported by name in prod): only the tag differs.
    repository = "123456789012.dkr.ecr.us-east-1."
    assert stable[0] == canary[0] == repository
    assert stable[-1].endswith(f"/mlops-cdk/model-server:{STABLE}")
    assert canary[-1].endswith(f"/mlops-cdk/model-server:{CANARY}")
    assert stable[1:-1] == canary[1:-1]
    # The canary binding registers its own Service in the canary target group.
    parts = manifest_parts(template, serving.node.find_child("CanaryWorkload"))
    (index,) = [i for i, p in enumerate(parts) if str(p).endswith('"targetGroupARN":"')]
    assert parts[index + 1] == {"Ref": logical_id(serving.canary_target_group)}


@pytest.mark.parametrize("engine", ENGINES)
def test_both_workloads_validate_and_select_only_their_own_pods(synth, engine, schemas):
    built = canary_synth(synth, engine)
    serving = built.stacks.eks.serving
    stable, canary = serving.manifests[2:], serving.canary_manifests
    assert [m["kind"] for m in stable] == [m["kind"] for m in canary]
    assert built.settings.eks.kubernetes_version in KUBERNETES_VERSIONS
    for manifest in [*serving.manifests, *canary]:
        validate(manifest, built.settings.eks.kubernetes_version, schemas)
    stable_names = {(m["kind"], m["metadata"]["name"]) for m in stable}
    canary_names = {(m["kind"], m["metadata"]["name"]) for m in canary}
    assert not stable_names & canary_names
    bindings = {
        track: next(m for m in manifests if m["kind"] == "TargetGroupBinding")
        for track, manifests in (("stable", stable), ("canary", canary))
    }
    services = {track: binding["spec"]["serviceRef"]["name"] for track, binding in bindings.items()}
    suffix = "-predictor" if engine == "kserve" else ""
    assert services == {
        "stable": f"fraud-detection{suffix}",
        "canary": f"fraud-detection-canary{suffix}",
    }
    labels = {}
    for track, manifests in (("stable", stable), ("canary", canary)):
        (workload,) = [m for m in manifests if m["kind"] in ("Deployment", "InferenceService")]
        pod = workload["spec"].get("template", {}).get("metadata") or workload["spec"]["predictor"]
        labels[track] = pod["labels"]
    # Each pod selector (app.kubernetes.io/name) matches one track only.
    assert labels["stable"]["app.kubernetes.io/name"] == "fraud-detection"
    assert labels["canary"]["app.kubernetes.io/name"] == "fraud-detection-canary"
    assert labels["canary"]["mlops-cdk/track"] == "canary"


def test_without_a_canary_the_template_has_one_workload_and_one_target_group(synth):
    built = synth("prod", "eks")
    serving = built.stacks.eks.serving
    template = built.template(built.stacks.eks)
    assert serving.canary_target_group is None and serving.canary_manifests == []
    assert list(template.find_resources(TARGET_GROUP)) == [logical_id(serving.target_group)]
    assert serving.node.try_find_child("CanaryWorkload") is None
    texts = [
        "".join(
            part
            for part in manifest["Properties"]["Manifest"]["Fn::Join"][1]
            if isinstance(part, str)
        )
        for manifest in template.find_resources(MANIFEST).values()
        if isinstance(manifest["Properties"]["Manifest"], dict)
    ]
    workloads = [text for text in texts if '"kind":"TargetGroupBinding"' in text]
    assert len(workloads) == 1 and '"name":"fraud-detection"' in workloads[0]
    (action,) = model_rule(template)["Actions"]
    assert action == {
        "Type": "forward",
        "TargetGroupArn": {"Ref": logical_id(serving.target_group)},
    }
    outputs = template.find_outputs("*")
    assert outputs["CanaryImageTag"]["Value"] == "none"
    assert "CanaryTargetGroupFullName" not in outputs
    alarms = built.template(built.stacks.observability).find_resources("AWS::CloudWatch::Alarm")
    assert "canary" not in json.dumps(alarms).lower()


def test_release_outputs_name_both_tags_and_the_listener(synth):
    built = canary_synth(synth, "deployment")
    serving = built.stacks.eks.serving
    outputs = built.template(built.stacks.eks).find_outputs("*")
    assert outputs["StableImageTag"]["Value"] == STABLE
    assert outputs["CanaryImageTag"]["Value"] == CANARY
    assert outputs["ModelListenerArn"]["Value"] == {"Ref": logical_id(serving.listener)}
    canary_id = logical_id(serving.canary_target_group)
    assert outputs["CanaryTargetGroupFullName"]["Value"] == {
        "Fn::GetAtt": [canary_id, "TargetGroupFullName"]
    }


def test_canary_alarms_watch_the_canary_target_group_under_fixed_names(synth):
    built = canary_synth(synth, "deployment")
    template = built.template(built.stacks.observability)
    alarms = {
        alarm["Properties"].get("AlarmName"): alarm["Properties"]
        for alarm in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    error_rate = alarms[canary_alarm_name("prod", "error-rate")]
    latency = alarms[canary_alarm_name("prod", "p99-latency")]
    (latency_query,) = latency["Metrics"]
    stat = latency_query["MetricStat"]
    assert (stat["Metric"]["MetricName"], stat["Stat"]) == ("TargetResponseTime", "p99")
    assert latency["Threshold"] == built.settings.observability.p99_latency_ms / 1000
    dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
    # The canary group's full name comes from the serving stack's output.
    assert "CanaryTargetGroup" in json.dumps(dimensions["TargetGroup"])
    assert error_rate["Threshold"] == built.settings.observability.error_rate_percent
    metric_names = {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in error_rate["Metrics"]
        if "MetricStat" in query
    }
    assert metric_names == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    assert {canary_alarm_name("prod", kind) for kind in ALARM_KINDS} <= set(alarms)


@pytest.mark.parametrize("engine", ENGINES)
def test_cfn_lint_is_clean_with_a_canary(synth, engine):
    built = canary_synth(synth, engine)
    templates = [
        str(built.outdir / f"{stack.artifact_id}.template.json")
        for stack in (built.stacks.eks, built.stacks.observability)
    ]
    result = cfn_lint(templates)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"canary_image_tag": CANARY, "canary_percent": "101"},
            "prod.canary_percent = 101: must be 0-100",
        ),
        (
            {"canary_image_tag": CANARY},
            f"prod.canary_image_tag = '{CANARY}': is set but canary_percent is not; set "
            "canary_percent",
        ),
        (
            {"canary_percent": "10"},
            "prod.canary_percent = 10: is set but canary_image_tag is not; set canary_image_tag",
        ),
        (
            {"canary_image_tag": STABLE, "canary_percent": "10"},
            f"prod.canary_image_tag = '{STABLE}': is the stable image_tag",
        ),
        (
            {"serving": "sagemaker", "canary_image_tag": CANARY, "canary_percent": "10"},
            "SageMaker already deploys blue/green with canary traffic and alarm rollback itself;"
            " remove canary_image_tag and canary_percent",
        ),
        (
            {"canary_image_tag": "bad tag", "canary_percent": "10"},
            "prod.canary_image_tag = 'bad tag': is not a valid image tag",
        ),
    ],
)
def test_bad_canary_settings_name_the_field_and_the_fix(context, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({"env": "prod", "image_tag": STABLE, **context}, {})
    assert any(message in error for error in raised.value.errors), raised.value.errors


def test_canary_settings_parse_from_context_and_overrides():
    settings = load_settings({"env": "prod", "canary_image_tag": CANARY, "canary_percent": "0"}, {})
    assert (settings.canary_image_tag, settings.canary_percent) == (CANARY, 0)
    overrides = {"canary_image_tag": CANARY, "canary_percent": 100}
    assert load_settings({"env": "staging"}, {}, overrides).canary_percent == 100
    with pytest.raises(ConfigError, match="canary_percent = '10'"):
        load_settings({"env": "prod"}, {}, {"canary_image_tag": CANARY, "canary_percent": "10"})


def test_weights_split_the_percent():
    assert canary_weights(0) == (100, 0)
    assert canary_weights(25) == (75, 25)
    with pytest.raises(ValueError, match="canary_percent = 101"):
        canary_weights(101)


def dev_serving(**canary) -> tuple[cdk.Stack, EksModelServing]:
    """dev's :class:`EksModelServing` of the ``STABLE`` tag with the ``canary`` arguments."""
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    cluster = EksFargateCluster(stack, "Eks", vpc=vpc, cluster_name="c")
    serving = EksModelServing(
        stack,
        "Serving",
        cluster=cluster,
        env_name="dev",
        repository=ecr.Repository(stack, "Repo"),
        image_tag=STABLE,
        **canary,
    )
    return stack, serving


def test_construct_refuses_a_canary_percent_without_a_tag():
    with pytest.raises(ValueError, match=r"EksModelServing\.canary_percent = 10: is set but"):
        dev_serving(canary_percent=10)


@pytest.mark.parametrize("percent", [0, 100])
def test_construct_weights_at_the_bounds(percent):
    """0 keeps the canary running dark; 100 sends it everything (the stable group stays)."""
    stack, serving = dev_serving(canary_image_tag=CANARY, canary_percent=percent)
    (action,) = model_rule(Template.from_stack(stack))["Actions"]
    weights = [group["Weight"] for group in action["ForwardConfig"]["TargetGroups"]]
    assert weights == [100 - percent, percent]
    assert serving.canary_manifests and serving.canary_target_group is not None
