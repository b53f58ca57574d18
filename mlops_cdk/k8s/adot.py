"""The ADOT collector that brings Container Insights and Prometheus metrics to EKS on Fargate.

Fargate runs no DaemonSets, so no node agent can read the kubelets. AWS documents one collector
pod instead (``deployment-template/eks/otel-fargate-container-insights.yaml`` of
aws-otel-collector): it discovers every node through the API server, scrapes each kubelet's
cAdvisor endpoint through the API server's node proxy, turns the samples into the Container
Insights pod metrics and sends them with the ``awsemf`` exporter to the log group
``/aws/containerinsights/<cluster>/performance``, from which CloudWatch extracts metrics in the
``ContainerInsights`` namespace. The same collector scrapes pods annotated
``prometheus.io/scrape: "true"`` in the namespaces it is given and sends their metrics to
``/aws/containerinsights/<cluster>/prometheus`` and a namespace of our own.

Everything here is a pure function of :class:`CollectorSpec`, like ``manifests.py``. The
Container Insights pipeline follows the upstream template of the pinned release, minus two
metric relabels for rkt and systemd cgroups that never match on Fargate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]

NAMESPACE = "fargate-container-insights"
SERVICE_ACCOUNT_NAME = "adot-collector"
NAME = "adot-collector"
CLUSTER_ROLE_NAME = "mlops-cdk-adot-collector"
POD_READER_ROLE_NAME = "mlops-cdk-adot-pod-discovery"
CONFIG_KEY = "collector.yaml"
CONFIG_DIR = "/conf"
HEALTH_PORT = 13133
RUN_AS_USER = 4317
"""UID of user ``aoc`` in the collector image."""

CONTAINER_INSIGHTS_NAMESPACE = "ContainerInsights"
MODEL_SERVER_NAMESPACE = "MlopsCdk/ModelServer"
LAUNCH_TYPE = "fargate"
"""``LaunchType`` dimension value: the node label ``eks.amazonaws.com/compute-type``."""

MODEL_REQUESTS = "fraud_model_requests_total"
MODEL_LATENCY = "fraud_model_request_duration_seconds"
MODEL_ROWS = "fraud_model_predicted_rows_total"
"""Model-server metric families (``model/fraud_model/server.py``) as the receiver names them."""
PREDICT_ROUTES = ("v1_predict", "v2_infer", "invocations")
"""``route`` label values of the inference routes; only these become CloudWatch metrics."""

POD_METRICS = (
    "pod_cpu_utilization_over_pod_limit",
    "pod_cpu_usage_total",
    "pod_cpu_limit",
    "pod_memory_utilization_over_pod_limit",
    "pod_memory_working_set",
    "pod_memory_limit",
    "pod_network_rx_bytes",
    "pod_network_tx_bytes",
)
"""Container Insights pod metrics that become CloudWatch metrics (the rest stay in the logs)."""


def performance_log_group(cluster_name: str) -> str:
    """Log group the Container Insights performance events go to."""
    return f"/aws/containerinsights/{cluster_name}/performance"


def prometheus_log_group(cluster_name: str) -> str:
    """Log group the scraped pods' Prometheus metrics go to."""
    return f"/aws/containerinsights/{cluster_name}/prometheus"


@dataclass(frozen=True)
class CollectorSpec:
    """What the collector manifests need.

    Attributes:
        cluster_name: EKS cluster name (``ClusterName`` dimension and log group names).
        region: Region the metrics and logs go to.
        image: Collector image with tag (``versions.ADOT_COLLECTOR_IMAGE``).
        scrape_namespaces: Namespaces whose annotated pods are scraped; the collector may
            list pods only there.
        namespace: Namespace of the collector (needs a Fargate profile).
        cpu: CPU request and limit of the collector pod.
        memory: Memory request and limit of the collector pod.
        scrape_interval_seconds: How often kubelets and pods are scraped.
    """

    cluster_name: str
    region: str
    image: str
    scrape_namespaces: tuple[str, ...] = ()
    namespace: str = NAMESPACE
    cpu: str = "250m"
    memory: str = "512Mi"
    scrape_interval_seconds: int = 60

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every object."""
        return {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "mlops-cdk"}

    @property
    def selector(self) -> dict[str, str]:
        """Pod selector of the Deployment."""
        return {"app.kubernetes.io/name": NAME}


def _meta(spec: CollectorSpec, name: str, namespace: str | None = None, **extra: Any) -> dict:
    meta: dict[str, Any] = {"name": name, "labels": dict(spec.labels), **extra}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def namespace(spec: CollectorSpec) -> Manifest:
    """The collector's namespace, held to the ``restricted`` Pod Security Standard."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": spec.namespace,
            "labels": {**spec.labels, "pod-security.kubernetes.io/enforce": "restricted"},
        },
    }


def _subject(spec: CollectorSpec) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT_NAME, "namespace": spec.namespace}


def cluster_role(spec: CollectorSpec) -> Manifest:
    """Discover nodes and read their kubelet's cAdvisor metrics through the API server proxy.

    ``nodes/proxy`` is what the API server's node proxy requires; on Fargate every node runs
    exactly one pod, and there is no other way to reach the kubelet from a pod.
    """
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(spec, CLUSTER_ROLE_NAME),
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        ],
    }


def cluster_role_binding(spec: CollectorSpec) -> Manifest:
    """Binds :func:`cluster_role` to the collector's service account."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(spec, CLUSTER_ROLE_NAME),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": CLUSTER_ROLE_NAME,
        },
        "subjects": [_subject(spec)],
    }


def pod_reader_role(spec: CollectorSpec, scrape_namespace: str) -> Manifest:
    """List and watch pods in one scraped namespace (and nowhere else)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(spec, POD_READER_ROLE_NAME, scrape_namespace),
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
    }


def pod_reader_role_binding(spec: CollectorSpec, scrape_namespace: str) -> Manifest:
    """Binds :func:`pod_reader_role` to the collector's service account."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(spec, POD_READER_ROLE_NAME, scrape_namespace),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": POD_READER_ROLE_NAME,
        },
        "subjects": [_subject(spec)],
    }


# -- collector configuration ---------------------------------------------------------------

_FARGATE_CONTAINER = {"container": "\\S", "LaunchType": LAUNCH_TYPE}
_FARGATE_POD = {"image": "^$", "container": "^$", "pod": "\\S", "LaunchType": LAUNCH_TYPE}
_FARGATE_POD_NETWORK = {"pod": "\\S", "LaunchType": LAUNCH_TYPE}

_FAULTS = {
    "memory_hierarchical_pgfault": {"failure_type": "pgfault", "scope": "hierarchy"},
    "memory_hierarchical_pgmajfault": {"failure_type": "pgmajfault", "scope": "hierarchy"},
    "memory_pgfault": {"failure_type": "pgfault", "scope": "container"},
    "memory_pgmajfault": {"failure_type": "pgmajfault", "scope": "container"},
}
_CADVISOR = {
    "container_spec_cpu_quota": "cpu_limit_raw",
    "container_spec_cpu_shares": "cpu_request",
    "container_cpu_usage_seconds_total": "cpu_usage_seconds_total",
    "container_spec_memory_limit_bytes": "memory_limit",
    "container_memory_cache": "memory_cache",
    "container_memory_max_usage_bytes": "memory_max_usage",
    "container_memory_usage_bytes": "memory_usage",
    "container_memory_working_set_bytes": "memory_working_set",
    "container_memory_rss": "memory_rss",
    "container_memory_swap": "memory_swap",
    "container_memory_failcnt": "memory_failcnt",
}
_FILESYSTEM = {
    "container_fs_limit_bytes": "filesystem_capacity",
    "container_fs_usage_bytes": "filesystem_usage",
}
_NETWORK = {
    f"container_network_{direction}_{what}_total": f"network_{short}_{name}"
    for direction, short in (("receive", "rx"), ("transmit", "tx"))
    for what, name in (
        ("bytes", "bytes"),
        ("packets_dropped", "dropped"),
        ("errors", "errors"),
        ("packets", "packets"),
    )
}
_RATES = [
    "new_container_cpu_usage_seconds_total",
    "pod_cpu_usage_seconds_total",
    *(f"pod_{fault}" for fault in _FAULTS),
    *(f"pod_{name}" for name in _NETWORK.values()),
    *(f"new_container_{fault}" for fault in _FAULTS),
]
"""Cumulative counters turned into per-second rates (as upstream)."""


def _insert(include: str, new_name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "include": include,
        "new_name": new_name,
        "action": "insert",
        "match_type": "regexp",
        "experimental_match_labels": labels,
    }


def _renames() -> list[dict[str, Any]]:
    """Copy the cAdvisor series Container Insights uses to ``new_container_*`` and ``pod_*``."""
    renames = []
    for prefix, labels, extra in (
        ("new_container_", _FARGATE_CONTAINER, _FILESYSTEM),
        ("pod_", _FARGATE_POD, {}),
    ):
        renames += [_insert(src, f"{prefix}{name}", labels) for src, name in _CADVISOR.items()]
        renames += [
            _insert("container_memory_failures_total", f"{prefix}{name}", {**labels, **match})
            for name, match in _FAULTS.items()
        ]
        renames += [_insert(src, f"{prefix}{name}", labels) for src, name in extra.items()]
    renames += [_insert(src, f"pod_{name}", _FARGATE_POD_NETWORK) for src, name in _NETWORK.items()]
    return renames


def _update_label(label: str, new_label: str) -> dict[str, str]:
    return {"action": "update_label", "label": label, "new_label": new_label}


def _add_label(label: str, value: str) -> dict[str, str]:
    return {"action": "add_label", "new_label": label, "new_value": value}


def _update(include: str, **changes: Any) -> dict[str, Any]:
    """A ``metricstransform`` update of every metric whose name matches ``include``."""
    return {"include": include, "match_type": "regexp", "action": "update", **changes}


def _rule(name: str, unit: str, kind: str, metric1: str, operation: str, **operand: Any) -> dict:
    """A ``metricsgeneration`` rule: ``name = metric1 <operation> (metric2 | scale_by)``."""
    return {
        "name": name,
        "unit": unit,
        "type": kind,
        "metric1": metric1,
        "operation": operation,
        **operand,
    }


def _generated_metrics() -> dict[str, Any]:
    """Totals, utilisations and millicores derived from the scraped series, in two passes."""
    first_pass = [
        _rule(
            "pod_network_total_bytes",
            "Bytes/Second",
            "calculate",
            "pod_network_rx_bytes",
            "add",
            metric2="pod_network_tx_bytes",
        ),
        _rule(
            "pod_memory_utilization_over_pod_limit",
            "Percent",
            "calculate",
            "pod_memory_working_set",
            "percent",
            metric2="pod_memory_limit",
        ),
        # cores per second to millicores
        _rule(
            "pod_cpu_usage_total",
            "Millicore",
            "scale",
            "pod_cpu_usage_seconds_total",
            "multiply",
            scale_by=1000,
        ),
        # CFS quota (microseconds per 100 ms period) to millicores
        _rule("pod_cpu_limit", "Millicore", "scale", "pod_cpu_limit_raw", "divide", scale_by=100),
    ]
    cpu_utilization = _rule(
        "pod_cpu_utilization_over_pod_limit",
        "Percent",
        "calculate",
        "pod_cpu_usage_total",
        "percent",
        metric2="pod_cpu_limit",
    )
    return {
        "metricsgeneration/1": {"rules": first_pass},
        "metricsgeneration/2": {"rules": [cpu_utilization]},
    }


def _container_insights_processors() -> dict[str, Any]:
    """From cAdvisor series to the Container Insights metrics, names and dimensions."""
    return {
        # Labels every metric carries, renamed to the Container Insights dimension names.
        "metricstransform/label_1": {
            "transforms": [
                _update(
                    ".*",
                    operations=[
                        _update_label("name", "container_id"),
                        _update_label("kubernetes_io_hostname", "NodeName"),
                        _update_label("eks_amazonaws_com_compute_type", "LaunchType"),
                    ],
                )
            ]
        },
        "metricstransform/rename": {"transforms": _renames()},
        "filter": {
            "metrics": {
                "include": {"match_type": "regexp", "metric_names": ["new_container_.*", "pod_.*"]}
            }
        },
        "cumulativetodelta": {"include": {"metrics": list(_RATES), "match_type": "strict"}},
        "deltatorate": {"metrics": list(_RATES)},
        **_generated_metrics(),
        "metricstransform/label_2": {
            "transforms": [
                _update("pod_.*", operations=[_add_label("Type", "Pod")]),
                _update("new_container_.*", operations=[_add_label("Type", "Container")]),
                _update(
                    ".*",
                    operations=[
                        _update_label("namespace", "Namespace"),
                        _update_label("pod", "PodName"),
                    ],
                ),
                # "$$" is the collector's escape for a literal "$".
                _update("^new_container_(.*)$$", new_name="container_$$1"),
            ]
        },
    }


def _cadvisor_scrape(spec: CollectorSpec) -> dict[str, Any]:
    """Every node's kubelet cAdvisor endpoint, through the API server's node proxy."""
    return {
        "job_name": "kubelets-cadvisor-metrics",
        "sample_limit": 10000,
        "scheme": "https",
        "kubernetes_sd_configs": [{"role": "node"}],
        "tls_config": {"ca_file": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
        "bearer_token_file": "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "scrape_timeout": "40s",
        "relabel_configs": [
            {"action": "labelmap", "regex": "__meta_kubernetes_node_label_(.+)"},
            {"target_label": "__address__", "replacement": "kubernetes.default.svc:443"},
            {
                "source_labels": ["__meta_kubernetes_node_name"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
                "replacement": "/api/v1/nodes/$${1}/proxy/metrics/cadvisor",
            },
        ],
    }


def _pods_scrape(spec: CollectorSpec) -> dict[str, Any]:
    """Running pods annotated ``prometheus.io/scrape: "true"`` in ``scrape_namespaces``."""
    return {
        "job_name": "annotated-pods",
        "sample_limit": 5000,
        "scrape_timeout": "10s",
        "kubernetes_sd_configs": [
            {"role": "pod", "namespaces": {"names": list(spec.scrape_namespaces)}}
        ],
        "relabel_configs": [
            _relabel("keep", "__meta_kubernetes_pod_annotation_prometheus_io_scrape", regex="true"),
            _relabel("keep", "__meta_kubernetes_pod_phase", regex="Running"),
            _relabel(
                "replace",
                "__meta_kubernetes_pod_annotation_prometheus_io_path",
                regex="(.+)",
                target_label="__metrics_path__",
            ),
            _relabel(
                "replace",
                "__address__",
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
                regex="([^:]+)(?::\\d+)?;(\\d+)",
                replacement="$$1:$$2",
                target_label="__address__",
            ),
            _relabel("replace", "__meta_kubernetes_namespace", target_label="Namespace"),
            _relabel("replace", "__meta_kubernetes_pod_name", target_label="PodName"),
        ],
    }


def _relabel(action: str, *source_labels: str, **fields: str) -> dict[str, Any]:
    """A Prometheus relabel rule on ``source_labels``."""
    return {"action": action, "source_labels": list(source_labels), **fields}


def _prometheus_receiver(spec: CollectorSpec, scrape: dict[str, Any]) -> dict[str, Any]:
    interval = f"{spec.scrape_interval_seconds}s"
    return {
        # Keep "_total" and unit suffixes: the metric names below are the exposition names.
        "trim_metric_suffixes": False,
        "config": {"global": {"scrape_interval": interval}, "scrape_configs": [scrape]},
    }


def _awsemf(log_group: str, log_stream: str, namespace: str, declarations: list) -> dict:
    return {
        "log_group_name": log_group,
        "log_stream_name": log_stream,
        "namespace": namespace,
        "resource_to_telemetry_conversion": {"enabled": True},
        "dimension_rollup_option": "NoDimensionRollup",
        "metric_declarations": declarations,
    }


def _exporters() -> dict[str, Any]:
    """Container Insights' performance log events and the model server's Prometheus metrics."""
    container_insights = _awsemf(
        performance_log_group("{ClusterName}"),
        "{PodName}",
        CONTAINER_INSIGHTS_NAMESPACE,
        [
            {
                "dimensions": [
                    ["ClusterName", "LaunchType"],
                    ["ClusterName", "Namespace", "LaunchType"],
                    ["ClusterName", "Namespace", "PodName", "LaunchType"],
                ],
                "metric_name_selectors": list(POD_METRICS),
            }
        ],
    )
    container_insights |= {
        "eks_fargate_container_insights_enabled": True,
        "parse_json_encoded_attr_values": ["kubernetes"],
    }
    predict_routes = {
        "label_names": ["route"],
        "regex": "^(" + "|".join(PREDICT_ROUTES) + ")$",
    }
    pods = _awsemf(
        prometheus_log_group("{ClusterName}"),
        "annotated-pods",
        MODEL_SERVER_NAMESPACE,
        [
            {
                "dimensions": [["ClusterName", "Namespace", "route", "code"]],
                "metric_name_selectors": [f"^{MODEL_REQUESTS}$"],
                "label_matchers": [predict_routes],
            },
            {
                "dimensions": [["ClusterName", "Namespace", "route"]],
                "metric_name_selectors": [f"^{MODEL_LATENCY}$"],
                "label_matchers": [predict_routes],
            },
            {
                "dimensions": [["ClusterName", "Namespace"]],
                "metric_name_selectors": [f"^{MODEL_ROWS}$"],
            },
        ],
    )
    return {"awsemf/containerinsights": container_insights, "awsemf/pods": pods}


def _pipelines() -> dict[str, Any]:
    """Two pipelines: cAdvisor series through the Container Insights processors, pod metrics."""
    head = ["memory_limiter", "resourcedetection"]
    return {
        "metrics/containerinsights": {
            "receivers": ["prometheus/cadvisor"],
            "processors": [
                *head,
                "metricstransform/label_1",
                "metricstransform/rename",
                "filter",
                "cumulativetodelta",
                "deltatorate",
                "metricsgeneration/1",
                "metricsgeneration/2",
                "metricstransform/label_2",
                "batch",
            ],
            "exporters": ["awsemf/containerinsights"],
        },
        "metrics/pods": {
            "receivers": ["prometheus/pods"],
            "processors": [*head, "cumulativetodelta/histograms", "batch"],
            "exporters": ["awsemf/pods"],
        },
    }


def collector_config(spec: CollectorSpec) -> dict[str, Any]:
    """The collector configuration: two pipelines, each ending in its own ``awsemf`` exporter.

    No region or credentials in here: ``AWS_REGION`` and the IRSA web identity come from the
    environment, so the config (and the checksum that rolls the pod) has no deploy-time values.
    """
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:POD_IP}}:{HEALTH_PORT}"}},
        "receivers": {
            "prometheus/cadvisor": _prometheus_receiver(spec, _cadvisor_scrape(spec)),
            "prometheus/pods": _prometheus_receiver(spec, _pods_scrape(spec)),
        },
        "processors": {
            "memory_limiter": {
                "check_interval": "1s",
                "limit_percentage": 80,
                "spike_limit_percentage": 20,
            },
            # ClusterName from OTEL_RESOURCE_ATTRIBUTES (log group names and a dimension).
            "resourcedetection": {"detectors": ["env"]},
            **_container_insights_processors(),
            # awsemf turns cumulative sums into deltas itself, but not histograms.
            "cumulativetodelta/histograms": {"include": {"metric_types": ["histogram"]}},
            "batch": {"timeout": "60s"},
        },
        "exporters": _exporters(),
        "service": {"extensions": ["health_check"], "pipelines": _pipelines()},
    }


def config_text(spec: CollectorSpec) -> str:
    """:func:`collector_config` as the collector reads it (JSON, which is YAML)."""
    return json.dumps(collector_config(spec), indent=2, sort_keys=True)


def config_map(spec: CollectorSpec) -> Manifest:
    """The collector configuration, mounted at ``/conf``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, NAME, spec.namespace),
        "data": {CONFIG_KEY: config_text(spec)},
    }


def deployment(spec: CollectorSpec) -> Manifest:
    """One collector pod; ``Recreate`` so two never scrape (and publish) the same series."""
    resources = {"cpu": spec.cpu, "memory": spec.memory}
    checksum = hashlib.sha256(config_text(spec).encode()).hexdigest()
    health = {"httpGet": {"path": "/", "port": HEALTH_PORT}, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, NAME, spec.namespace),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 3,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": spec.selector},
            "template": {
                "metadata": {
                    "labels": dict(spec.labels),
                    # A config change rolls the pod (the collector does not reload its file).
                    "annotations": {"mlops-cdk/config-sha256": checksum},
                },
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT_NAME,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_USER,
                        "runAsGroup": RUN_AS_USER,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": NAME,
                            "image": spec.image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [f"--config={CONFIG_DIR}/{CONFIG_KEY}"],
                            "env": [
                                {
                                    "name": "OTEL_RESOURCE_ATTRIBUTES",
                                    "value": f"ClusterName={spec.cluster_name}",
                                },
                                {"name": "AWS_REGION", "value": spec.region},
                                {
                                    "name": "POD_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                            ],
                            "ports": [
                                {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}
                            ],
                            "resources": {"requests": resources, "limits": dict(resources)},
                            "livenessProbe": {**health, "failureThreshold": 3},
                            "readinessProbe": {**health, "failureThreshold": 3},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config",
                            "configMap": {
                                "name": NAME,
                                "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}],
                            },
                        }
                    ],
                },
            },
        },
    }


def collector_manifests(spec: CollectorSpec) -> list[Manifest]:
    """The collector's own objects, in apply order, after its namespace and service account.

    The service account ``adot-collector`` is an ``eks.ServiceAccount`` (IRSA), not a manifest.
    """
    return [
        cluster_role(spec),
        cluster_role_binding(spec),
        config_map(spec),
        deployment(spec),
    ]


def scrape_access_manifests(spec: CollectorSpec) -> list[Manifest]:
    """A pod-reading Role and its binding in each scraped namespace (which must exist)."""
    return [
        manifest
        for scrape_namespace in spec.scrape_namespaces
        for manifest in (
            pod_reader_role(spec, scrape_namespace),
            pod_reader_role_binding(spec, scrape_namespace),
        )
    ]
