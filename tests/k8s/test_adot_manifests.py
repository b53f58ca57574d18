"""The ADOT collector manifests and its configuration, validated without synthesizing."""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
import yaml

from mlops_cdk.k8s import adot
from mlops_cdk.versions import ADOT_COLLECTOR_IMAGE, KUBERNETES_VERSIONS


def spec(**overrides) -> adot.CollectorSpec:
    values = {
        "cluster_name": "mlops-prod",
        "region": "us-east-1",
        "image": ADOT_COLLECTOR_IMAGE,
        "scrape_namespaces": ("model-serving",),
    }
    return adot.CollectorSpec(**{**values, **overrides})


def rendered(collector_spec: adot.CollectorSpec | None = None) -> list[dict]:
    collector_spec = collector_spec or spec()
    return [
        adot.namespace(collector_spec),
        *adot.collector_manifests(collector_spec),
        *adot.scrape_access_manifests(collector_spec),
    ]


def config() -> dict:
    (config_map,) = [m for m in rendered() if m["kind"] == "ConfigMap"]
    return yaml.safe_load(config_map["data"][adot.CONFIG_KEY])


@pytest.mark.parametrize("kubernetes_version", list(KUBERNETES_VERSIONS))
def test_every_manifest_validates_strictly(kubernetes_version):
    manifests = rendered(spec(scrape_namespaces=("model-serving", "other")))
    assert [m["kind"] for m in manifests] == [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Role",
        "RoleBinding",
        "Role",
        "RoleBinding",
    ]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, f"{kubernetes_version}.0", strict=True)


def test_strict_validation_rejects_a_misspelt_field():
    deployment = copy.deepcopy(adot.deployment(spec()))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicies"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicies"):
        kubernetes_validate.validate(deployment, "1.36.0", strict=True)


def test_config_map_is_yaml_with_every_pipeline_wired():
    c = config()
    pipelines = c["service"]["pipelines"]
    assert set(pipelines) == {"metrics/containerinsights", "metrics/pods"}
    used = {kind: set() for kind in ("receivers", "processors", "exporters")}
    for pipeline in pipelines.values():
        for kind in used:
            assert pipeline[kind], f"pipeline without {kind}"
            assert set(pipeline[kind]) <= set(c[kind]), set(pipeline[kind]) - set(c[kind])
            used[kind] |= set(pipeline[kind])
    for kind, names in used.items():
        assert names == set(c[kind]), f"{kind} defined but unused: {set(c[kind]) - names}"
    assert pipelines["metrics/containerinsights"]["receivers"] == ["prometheus/cadvisor"]
    assert pipelines["metrics/containerinsights"]["exporters"] == ["awsemf/containerinsights"]
    assert pipelines["metrics/pods"]["receivers"] == ["prometheus/pods"]
    assert pipelines["metrics/pods"]["exporters"] == ["awsemf/pods"]
    for pipeline in pipelines.values():
        assert pipeline["processors"][0] == "memory_limiter"
        assert pipeline["processors"][-1] == "batch"
    assert c["service"]["extensions"] == ["health_check"] == list(c["extensions"])
    assert c["extensions"]["health_check"]["endpoint"] == "${env:POD_IP}:13133"


def test_container_insights_exports_the_pod_metrics_the_dashboard_reads():
    c = config()
    exporter = c["exporters"]["awsemf/containerinsights"]
    assert exporter["namespace"] == "ContainerInsights"
    assert exporter["log_group_name"] == "/aws/containerinsights/{ClusterName}/performance"
    assert exporter["eks_fargate_container_insights_enabled"] is True
    (declaration,) = exporter["metric_declarations"]
    assert ["ClusterName", "Namespace", "LaunchType"] in declaration["dimensions"]
    assert {
        "pod_cpu_utilization_over_pod_limit",
        "pod_memory_utilization_over_pod_limit",
    } <= set(declaration["metric_name_selectors"])
    # The utilisation metrics are generated from the renamed cAdvisor series.
    generated = [
        rule["name"]
        for name in ("metricsgeneration/1", "metricsgeneration/2")
        for rule in c["processors"][name]["rules"]
    ]
    assert set(adot.POD_METRICS) - set(generated) <= {
        f"pod_{n}"
        for n in ("memory_working_set", "memory_limit", "network_rx_bytes", "network_tx_bytes")
    }
    (job,) = c["receivers"]["prometheus/cadvisor"]["config"]["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "node"}]
    path = next(r for r in job["relabel_configs"] if r.get("target_label") == "__metrics_path__")
    # "$$" is the collector's escape: Prometheus sees ${1}, the node name.
    assert path["replacement"] == "/api/v1/nodes/$${1}/proxy/metrics/cadvisor"


def test_annotated_pods_in_the_scrape_namespaces_go_to_the_model_server_namespace():
    c = config()
    (job,) = c["receivers"]["prometheus/pods"]["config"]["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": ["model-serving"]}}
    ]
    keep = {
        r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r["action"] == "keep"
    }
    assert keep == {
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
        "__meta_kubernetes_pod_phase": "Running",
    }
    address = next(r for r in job["relabel_configs"] if r.get("target_label") == "__address__")
    # The Prometheus relabel regex on "<ip>:<container port>;<annotated port>".
    assert address["replacement"] == "$$1:$$2"  # Prometheus sees $1:$2
    match = re.fullmatch(address["regex"], "10.0.3.7:8080;8080")
    assert match and match.expand(r"\1:\2") == "10.0.3.7:8080"
    assert c["receivers"]["prometheus/pods"]["trim_metric_suffixes"] is False
    exporter = c["exporters"]["awsemf/pods"]
    assert exporter["namespace"] == "MlopsCdk/ModelServer"
    assert exporter["log_group_name"] == "/aws/containerinsights/{ClusterName}/prometheus"
    selectors = {
        selector: d["dimensions"]
        for d in exporter["metric_declarations"]
        for selector in d["metric_name_selectors"]
    }
    assert selectors == {
        "^fraud_model_requests_total$": [["ClusterName", "Namespace", "route", "code"]],
        "^fraud_model_request_duration_seconds$": [["ClusterName", "Namespace", "route"]],
        "^fraud_model_predicted_rows_total$": [["ClusterName", "Namespace"]],
    }
    # awsemf deltas cumulative sums but not histograms: the pipeline does it for them.
    assert c["processors"]["cumulativetodelta/histograms"] == {
        "include": {"metric_types": ["histogram"]}
    }


def test_config_has_no_deploy_time_values_and_a_change_rolls_the_pod():
    text = adot.config_text(spec(cluster_name="${Token[TOKEN.1]}", region="${Token[TOKEN.2]}"))
    assert "Token" not in text and "us-east-1" not in text
    one = adot.deployment(spec())["spec"]["template"]["metadata"]["annotations"]
    other = adot.deployment(spec(scrape_namespaces=("a",)))["spec"]["template"]["metadata"]
    assert one["mlops-cdk/config-sha256"] != other["annotations"]["mlops-cdk/config-sha256"]


def test_collector_pod_runs_restricted_with_its_service_account_and_cluster_name():
    manifests = {m["kind"]: m for m in rendered()}
    namespace = manifests["Namespace"]["metadata"]
    assert namespace["name"] == "fargate-container-insights"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # The service account is an eks.ServiceAccount (IRSA), created by the construct.
    assert "ServiceAccount" not in manifests
    deployment = manifests["Deployment"]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"] == {"type": "Recreate"}
    pod = deployment["template"]["spec"]
    assert pod["serviceAccountName"] == adot.SERVICE_ACCOUNT_NAME == "adot-collector"
    assert pod["securityContext"]["runAsUser"] == 4317
    (container,) = pod["containers"]
    assert container["image"] == ADOT_COLLECTOR_IMAGE
    # A release tag for readers, pinned by its index digest for the kubelet.
    pinned = (
        r"public\.ecr\.aws/aws-observability/aws-otel-collector:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}"
    )
    assert re.fullmatch(pinned, container["image"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "ClusterName=mlops-prod"
    assert env["AWS_REGION"] == "us-east-1"
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"] == ["--config=/conf/collector.yaml"]


def test_rbac_reads_nodes_cluster_wide_but_pods_only_where_scraped():
    manifests = rendered(spec(scrape_namespaces=("model-serving",)))
    (cluster_role,) = [m for m in manifests if m["kind"] == "ClusterRole"]
    resources = {r for rule in cluster_role["rules"] for r in rule["resources"]}
    assert resources == {"nodes", "nodes/proxy"}
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in cluster_role["rules"])
    (role,) = [m for m in manifests if m["kind"] == "Role"]
    assert role["metadata"]["namespace"] == "model-serving"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]
    for binding in (m for m in manifests if m["kind"].endswith("Binding")):
        assert binding["subjects"] == [
            {
                "kind": "ServiceAccount",
                "name": "adot-collector",
                "namespace": "fargate-container-insights",
            }
        ]
