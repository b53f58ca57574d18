"""The canary track of the serving manifests: valid, under its own names, selecting its own pods."""

from __future__ import annotations

import dataclasses

import pytest

from mlops_cdk.k8s import manifests as k8s
from mlops_cdk.versions import KUBERNETES_VERSIONS
from tests.k8s.schemas import crd_schema
from tests.k8s.test_k8s_manifests import (
    CRD_FILE,
    TARGET_GROUP_BINDING_CRD,
    spec,
    validate,
)

CANARY_GROUP = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/canary/fedcba9876543210"
)
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-server:1.5.0"


@pytest.fixture(scope="module")
def schemas() -> dict:
    return {
        "serving.kserve.io/v1beta1": crd_schema(CRD_FILE),
        "elbv2.k8s.aws/v1beta1": crd_schema(TARGET_GROUP_BINDING_CRD),
    }


def canary_spec(**overrides) -> k8s.ModelServingSpec:
    return dataclasses.replace(
        spec(**overrides), image=IMAGE, target_group_arn=CANARY_GROUP, track="canary"
    )


@pytest.mark.parametrize("engine", ["deployment", "kserve"])
@pytest.mark.parametrize("kubernetes_version", list(KUBERNETES_VERSIONS))
def test_every_canary_manifest_validates_strictly(engine, kubernetes_version, schemas):
    rendered = k8s.workload_manifests(canary_spec(), engine)
    assert rendered
    for manifest in rendered:
        validate(manifest, kubernetes_version, schemas)


@pytest.mark.parametrize("engine", ["deployment", "kserve"])
def test_canary_objects_pods_and_binding_are_its_own(engine):
    stable = k8s.workload_manifests(spec(), engine)
    canary = k8s.workload_manifests(canary_spec(), engine)
    assert [m["kind"] for m in canary] == [m["kind"] for m in stable]
    for stable_object, canary_object in zip(stable, canary, strict=True):
        assert canary_object["metadata"]["name"] == "fraud-detection-canary"
        assert stable_object["metadata"]["name"] == "fraud-detection"
        assert canary_object["metadata"]["labels"]["mlops-cdk/track"] == "canary"
        assert "mlops-cdk/track" not in stable_object["metadata"]["labels"]
    (binding,) = [m for m in canary if m["kind"] == "TargetGroupBinding"]
    suffix = "-predictor" if engine == "kserve" else ""
    assert binding["spec"]["serviceRef"]["name"] == f"fraud-detection-canary{suffix}"
    assert binding["spec"]["targetGroupARN"] == CANARY_GROUP
    (pdb,) = [m for m in canary if m["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "fraud-detection-canary"
    }
    if engine == "deployment":
        deployment, service = canary[0], canary[1]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": "fraud-detection-canary"}
        # The stable Service's selector does not match the canary's pods.
        stable_selector = stable[1]["spec"]["selector"]
        assert not stable_selector.items() <= pod_labels.items()
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert canary[2]["spec"]["scaleTargetRef"]["name"] == "fraud-detection-canary"
    else:
        (container,) = canary[0]["spec"]["predictor"]["containers"]
    assert container["image"] == IMAGE
    # Same model, same URL: the readiness probe still asks for /v1/models/fraud-detection.
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/fraud-detection"


def test_the_stable_track_renders_as_before():
    stable = spec()
    assert stable.track == "stable" and stable.workload_name == "fraud-detection"
    assert stable.labels == {
        "app.kubernetes.io/name": "fraud-detection",
        "app.kubernetes.io/part-of": "mlops-cdk",
        "mlops-cdk/env": "prod",
    }
    rendered = k8s.serving_manifests(stable, "deployment")
    assert rendered[2:] == k8s.workload_manifests(stable, "deployment")
