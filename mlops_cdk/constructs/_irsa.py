"""IAM roles for Kubernetes service accounts (IRSA) on an ``aws_eks_v2`` cluster."""

from __future__ import annotations

from aws_cdk import CfnJson
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct


def irsa_role(
    scope: Construct,
    role_id: str,
    *,
    cluster: eks.Cluster,
    namespace: str,
    service_account_name: str,
    description: str,
    conditions_id: str = "IrsaConditions",
) -> iam.Role:
    """A role only ``system:serviceaccount:<namespace>:<service_account_name>`` can assume.

    IRSA rather than EKS Pod Identity: the Pod Identity agent is a DaemonSet, and Fargate
    runs none. The issuer is a token, so the condition keys go through ``CfnJson``.
    """
    issuer = cluster.open_id_connect_provider.open_id_connect_provider_issuer
    conditions = CfnJson(
        scope,
        conditions_id,
        value={
            f"{issuer}:aud": "sts.amazonaws.com",
            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account_name}",
        },
    )
    return iam.Role(
        scope,
        role_id,
        assumed_by=iam.OpenIdConnectPrincipal(cluster.open_id_connect_provider).with_conditions(
            {"StringEquals": conditions}
        ),
        description=description,
    )
