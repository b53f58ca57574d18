"""Every Kubernetes manifest the EKS serving path applies, as plain dicts.

The functions take a :class:`ModelServingSpec` and return manifests; they never touch CDK, so
tests render and validate them (``kubernetes-validate`` strict, the KServe CRD schema) without
synthesizing. Values such as the image URI or role ARN may be CDK tokens at synth time; the
kubectl handler receives them resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlops_cdk.canary import CANARY_SUFFIX

Manifest = dict[str, Any]
Engine = Literal["deployment", "kserve"]
Track = Literal["stable", "canary"]

CONTAINER_PORT = 8080
SERVICE_PORT = 80
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
MODEL_DIR = "/opt/ml/model"
"""Where the image bakes the model in: an image tag names one model version exactly."""
RUN_AS_USER = 10001
DEFAULT_MAX_BODY_BYTES = 64 * 1024


def ready_path(model_name: str) -> str:
    """Readiness probe and ALB health check: answers 200 once the model is loaded."""
    return f"/v1/models/{model_name}"


@dataclass(frozen=True)
class ModelServingSpec:
    """What the serving manifests need, already validated by ``mlops_cdk.config``.

    Attributes:
        env_name: Environment, used in labels.
        namespace: Namespace of the model server.
        image: Model-server image URI with tag.
        service_account_name: The pods' service account (no IAM role: the server makes no
            AWS calls).
        target_group_arn: The CDK-owned ALB target group the pods are registered in.
        model_name: Model name: object names, labels and the URL path.
        max_body_bytes: Largest request body the server accepts (``MAX_BODY_BYTES``); larger
            ones get 413.
        min_replicas: Autoscaling minimum.
        max_replicas: Autoscaling maximum.
        cpu: CPU request and limit (equal, as Fargate sizes pods from requests).
        memory: Memory request and limit.
        target_cpu_percent: Average CPU utilisation the autoscaler keeps.
        capture_percent: Share of requests the server prints as capture lines
            (``CAPTURE_PERCENT``, 0-100; 0 prints none).
        track: ``stable`` (default) or ``canary``: a canary workload gets its own object names
            and pod selector (``<model_name>-canary``), so neither Service selects the other's
            pods, while serving the same model name and URL.
    """

    env_name: str
    namespace: str
    image: str
    service_account_name: str
    target_group_arn: str
    model_name: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    min_replicas: int = 1
    max_replicas: int = 3
    cpu: str = "500m"
    memory: str = "1Gi"
    target_cpu_percent: int = 70
    capture_percent: int = 0
    track: Track = "stable"

    def __post_init__(self) -> None:
        if not 0 <= self.capture_percent <= 100:
            raise ValueError(
                f"capture_percent = {self.capture_percent}; use 0-100 (0 turns capture off)"
            )

    @property
    def workload_name(self) -> str:
        """Name of the workload's objects: ``<model_name>``, or ``<model_name>-canary``."""
        return self.model_name if self.track == "stable" else f"{self.model_name}{CANARY_SUFFIX}"

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every object and the pods' selector."""
        labels = {
            "app.kubernetes.io/name": self.workload_name,
            "app.kubernetes.io/part-of": "mlops-cdk",
            "mlops-cdk/env": self.env_name,
        }
        return labels if self.track == "stable" else {**labels, "mlops-cdk/track": self.track}

    @property
    def selector(self) -> dict[str, str]:
        """Immutable pod selector of the Deployment, Service and PodDisruptionBudget."""
        return {"app.kubernetes.io/name": self.workload_name}

    @property
    def service_name(self) -> str:
        """The kit's own Service for the ``deployment`` engine."""
        return self.workload_name

    @property
    def kserve_service_name(self) -> str:
        """The predictor Service KServe creates in RawDeployment mode: ``<isvc>-predictor``."""
        return f"{self.workload_name}-predictor"


def _meta(spec: ModelServingSpec, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": dict(spec.labels), **extra}


def namespace(spec: ModelServingSpec) -> Manifest:
    """The serving namespace; the ALB controller injects pod readiness gates here."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": spec.namespace,
            "labels": {
                **spec.labels,
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    }


def service_account(spec: ModelServingSpec) -> Manifest:
    """The model server's service account: no IAM role and no API token mounted.

    The server reads its model from the image and calls no AWS or Kubernetes API; Fargate pulls
    the image with the profile's pod execution role, not the pod's.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(spec, spec.service_account_name),
        "automountServiceAccountToken": False,
    }


def _container(spec: ModelServingSpec, name: str) -> dict[str, Any]:
    resources = {"cpu": spec.cpu, "memory": spec.memory}
    return {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "MODEL_DIR", "value": MODEL_DIR},
            {"name": "MAX_BODY_BYTES", "value": str(spec.max_body_bytes)},
            {"name": "CAPTURE_PERCENT", "value": str(spec.capture_percent)},
        ],
        # Fargate sizes the pod from requests; limits equal to requests keep it honest.
        "resources": {"requests": resources, "limits": dict(resources)},
        "startupProbe": {
            "httpGet": {"path": ready_path(spec.model_name), "port": CONTAINER_PORT},
            "periodSeconds": 5,
            "failureThreshold": 36,
        },
        "readinessProbe": {
            "httpGet": {"path": ready_path(spec.model_name), "port": CONTAINER_PORT},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": LIVE_PATH, "port": CONTAINER_PORT},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _prometheus_annotations() -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(CONTAINER_PORT),
        "prometheus.io/path": METRICS_PATH,
    }


def deployment(spec: ModelServingSpec) -> Manifest:
    """The model server: rolling updates without capacity loss, spread across zones."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, spec.workload_name),
        "spec": {
            "replicas": spec.min_replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": spec.selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": dict(spec.labels), "annotations": _prometheus_annotations()},
                "spec": {
                    "serviceAccountName": spec.service_account_name,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": spec.selector},
                        }
                    ],
                    "containers": [_container(spec, "model-server")],
                },
            },
        },
    }


def service(spec: ModelServingSpec) -> Manifest:
    """ClusterIP Service on port 80; the binding registers the pod IPs behind it in the ALB."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec, spec.service_name),
        "spec": {
            "type": "ClusterIP",
            "selector": spec.selector,
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def horizontal_pod_autoscaler(spec: ModelServingSpec) -> Manifest:
    """CPU-based autoscaling between ``min_replicas`` and ``max_replicas``."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec, spec.workload_name),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": spec.workload_name,
            },
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": spec.target_cpu_percent,
                        },
                    },
                }
            ],
        },
    }


def pod_disruption_budget(spec: ModelServingSpec) -> Manifest:
    """At most one pod evicted at a time (Fargate patching evicts pods through this)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec, spec.workload_name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": spec.selector}},
    }


def target_group_binding(spec: ModelServingSpec, service_name: str) -> Manifest:
    """Registers the pods behind ``service_name`` in the CDK-owned target group.

    The AWS Load Balancer Controller watches the Service's endpoints and keeps the target
    group's IP targets in step. No ``networking`` rules: the security group rule that lets only
    the ALB reach the pods' port is in the CloudFormation template, where the gates see it.
    """
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": _meta(spec, spec.workload_name),
        "spec": {
            "serviceRef": {"name": service_name, "port": SERVICE_PORT},
            "targetGroupARN": spec.target_group_arn,
            "targetType": "ip",
        },
    }


def inference_service(spec: ModelServingSpec) -> Manifest:
    """KServe ``InferenceService`` for the same image, in RawDeployment (``Standard``) mode.

    KServe creates the Deployment, a ``<model_name>-predictor`` Service on port 80 and an HPA;
    :func:`target_group_binding` registers that Service's pods (KServe's ingress creation is
    off).
    """
    container = _container(spec, "kserve-container")
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _meta(
            spec,
            spec.workload_name,
            annotations={
                # "Standard" is KServe 0.16's name for RawDeployment: plain Deployment + HPA.
                "serving.kserve.io/deploymentMode": "Standard",
                "serving.kserve.io/autoscalerClass": "hpa",
            },
        ),
        "spec": {
            "predictor": {
                "serviceAccountName": spec.service_account_name,
                "automountServiceAccountToken": False,
                "minReplicas": spec.min_replicas,
                "maxReplicas": spec.max_replicas,
                "scaleMetric": "cpu",
                "scaleTarget": spec.target_cpu_percent,
                "labels": dict(spec.labels),
                "annotations": _prometheus_annotations(),
                "containers": [container],
            }
        },
    }


def workload_manifests(spec: ModelServingSpec, engine: Engine) -> list[Manifest]:
    """The workload for ``engine`` and its binding, in apply order (no namespace objects).

    A canary (``spec.track == "canary"``) is the same list under its own names.
    """
    if engine == "deployment":
        return [
            deployment(spec),
            service(spec),
            horizontal_pod_autoscaler(spec),
            pod_disruption_budget(spec),
            target_group_binding(spec, spec.service_name),
        ]
    if engine == "kserve":
        return [
            inference_service(spec),
            pod_disruption_budget(spec),
            target_group_binding(spec, spec.kserve_service_name),
        ]
    raise ValueError(f"engine = {engine!r}; use 'deployment' or 'kserve'")


def serving_manifests(spec: ModelServingSpec, engine: Engine) -> list[Manifest]:
    """Everything applied to the serving namespace, in apply order, for ``engine``."""
    return [namespace(spec), service_account(spec), *workload_manifests(spec, engine)]
