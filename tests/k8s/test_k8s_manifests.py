"""Every manifest the EKS path renders, validated without synthesizing.

Built-in kinds go through ``kubernetes-validate`` in strict mode (unknown fields fail) for each
Kubernetes version the kit can deploy; the KServe InferenceService goes through the upstream CRD
schema with every object closed. A kind neither knows fails the test.
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
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012"
WAF = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/model/11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def inference_service_schema() -> dict[str, Any]:
    return crd_schema(CRD_FILE)


def validate(manifest: dict[str, Any], kubernetes_version: str, crd_schema: dict) -> None:
    """Validate one manifest; raises if it is invalid or if nothing can validate its kind."""
    if manifest["apiVersion"] == "serving.kserve.io/v1beta1":
        assert manifest["kind"] == "InferenceService", manifest["kind"]
        jsonschema.Draft7Validator(crd_schema).validate(manifest)
        # The CRD leaves metadata open; check it as Kubernetes ObjectMeta instead.
        meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": manifest["metadata"]}
        kubernetes_validate.validate(meta, f"{kubernetes_version}.0", strict=True)
        return
    kubernetes_validate.validate(manifest, f"{kubernetes_version}.0", strict=True)


def spec(**overrides: Any) -> k8s.ModelServingSpec:
    values: dict[str, Any] = {
        "env_name": "prod",
        "namespace": "model-serving",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-server:1.4.0",
        "service_account_name": "model-server",
        "service_account_role_arn": "arn:aws:iam::123456789012:role/model-server",
        "load_balancer_name": k8s.load_balancer_name("prod"),
        "min_replicas": 2,
        "max_replicas": 10,
    }
    return k8s.ModelServingSpec(**{**values, **overrides})


VARIANTS = {
    "http": {},
    "https-waf-cidrs": {
        "certificate_arn": CERT,
        "waf_acl_arn": WAF,
        "inbound_cidrs": ("203.0.113.0/24", "198.51.100.0/24"),
    },
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("engine", ["deployment", "kserve"])
@pytest.mark.parametrize("kubernetes_version", list(KUBERNETES_VERSIONS))
def test_every_manifest_validates_strictly(
    engine, variant, kubernetes_version, inference_service_schema
):
    rendered = k8s.serving_manifests(spec(**VARIANTS[variant]), engine)
    assert rendered, "nothing rendered"
    for manifest in rendered:
        validate(manifest, kubernetes_version, inference_service_schema)


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
        "Ingress",
    ]
    assert kinds["kserve"] == [
        "Namespace",
        "ServiceAccount",
        "InferenceService",
        "PodDisruptionBudget",
        "Ingress",
    ]
    with pytest.raises(ValueError, match="engine = 'seldon'"):
        k8s.serving_manifests(spec(), "seldon")  # type: ignore[arg-type]


def test_a_kind_without_a_schema_fails_validation(inference_service_schema):
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
            "1.36",
            inference_service_schema,
        )


def test_strict_validation_rejects_a_misspelt_field(inference_service_schema):
    deployment = k8s.deployment(spec())
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        validate(deployment, "1.36", inference_service_schema)


def test_closed_crd_schema_rejects_a_misspelt_predictor_field(inference_service_schema):
    isvc = copy.deepcopy(k8s.inference_service(spec()))
    isvc["spec"]["predictor"]["minReplica"] = 1
    with pytest.raises(jsonschema.ValidationError, match="minReplica"):
        validate(isvc, "1.36", inference_service_schema)


def test_ingress_is_an_internet_facing_alb_with_ip_targets():
    ingress = k8s.ingress(spec())
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/v1/models/fraud-detection"
    assert annotations["alb.ingress.kubernetes.io/load-balancer-name"] == "mlops-prod-model"
    assert "mlops-cdk:env=prod" in annotations["alb.ingress.kubernetes.io/tags"].split(",")
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "0.0.0.0/0"
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}]
    assert "alb.ingress.kubernetes.io/ssl-redirect" not in annotations
    assert "alb.ingress.kubernetes.io/wafv2-acl-arn" not in annotations
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/v1/models/fraud-detection*"
    assert path["backend"]["service"] == {"name": "fraud-detection", "port": {"number": 80}}


def test_ingress_adds_https_redirect_waf_and_cidrs_when_configured():
    annotations = k8s.ingress_annotations(spec(**VARIANTS["https-waf-cidrs"]))
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [
        {"HTTP": 80},
        {"HTTPS": 443},
    ]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == CERT
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] == WAF
    assert (
        annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "203.0.113.0/24,198.51.100.0/24"
    )


def test_kserve_ingress_targets_the_predictor_service():
    ingress = k8s.serving_manifests(spec(), "kserve")[-1]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "fraud-detection-predictor"


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


def test_service_account_is_bound_to_its_role_through_irsa():
    sa = k8s.service_account(spec())
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::123456789012:role/model-server"
    )


def test_load_balancer_names_fit_the_alb_limit():
    assert k8s.load_balancer_name("staging") == "mlops-staging-model"
    with pytest.raises(ValueError, match="longer than 32"):
        k8s.load_balancer_name("a-very-long-environment-name")
