"""KServeAddOn: the KServe CRDs and controller charts, in RawDeployment mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable

from mlops_cdk.constructs.addons.helm_addon import HelmAddOn
from mlops_cdk.versions import KSERVE_CHART, KSERVE_CRD_CHART

NAMESPACE = "kserve"


def kserve_values() -> dict[str, Any]:
    """Controller chart values: RawDeployment (``Standard``) mode, no Knative, no own ingress."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "Standard",
                "gateway": {
                    "disableIngressCreation": True,
                    "ingressGateway": {"className": "alb"},
                },
            },
            "modelmesh": {"enabled": False},
        }
    }


class KServeAddOn(Construct):
    """The ``kserve-crd`` chart, then the ``kserve`` chart (waited for: its webhook serves).

    Depend on this construct (or on :attr:`controller`) to apply ``InferenceService`` objects:
    the controller chart is installed with ``wait=True``, so once it is deployed the KServe
    webhook that validates and defaults them answers.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The ``eks.Cluster``.
        values: Controller chart values merged over :func:`kserve_values`.
        depends_on: What must be deployed first (cert-manager, Fargate profile, ALB controller).

    Attributes:
        crds: The CRDs chart add-on.
        controller: The controller chart add-on.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        values: Mapping[str, Any] | None = None,
        depends_on: Sequence[IDependable] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.crds = HelmAddOn(
            self,
            "Crds",
            cluster=cluster,
            pin=KSERVE_CRD_CHART,
            namespace=NAMESPACE,
            default_values={},
            depends_on=depends_on,
        )
        self.controller = HelmAddOn(
            self,
            "Controller",
            cluster=cluster,
            pin=KSERVE_CHART,
            namespace=NAMESPACE,
            default_values=kserve_values(),
            values=values,
            depends_on=[self.crds],
        )
