"""EksServingStack: the EKS Fargate cluster and the model served on it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.eks_fargate_cluster import ALL_CONTROL_PLANE_LOGS, EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing, image_uri
from mlops_cdk.constructs.fargate_container_insights import FargateContainerInsights
from mlops_cdk.stacks._common import removal_policy, retention


class EksServingStack(Stack):
    """Composes the EKS constructs and adds the outputs, ``ApiUrl`` and ``PredictUrl`` among them.

    :class:`EksFargateCluster`, :class:`EksModelServing` and, with ``eks.container_insights``,
    :class:`FargateContainerInsights` scraping the serving namespace.

    Attributes:
        cluster: The ``eks.Cluster``.
        cluster_name: Its name.
        namespace: Serving namespace.
        load_balancer_name: Name of the model's ALB.
        service_account_role: IRSA role of the model server.
        container_insights: The collector, or ``None`` when ``eks.container_insights`` is off.
        api_url: ``http(s)://<host>`` of the model API (host known at deploy time).
        predict_url: ``<api_url>/v1/models/fraud-detection:predict``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        vpc: ec2.IVpc,
        artifacts_bucket: s3.IBucket,
        repository: ecr.IRepository,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        k = settings.eks
        self.fargate_cluster = EksFargateCluster(
            self,
            "Eks",
            vpc=vpc,
            cluster_name=f"mlops-{settings.env_name}",
            kubernetes_version=k.kubernetes_version,
            endpoint_access=k.endpoint_access,
            public_access_cidrs=k.public_access_cidrs,
            admin_principal_arns=k.admin_principal_arns,
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
            # The kit's nag rule MlopsCdk-EKS2 requires every control-plane log in prod.
            cluster_props={"cluster_logging": list(ALL_CONTROL_PLANE_LOGS)}
            if settings.env_name == "prod"
            else None,
        )
        self.serving = EksModelServing(
            self,
            "Serving",
            cluster=self.fargate_cluster,
            env_name=settings.env_name,
            repository=repository,
            image_tag=settings.image_tag,
            artifacts_bucket=artifacts_bucket,
            engine=k.serving_engine,
            namespace=k.namespace,
            min_replicas=k.min_replicas,
            max_replicas=k.max_replicas,
            cpu=k.cpu,
            memory=k.memory,
            certificate_arn=k.certificate_arn,
            domain_name=k.domain_name,
            waf_acl_arn=k.waf_acl_arn,
            inbound_cidrs=k.inbound_cidrs,
        )
        self.cluster: eks.Cluster = self.fargate_cluster.cluster
        self.cluster_name: str = self.fargate_cluster.cluster_name
        self.namespace: str = self.serving.namespace
        self.load_balancer_name: str = self.serving.load_balancer_name
        self.service_account_role: iam.IRole = self.serving.service_account_role
        self.api_url: str = self.serving.api_url
        self.predict_url: str = self.serving.predict_url
        self.container_insights: FargateContainerInsights | None = None
        if k.container_insights:
            self.container_insights = self.fargate_cluster.add_container_insights(
                scrape_namespaces=[k.namespace],
                log_retention=retention(settings.log_retention_days),
                removal_policy=removal_policy(settings),
            )
            assert self.container_insights.scrape_access is not None  # one namespace given
            self.container_insights.scrape_access.node.add_dependency(
                self.serving.namespace_manifest
            )

        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(
            self,
            "UpdateKubeconfigCommand",
            value=f"aws eks update-kubeconfig --name {self.cluster.cluster_name} "
            f"--region {self.region}",
            description="Needs an admin principal (eks.admin_principal_arns) to be useful",
        )
        CfnOutput(
            self,
            "IngressHostnameCommand",
            value=f"kubectl get ingress {self.serving.ingress_name} -n {self.namespace} "
            "-o jsonpath='{.status.loadBalancer.ingress[0].hostname}'",
            description="Prints the ALB hostname; POST /v1/models/fraud-detection:predict",
        )
        CfnOutput(
            self,
            "RepositoryUri",
            value=image_uri(repository, "").removesuffix(":"),
            description="Push the model-server image here",
        )
        CfnOutput(self, "LoadBalancerName", value=self.load_balancer_name)
        CfnOutput(
            self,
            "ApiUrl",
            value=self.api_url,
            description="Model API base URL (the ALB, or eks.domain_name)",
        )
        CfnOutput(self, "PredictUrl", value=self.predict_url, description="Predict URL")
