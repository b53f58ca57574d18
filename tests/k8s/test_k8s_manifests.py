"""Every manifest the EKS path renders, validated without synthesizing.

Built-in kinds go through ``kubernetes-validate`` in strict mode (unknown fields fail) for each
Kubernetes version the kit can deploy; the KServe InferenceService and the AWS Load Balancer
Controller's TargetGroupBinding go through their upstream CRD schemas with every object closed.
A kind none of them knows fails the test.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from mlops_cdk.k8s import manifests as k8s
from mlops_cdk.versions import KUBERNETES_VERSIONS
from tests.k8s.schemas import crd_schema

CRD_FILE = "kserve-serving.kserve.io_inferenceservices.yaml"
TARGET_GROUP_BINDING_CRD = "elbv2.k8s.aws_targetgroupbindings.yaml"
"""The AWS Load Balancer Controller CRD the controller version in ``versions.py`` installs
(provenance in tests/fixtures/schemas/README.md)."""
TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/model/0123456789abcdef"
)


@pytest.fixture(scope="module")
def inference_service_schema() -> dict[str, Any]:
    return crd_schema(CRD_FILE)


@pytest.fixture(scope="module")
def target_group_binding_schema() -> dict[str, Any]:
    return crd_schema(TARGET_GROUP_BINDING_CRD)


def validate(manifest: dict[str, Any], kubernetes_version: str, crd_schema: dict) -> None:
    """Validate one manifest; raises if it is invalid or if nothing can validate its kind.

    ``crd_schema`` maps ``apiVersion`` to the closed schema of that custom resource.
    """
    if manifest["apiVersion"] in crd_schema:
        assert manifest["kind"] in ("InferenceService", "TargetGroupBinding"), manifest["kind"]
        jsonschema.Draft7Validator(crd_schema[manifest["apiVersion"]]).validate(manifest)
        # The CRD leaves metadata open; check it as Kubernetes ObjectMeta instead.
        meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": manifest["metadata"]}
        kubernetes_validate.validate(meta, f"{kubernetes_version}.0", strict=True)
        return
    kubernetes_validate.validate(manifest, f"{kubernetes_version}.0", strict=True)


@pytest.fixture(scope="module")
def crd_schemas(inference_service_schema, target_group_binding_schema) -> dict[str, Any]:
    return {
        "serving.kserve.io/v1beta1": inference_service_schema,
        "elbv2.k8s.aws/v1beta1": target_group_binding_schema,
    }


def spec(**overrides: Any) -> k8s.ModelServingSpec:
    values: dict[str, Any] = {
        "env_name": "prod",
        "namespace": "model-serving",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-server:1.4.0",
        "service_account_name": "model-server",
        "target_group_arn": TARGET_GROUP_ARN,
        "model_name": "fraud-detection",
        "min_replicas": 2,
        "max_replicas": 10,
    }
    return k8s.ModelServingSpec(**{**values, **overrides})


@pytest.mark.parametrize("model_name", ["fraud-detection", "churn"])
@pytest.mark.parametrize("engine", ["deployment", "kserve"])
@pytest.mark.parametrize("kubernetes_version", list(KUBERNETES_VERSIONS))
def test_every_manifest_validates_strictly(engine, model_name, kubernetes_version, crd_schemas):
    rendered = k8s.serving_manifests(spec(model_name=model_name), engine)
    assert rendered, "nothing rendered"
    for manifest in rendered:
        validate(manifest, kubernetes_version, crd_schemas)


def test_each_engine_renders_its_workload():
    kinds = {
        e: [m["kind"] for m in k8s.serving_manifests(spec(), e)] for e in ("deployment", "kserve")
    }
    assert kinds["deployment"] == [
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "TargetGroupBinding",
    ]
    assert kinds["kserve"] == [
        "Namespace",
        "ServiceAccount",
        "InferenceService",
        "PodDisruptionBudget",
        "TargetGroupBinding",
    ]
    with pytest.raises(ValueError, match="engine = 'seldon'"):
        k8s.serving_manifests(spec(), "seldon")  # type: ignore[arg-type]


def test_a_kind_without_a_schema_fails_validation(crd_schemas):
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
            "1.36",
            crd_schemas,
        )


def test_strict_validation_rejects_a_misspelt_field(crd_schemas):
    deployment = k8s.deployment(spec())
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        validate(deployment, "1.36", crd_schemas)


def test_closed_crd_schema_rejects_a_misspelt_predictor_field(crd_schemas):
    isvc = copy.deepcopy(k8s.inference_service(spec()))
    isvc["spec"]["predictor"]["minReplica"] = 1
    with pytest.raises(jsonschema.ValidationError, match="minReplica"):
        validate(isvc, "1.36", crd_schemas)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("targetGroupArn", TARGET_GROUP_ARN, "targetGroupArn"),
        ("serviceRef", {"name": "fraud-detection", "prot": 80}, "prot"),
        ("targetType", "pod", "'pod' is not one of"),
    ],
)
def test_closed_crd_schema_rejects_a_bad_target_group_binding(crd_schemas, field, value, message):
    binding = copy.deepcopy(k8s.target_group_binding(spec(), "fraud-detection"))
    binding["spec"][field] = value
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate(binding, "1.36", crd_schemas)


@pytest.mark.parametrize(
    ("engine", "service_name"),
    [("deployment", "fraud-detection"), ("kserve", "fraud-detection-predictor")],
)
def test_target_group_binding_registers_the_model_service_in_the_cdk_target_group(
    engine, service_name
):
    rendered = k8s.serving_manifests(spec(), engine)
    (binding,) = [m for m in rendered if m["kind"] == "TargetGroupBinding"]
    assert binding["spec"] == {
        "serviceRef": {"name": service_name, "port": 80},
        "targetGroupARN": TARGET_GROUP_ARN,
        "targetType": "ip",
    }
    assert binding["metadata"]["namespace"] == "model-serving"
    assert not any(m["kind"] == "Ingress" for m in rendered)
    if engine == "deployment":
        (service,) = [m for m in rendered if m["kind"] == "Service"]
        assert service["metadata"]["name"] == service_name
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["ports"][0]["port"] == 80


def test_renderers_take_the_model_name_from_the_spec():
    rendered = k8s.serving_manifests(spec(model_name="churn"), "kserve")
    text = json.dumps(rendered)
    assert "fraud" not in text
    (binding,) = [m for m in rendered if m["kind"] == "TargetGroupBinding"]
    assert binding["spec"]["serviceRef"]["name"] == "churn-predictor"
    isvc = rendered[2]
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/churn"


@pytest.mark.parametrize("engine", ["deployment", "kserve"])
def test_model_server_probes_resources_and_metrics(engine):
    workload = k8s.serving_manifests(spec(cpu="1", memory="2Gi"), engine)[2]
    if engine == "deployment":
        pod = workload["spec"]["template"]
        annotations, pod_spec = pod["metadata"]["annotations"], pod["spec"]
    else:
        pod_spec = workload["spec"]["predictor"]
        annotations = pod_spec["annotations"]
    assert pod_spec["serviceAccountName"] == "model-server"
    (container,) = pod_spec["containers"]
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/v1/models/fraud-detection",
        "port": 8080,
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    assert (
        container["resources"]["requests"]
        == container["resources"]["limits"]
        == {
            "cpu": "1",
            "memory": "2Gi",
        }
    )
    assert {"name": "MODEL_DIR", "value": "/opt/ml/model"} in container["env"]
    assert {"name": "MAX_BODY_BYTES", "value": "65536"} in container["env"]
    assert pod_spec["automountServiceAccountToken"] is False
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }


def test_autoscaler_and_disruption_budget_follow_the_replica_range():
    hpa = k8s.horizontal_pod_autoscaler(spec(min_replicas=2, max_replicas=10))
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    isvc = k8s.inference_service(spec(min_replicas=2, max_replicas=10))
    assert (isvc["spec"]["predictor"]["minReplicas"], isvc["spec"]["predictor"]["maxReplicas"]) == (
        2,
        10,
    )
    pdb = k8s.pod_disruption_budget(spec())
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": spec().selector}}


def test_service_account_has_no_iam_role_and_no_token():
    sa = k8s.service_account(spec())
    assert "annotations" not in sa["metadata"]
    assert sa["automountServiceAccountToken"] is False


def test_max_body_bytes_reaches_the_server():
    (container,) = k8s.deployment(spec(max_body_bytes=4096))["spec"]["template"]["spec"][
        "containers"
    ]
    assert {"name": "MAX_BODY_BYTES", "value": "4096"} in container["env"]
