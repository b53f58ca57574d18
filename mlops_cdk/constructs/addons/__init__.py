"""Cluster add-ons of :class:`~mlops_cdk.constructs.eks_fargate_cluster.EksFargateCluster`."""

from mlops_cdk.constructs.addons.cert_manager import CertManagerAddOn
from mlops_cdk.constructs.addons.helm_addon import HelmAddOn
from mlops_cdk.constructs.addons.kserve import KServeAddOn

__all__ = ["CertManagerAddOn", "HelmAddOn", "KServeAddOn"]
