"""Every Kubernetes manifest the EKS serving path applies, as plain dicts.

The functions take a :class:`ModelServingSpec` and return manifests; they never touch CDK, so
tests render and validate them (``kubernetes-validate`` strict, the KServe CRD schema) without
synthesizing. Values such as the image URI or role ARN may be CDK tokens at synth time; the
kubectl handler receives them resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Manifest = dict[str, Any]
Engine = Literal["deployment", "kserve"]

MODEL_NAME = "fraud-detection"
CONTAINER_PORT = 8080
SERVICE_PORT = 80
READY_PATH = f"/v1/models/{MODEL_NAME}"
"""Readiness probe and ALB health check: answers 200 once the model is loaded."""
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
PUBLIC_PATH = f"/v1/models/{MODEL_NAME}*"
"""ALB path pattern: ready and ``:predict`` only; ``/metrics`` and health stay in the cluster."""
MODEL_DIR = "/opt/ml/model"
"""Where the image bakes the model in: an image tag names one model version exactly."""
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
RUN_AS_USER = 10001


@dataclass(frozen=True)
class ModelServingSpec:
    """What the serving manifests need, already validated by ``mlops_cdk.config``.

    Attributes:
        env_name: Environment, used in names and ALB tags.
        namespace: Namespace of the model server.
        image: Model-server image URI with tag.
        service_account_name: Service account bound (IRSA) to the model role.
        service_account_role_arn: IAM role the service account assumes.
        load_balancer_name: ALB name (≤ 32 characters), stable so alarms can find it.
        min_replicas: Autoscaling minimum.
        max_replicas: Autoscaling maximum.
        cpu: CPU request and limit (equal, as Fargate sizes pods from requests).
        memory: Memory request and limit.
        certificate_arn: ACM certificate: adds HTTPS on 443 and redirects HTTP to it.
        waf_acl_arn: WAFv2 web ACL attached to the ALB.
        inbound_cidrs: CIDRs allowed to reach the ALB.
        target_cpu_percent: Average CPU utilisation the autoscaler keeps.
        extra_tags: More ALB tags (``key=value``), after ``mlops-cdk:env``.
    """

    env_name: str
    namespace: str
    image: str
    service_account_name: str
    service_account_role_arn: str
    load_balancer_name: str
    min_replicas: int = 1
    max_replicas: int = 3
    cpu: str = "500m"
    memory: str = "1Gi"
    certificate_arn: str | None = None
    waf_acl_arn: str | None = None
    inbound_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    target_cpu_percent: int = 70
    extra_tags: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every object and the pods' selector."""
        return {
            "app.kubernetes.io/name": MODEL_NAME,
            "app.kubernetes.io/part-of": "mlops-cdk",
            "mlops-cdk/env": self.env_name,
        }

    @property
    def selector(self) -> dict[str, str]:
        """Immutable pod selector of the Deployment, Service and PodDisruptionBudget."""
        return {"app.kubernetes.io/name": MODEL_NAME}


def load_balancer_name(env_name: str) -> str:
    """Deterministic ALB name, e.g. ``mlops-prod-model`` (ALB names allow 32 characters)."""
    name = f"mlops-{env_name}-model"
    if len(name) > 32:
        raise ValueError(f"load balancer name {name!r} is longer than 32 characters")
    return name


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
    """The model server's service account, bound to its IAM role through IRSA.

    IRSA rather than Pod Identity: the Pod Identity agent is a DaemonSet and Fargate runs none.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(
            spec,
            spec.service_account_name,
            annotations={
                "eks.amazonaws.com/role-arn": spec.service_account_role_arn,
                "eks.amazonaws.com/sts-regional-endpoints": "true",
            },
        ),
        "automountServiceAccountToken": True,
    }


def _container(spec: ModelServingSpec, name: str) -> dict[str, Any]:
    resources = {"cpu": spec.cpu, "memory": spec.memory}
    return {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [{"name": "MODEL_DIR", "value": MODEL_DIR}],
        # Fargate sizes the pod from requests; limits equal to requests keep it honest.
        "resources": {"requests": resources, "limits": dict(resources)},
        "startupProbe": {
            "httpGet": {"path": READY_PATH, "port": CONTAINER_PORT},
            "periodSeconds": 5,
            "failureThreshold": 36,
        },
        "readinessProbe": {
            "httpGet": {"path": READY_PATH, "port": CONTAINER_PORT},
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
        "metadata": _meta(spec, MODEL_NAME),
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
    """ClusterIP Service on port 80; the ALB targets pod IPs behind it (Fargate has no nodes)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec, MODEL_NAME),
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
        "metadata": _meta(spec, MODEL_NAME),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": MODEL_NAME},
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
        "metadata": _meta(spec, MODEL_NAME),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": spec.selector}},
    }


def ingress_annotations(spec: ModelServingSpec) -> dict[str, str]:
    """AWS Load Balancer Controller annotations: public ALB, IP targets, TLS and WAF if set."""
    tags = [("mlops-cdk:env", spec.env_name), *spec.extra_tags]
    annotations = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/load-balancer-name": spec.load_balancer_name,
        "alb.ingress.kubernetes.io/tags": ",".join(f"{k}={v}" for k, v in tags),
        "alb.ingress.kubernetes.io/healthcheck-path": READY_PATH,
        "alb.ingress.kubernetes.io/healthcheck-port": "traffic-port",
        "alb.ingress.kubernetes.io/success-codes": "200",
        "alb.ingress.kubernetes.io/inbound-cidrs": ",".join(spec.inbound_cidrs),
        "alb.ingress.kubernetes.io/load-balancer-attributes": (
            "routing.http.drop_invalid_header_fields.enabled=true"
        ),
    }
    if spec.certificate_arn:
        annotations |= {
            "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
            "alb.ingress.kubernetes.io/certificate-arn": spec.certificate_arn,
            "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
        }
    else:
        annotations["alb.ingress.kubernetes.io/listen-ports"] = json.dumps([{"HTTP": 80}])
    if spec.waf_acl_arn:
        annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] = spec.waf_acl_arn
    return annotations


def ingress(spec: ModelServingSpec, service_name: str = MODEL_NAME) -> Manifest:
    """Internet-facing ALB routing only the model's paths to ``service_name`` port 80."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(spec, MODEL_NAME, annotations=ingress_annotations(spec)),
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                # ALB wildcard: "/v1/models/fraud-detection:predict" is not a
                                # path-segment prefix of the model path, so Prefix cannot match.
                                "path": PUBLIC_PATH,
                                "pathType": "ImplementationSpecific",
                                "backend": {
                                    "service": {
                                        "name": service_name,
                                        "port": {"number": SERVICE_PORT},
                                    }
                                },
                            }
                        ]
                    }
                }
            ],
        },
    }


def inference_service(spec: ModelServingSpec) -> Manifest:
    """KServe ``InferenceService`` for the same image, in RawDeployment (``Standard``) mode.

    KServe creates the Deployment, a ``fraud-detection-predictor`` Service on port 80 and an
    HPA; the kit's own :func:`ingress` fronts that Service (KServe's ingress creation is off).
    """
    container = _container(spec, "kserve-container")
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _meta(
            spec,
            MODEL_NAME,
            annotations={
                # "Standard" is KServe 0.16's name for RawDeployment: plain Deployment + HPA.
                "serving.kserve.io/deploymentMode": "Standard",
                "serving.kserve.io/autoscalerClass": "hpa",
            },
        ),
        "spec": {
            "predictor": {
                "serviceAccountName": spec.service_account_name,
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


KSERVE_SERVICE_NAME = f"{MODEL_NAME}-predictor"
"""The Service KServe creates for the predictor in RawDeployment mode."""


def serving_manifests(spec: ModelServingSpec, engine: Engine) -> list[Manifest]:
    """Everything applied to the serving namespace, in apply order, for ``engine``."""
    head = [namespace(spec), service_account(spec)]
    if engine == "deployment":
        return [
            *head,
            deployment(spec),
            service(spec),
            horizontal_pod_autoscaler(spec),
            pod_disruption_budget(spec),
            ingress(spec),
        ]
    if engine == "kserve":
        return [*head, inference_service(spec), pod_disruption_budget(spec),
                ingress(spec, KSERVE_SERVICE_NAME)]  # fmt: skip
    raise ValueError(f"engine = {engine!r}; use 'deployment' or 'kserve'")
