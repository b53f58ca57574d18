"""EksModelServing: the fraud-detection model on an EksFargateCluster behind a public ALB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, CfnJson, Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.constructs._nag import acknowledge, acknowledge_reference
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.k8s import manifests as k8s
from mlops_cdk.versions import CERT_MANAGER_CHART, KSERVE_CHART, KSERVE_CRD_CHART, HelmChartPin

CERT_MANAGER_NAMESPACE = "cert-manager"
KSERVE_NAMESPACE = "kserve"
SERVICE_ACCOUNT_NAME = "model-server"


def image_uri(repository: ecr.IRepository, tag: str) -> str:
    """``<account>.dkr.ecr.<region>.<suffix>/<name>:<tag>`` without splitting the ARN.

    ``repository.repository_uri_for_tag`` splits the repository ARN, which cfn-lint cannot
    type-check when the ARN arrives from another stack; account and region are known here.
    """
    return (
        f"{repository.env.account}.dkr.ecr.{repository.env.region}.{Aws.URL_SUFFIX}/"
        f"{repository.repository_name}:{tag}"
    )


def kserve_values() -> dict[str, Any]:
    """KServe chart values: RawDeployment (``Standard``) mode, no Knative, no own ingress."""
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


def cert_manager_values() -> dict[str, Any]:
    """cert-manager chart values: install its CRDs with the chart."""
    return {"crds": {"enabled": True}}


class EksModelServing(Construct):
    """Serves the model on Fargate at ``POST /v1/models/fraud-detection:predict`` via an ALB.

    Creates the serving namespace (and its Fargate profile), a service account bound through
    IRSA to a role that can only read ``model_prefix`` in the artifacts bucket and pull from
    the repository, the workload for ``engine`` and an internet-facing ``alb`` Ingress. The
    model is baked into the image at ``/opt/ml/model`` (``MODEL_DIR``), so an image tag names
    one model version; the bucket grant lets a server or init container fetch
    ``model.tar.gz`` instead without a new role.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The :class:`EksFargateCluster` to deploy into.
        env_name: Environment name, used in the ALB name and tags.
        repository: ECR repository of the model-server image.
        image_tag: Image tag to run. Default ``latest``.
        artifacts_bucket: Bucket holding model artifacts.
        model_prefix: The only prefix the role may read. Default ``models/fraud-detection/``.
        engine: ``deployment`` (default: Deployment, Service, HPA, PDB) or ``kserve``
            (cert-manager + KServe charts and an ``InferenceService``).
        namespace: Serving namespace. Default ``model-serving``.
        min_replicas: Autoscaling minimum. Default 1.
        max_replicas: Autoscaling maximum. Default 3.
        cpu: CPU request/limit, a Fargate size. Default ``500m``.
        memory: Memory request/limit. Default ``1Gi``.
        certificate_arn: ACM certificate for HTTPS with HTTP redirect. Default none (HTTP).
        waf_acl_arn: WAFv2 web ACL for the ALB. Default none.
        inbound_cidrs: CIDRs allowed to reach the ALB. Default everyone.
        load_balancer_name: ALB name. Default ``mlops-<env_name>-model``.

    Attributes:
        namespace: The serving namespace.
        service_account_role: Role of the model server's service account.
        load_balancer_name: Name of the ALB the Ingress creates (for metrics and alarms).
        manifests: The rendered manifests applied to the cluster.
        ingress_name: Name of the Ingress (for ``kubectl get ingress``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: EksFargateCluster,
        env_name: str,
        repository: ecr.IRepository,
        artifacts_bucket: s3.IBucket,
        image_tag: str = "latest",
        model_prefix: str = "models/fraud-detection/",
        engine: k8s.Engine = "deployment",
        namespace: str = "model-serving",
        min_replicas: int = 1,
        max_replicas: int = 3,
        cpu: str = "500m",
        memory: str = "1Gi",
        certificate_arn: str | None = None,
        waf_acl_arn: str | None = None,
        inbound_cidrs: Sequence[str] = ("0.0.0.0/0",),
        load_balancer_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if engine not in ("deployment", "kserve"):
            raise ValueError(f"engine = {engine!r}; use 'deployment' or 'kserve'")
        self.namespace = namespace
        self.load_balancer_name = load_balancer_name or k8s.load_balancer_name(env_name)
        self.ingress_name = k8s.MODEL_NAME
        eks_cluster = cluster.cluster

        serving_profile = cluster.add_fargate_namespaces("serving", [namespace])
        self.service_account_role = self._service_account_role(eks_cluster, namespace)
        artifacts_bucket.grant_read(self.service_account_role, f"{model_prefix}*")
        repository.grant_pull(self.service_account_role)
        self._acknowledge_grants(artifacts_bucket, model_prefix)

        spec = k8s.ModelServingSpec(
            env_name=env_name,
            namespace=namespace,
            image=image_uri(repository, image_tag),
            service_account_name=SERVICE_ACCOUNT_NAME,
            service_account_role_arn=self.service_account_role.role_arn,
            load_balancer_name=self.load_balancer_name,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cpu=cpu,
            memory=memory,
            certificate_arn=certificate_arn,
            waf_acl_arn=waf_acl_arn,
            inbound_cidrs=tuple(inbound_cidrs),
        )
        self.manifests = k8s.serving_manifests(spec, engine)
        foundation = eks.KubernetesManifest(
            self, "Namespace", cluster=eks_cluster, manifest=self.manifests[:2]
        )
        foundation.node.add_dependency(serving_profile)
        workload = eks.KubernetesManifest(
            self, "Workload", cluster=eks_cluster, manifest=self.manifests[2:]
        )
        workload.node.add_dependency(foundation)
        # The controller's webhooks must be up before the Ingress/Service are applied, and it
        # must outlive them on delete, or the ALB would be left behind.
        if eks_cluster.alb_controller is not None:
            workload.node.add_dependency(eks_cluster.alb_controller)
        if engine == "kserve":
            workload.node.add_dependency(self._install_kserve(cluster))

    def _service_account_role(self, cluster: eks.Cluster, namespace: str) -> iam.Role:
        """IRSA role that only ``system:serviceaccount:<namespace>:model-server`` can assume."""
        issuer = cluster.open_id_connect_provider.open_id_connect_provider_issuer
        conditions = CfnJson(
            self,
            "IrsaConditions",
            value={
                f"{issuer}:aud": "sts.amazonaws.com",
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT_NAME}",
            },
        )
        return iam.Role(
            self,
            "ServiceAccountRole",
            assumed_by=iam.OpenIdConnectPrincipal(cluster.open_id_connect_provider).with_conditions(
                {"StringEquals": conditions}
            ),
            description="Model server: read its model artifacts, pull its image",
        )

    def _acknowledge_grants(self, bucket: s3.IBucket, model_prefix: str) -> None:
        role = self.service_account_role
        read_reason = (
            f"bucket.grant_read scoped to {model_prefix}: the standard read action set "
            "(GetObject*, GetBucket*, List*) on that one prefix and its bucket."
        )
        for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*"):
            acknowledge(role, f"AwsSolutions-IAM5[Action::{action}]", read_reason)
        acknowledge_reference(
            role,
            "AwsSolutions-IAM5[Resource::{}/" + model_prefix + "*]",
            bucket.bucket_arn,
            f"Read access is limited to the {model_prefix} prefix of the artifacts bucket.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; image actions are "
            "scoped to the one repository.",
        )

    def _install_kserve(self, cluster: EksFargateCluster) -> eks.HelmChart:
        """cert-manager, then the KServe CRDs, then KServe, each in a Fargate namespace."""
        profile = cluster.add_fargate_namespaces(
            "controllers", [CERT_MANAGER_NAMESPACE, KSERVE_NAMESPACE]
        )
        cert_manager = self._chart(
            cluster, "CertManager", CERT_MANAGER_CHART, CERT_MANAGER_NAMESPACE,
            cert_manager_values(),
        )  # fmt: skip
        cert_manager.node.add_dependency(profile)
        crds = self._chart(cluster, "KServeCrd", KSERVE_CRD_CHART, KSERVE_NAMESPACE, {})
        crds.node.add_dependency(cert_manager)
        kserve = self._chart(cluster, "KServe", KSERVE_CHART, KSERVE_NAMESPACE, kserve_values())
        kserve.node.add_dependency(crds)
        return kserve

    def _chart(
        self,
        cluster: EksFargateCluster,
        construct_id: str,
        pin: HelmChartPin,
        namespace: str,
        values: dict[str, Any],
    ) -> eks.HelmChart:
        return eks.HelmChart(
            self,
            construct_id,
            cluster=cluster.cluster,
            chart=pin.chart,
            release=pin.chart,
            repository=pin.repository,
            version=pin.version,
            namespace=namespace,
            values=values,
            wait=True,
            timeout=Duration.minutes(15),
        )
