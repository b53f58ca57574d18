"""Every pinned version in one place: Kubernetes and its kubectl layers, runtimes, charts, images.

Upgrading a dependency means editing this module (and the pins in requirements*.txt /
package.json); tests read these values, so a change shows up in one review.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

CDK_CLI_VERSION = "2.1148.1"
"""The aws-cdk CLI in package.json; 3.x cannot read aws-cdk-lib 2.275 cloud assemblies."""


@dataclass(frozen=True)
class KubectlLayer:
    """A Kubernetes version and the ``aws-cdk.lambda-layer-kubectl-vNN`` layer that matches it."""

    version: str
    module: str
    class_name: str

    @property
    def kubernetes_version(self) -> eks.KubernetesVersion:
        """The ``aws_eks_v2`` version object."""
        return eks.KubernetesVersion.of(self.version)

    @property
    def distribution(self) -> str:
        """The PyPI distribution that ships this layer."""
        return "aws-cdk." + self.module.removeprefix("aws_cdk.").replace("_", "-")

    def layer(self, scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
        """Create the kubectl layer in ``scope`` (imported lazily: each layer is ~40 MB).

        Raises:
            KubectlLayerMissingError: The layer's package is not installed.
        """
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as error:
            raise KubectlLayerMissingError(self) from error
        return getattr(module, self.class_name)(scope, construct_id)


class KubectlLayerMissingError(ImportError):
    """The kubectl layer package for the configured Kubernetes version is not installed."""

    def __init__(self, layer: KubectlLayer) -> None:
        self.layer = layer
        super().__init__(
            f"Kubernetes {layer.version} needs the kubectl layer package {layer.distribution}, "
            f"which is not installed; run: pip install {layer.distribution} "
            "(or pip install 'mlops-cdk[kubectl-all]' for every supported version)"
        )


def _layer(minor: int) -> KubectlLayer:
    return KubectlLayer(
        version=f"1.{minor}",
        module=f"aws_cdk.lambda_layer_kubectl_v{minor}",
        class_name=f"KubectlV{minor}Layer",
    )


# EKS versions that can still be created (1.31 and older cannot, as of December 2026) and that
# have a published kubectl layer. The newest is the default cluster version.
KUBERNETES_VERSIONS: dict[str, KubectlLayer] = {
    layer.version: layer for layer in (_layer(minor) for minor in (32, 33, 34, 35, 36))
}
DEFAULT_KUBERNETES_VERSION = "1.36"

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
"""Runtime of the kit's Python Lambdas: the newest in aws-cdk-lib 2.275, and the newest for which
the official Powertools layer is published (``AWSLambdaPowertoolsPythonV3-python314-*``)."""

LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64


@dataclass(frozen=True)
class HelmChartPin:
    """A Helm chart fetched at deploy time by the kubectl/helm Lambda (never at synth)."""

    chart: str
    version: str
    repository: str


ALB_CONTROLLER_VERSION = eks.AlbControllerVersion.V3_2_2
"""AWS Load Balancer Controller (chart ``aws-load-balancer-controller`` 3.2.2 from
https://aws.github.io/eks-charts); ``aws_eks_v2`` ships the matching IAM policy."""

CERT_MANAGER_CHART = HelmChartPin(
    chart="cert-manager", version="v1.19.1", repository="https://charts.jetstack.io"
)
"""cert-manager issues the KServe webhook certificates (KServe needs >= 1.15)."""

KSERVE_CRD_CHART = HelmChartPin(
    chart="kserve-crd", version="v0.16.0", repository="oci://ghcr.io/kserve/charts/kserve-crd"
)
KSERVE_CHART = HelmChartPin(
    chart="kserve", version="v0.16.0", repository="oci://ghcr.io/kserve/charts/kserve"
)
"""KServe 0.16: the newest line whose chart values (``kserve.controller.*``) predate the 0.17
chart restructuring; the ``InferenceService`` fields the kit renders are unchanged up to the
~0.20 CRD pinned in ``tests/fixtures/schemas``, against which the tests validate."""

METRICS_SERVER_ADDON = "metrics-server"
"""EKS community add-on that serves the Metrics API the HorizontalPodAutoscaler reads.

Installed in ``kube-system`` (already a Fargate namespace); the add-on build listens on 10251,
because Fargate reserves 10250 for its kubelet, which is what the upstream chart would need
patching for. No version is pinned: EKS installs the default build for the cluster's Kubernetes
version, and the compatible builds differ per version (list them with
``aws eks describe-addon-versions --addon-name metrics-server --kubernetes-version 1.36``).
Pass ``metrics_server_version`` to ``EksFargateCluster`` to pin one."""

ADOT_COLLECTOR_IMAGE = (
    "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
    "@sha256:d2bdfff2c377c3d71d78bd5d9ce9862fd535b12134a5739d87a07801297cf9fd"
)
"""AWS Distro for OpenTelemetry collector: Container Insights on Fargate and the model's
Prometheus metrics, pinned by the digest of the v0.49.0 multi-arch index (the tag stays for
readers; the kubelet pulls the digest). v0.49.0 is the newest release (tag and GitHub release
"Latest", built on OpenTelemetry Collector contrib v0.156.0); the collector config in
``mlops_cdk.k8s.adot`` follows that release's
``deployment-template/eks/otel-fargate-container-insights.yaml``. The image runs as UID 4317
(user ``aoc``)."""

POWERTOOLS_VERSION = "3.37.0"
"""aws-lambda-powertools the handlers are tested with (``requirements-dev.txt`` pins the same)."""

POWERTOOLS_LAYER_ACCOUNT = "017000801446"
"""AWS account publishing the official Powertools layers in the commercial regions."""

POWERTOOLS_LAYER_VERSION = 27
"""Version of the official layer ``AWSLambdaPowertoolsPythonV3-<python>-<arch>``.

27 is the newest version the Powertools installation page documents for every Python runtime
(3.14 included) that could be verified offline; the public layer is versioned per release, not by
the PyPI version, so confirm it carries ``POWERTOOLS_VERSION`` before a deploy and bump it here::

    aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.14/latest
"""


def powertools_layer_arn(
    region: str,
    runtime: lambda_.Runtime = LAMBDA_RUNTIME,
    architecture: lambda_.Architecture = LAMBDA_ARCHITECTURE,
    version: int = POWERTOOLS_LAYER_VERSION,
) -> str:
    """ARN of the official Powertools layer in ``region`` (a token works): no lookup at synth.

    Only the ``aws`` partition: China and GovCloud publish from other accounts, so pass your
    own layer there.
    """
    python = runtime.name.replace(".", "")  # python3.14 -> python314
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{architecture.name}:{version}"
    )
