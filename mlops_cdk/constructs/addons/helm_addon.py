"""HelmAddOn: the base of the cluster's Helm add-ons (validated, merged values, idempotent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable

from mlops_cdk.versions import HelmChartPin

HELM_TIMEOUT = Duration.minutes(10)
"""How long Helm waits for a release: well below the kubectl handler's 15-minute Lambda limit,
so a stuck release fails with Helm's message instead of a Lambda timeout."""
KUBECTL_HANDLER_TIMEOUT = Duration.minutes(15)
"""The ``aws_eks_v2`` kubectl handler's Lambda timeout (fixed by aws-cdk-lib)."""


def merge_values(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict:
    """``defaults`` with ``overrides`` merged in recursively (an override wins on a leaf)."""
    merged: dict[str, Any] = dict(defaults)
    for key, value in (overrides or {}).items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_values(current, value)
        else:
            merged[key] = value
    return merged


class HelmAddOn(Construct):
    """One pinned Helm chart installed on a cluster once its prerequisites are in place.

    The chart waits (``wait=True``) until its workloads are ready, with a Helm timeout below
    the kubectl handler's, and depends on ``depends_on`` (the add-on's Fargate profile, the
    AWS Load Balancer Controller whose Service webhook must be serving, other add-ons).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The ``eks.Cluster``.
        pin: Chart, version and repository (from ``versions.py``).
        namespace: Release namespace (created by Helm; it needs a Fargate profile).
        default_values: The add-on's values.
        values: User values merged over ``default_values``.
        depends_on: What must be deployed first.
        timeout: Helm timeout. Default 10 minutes; must stay below 15 (the handler's).

    Attributes:
        chart: The ``eks.HelmChart``.
        values: The merged values it is installed with.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        pin: HelmChartPin,
        namespace: str,
        default_values: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        depends_on: Sequence[IDependable] = (),
        timeout: Duration = HELM_TIMEOUT,
    ) -> None:
        super().__init__(scope, construct_id)
        if timeout.to_seconds() >= KUBECTL_HANDLER_TIMEOUT.to_seconds():
            raise ValueError(
                f"timeout = {timeout.to_minutes()} minutes for chart {pin.chart}: the kubectl "
                "handler stops after 15; use at most 14 (default 10)"
            )
        self.values = merge_values(default_values, values)
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=cluster,
            chart=pin.chart,
            release=pin.chart,
            repository=pin.repository,
            version=pin.version,
            namespace=namespace,
            values=self.values,
            wait=True,
            timeout=timeout,
        )
        for dependency in depends_on:
            self.chart.node.add_dependency(dependency)
