"""CertManagerAddOn: cert-manager, with its webhook on a port Fargate leaves free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable

from mlops_cdk.constructs.addons.helm_addon import HelmAddOn
from mlops_cdk.versions import CERT_MANAGER_CHART

NAMESPACE = "cert-manager"
WEBHOOK_SECURE_PORT = 10260
"""Fargate's kubelet holds 10250, cert-manager's default webhook port; cert-manager documents
``webhook.securePort`` for this and EKS Blueprints uses 10260."""


def cert_manager_values(*, webhook_secure_port: int = WEBHOOK_SECURE_PORT) -> dict[str, Any]:
    """Chart values: CRDs installed with the chart, webhook off the kubelet port."""
    return {"crds": {"enabled": True}, "webhook": {"securePort": webhook_secure_port}}


class CertManagerAddOn(HelmAddOn):
    """cert-manager (``versions.CERT_MANAGER_CHART``) in the ``cert-manager`` namespace.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The ``eks.Cluster``.
        values: Chart values merged over :func:`cert_manager_values`.
        depends_on: What must be deployed first (Fargate profile, ALB controller).
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
        super().__init__(
            scope,
            construct_id,
            cluster=cluster,
            pin=CERT_MANAGER_CHART,
            namespace=NAMESPACE,
            default_values=cert_manager_values(),
            values=values,
            depends_on=depends_on,
        )
        if self.values["webhook"]["securePort"] == 10250:
            raise ValueError(
                "cert-manager values webhook.securePort = 10250 is the Fargate kubelet's port; "
                f"leave it unset (default {WEBHOOK_SECURE_PORT})"
            )
