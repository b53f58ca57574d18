"""EksServingStack: the EKS Fargate cluster and the model served on it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs._image import image_uri
from mlops_cdk.constructs.capture_log_routing import CaptureLogRouting
from mlops_cdk.constructs.eks_fargate_cluster import ALL_CONTROL_PLANE_LOGS, EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.constructs.fargate_container_insights import FargateContainerInsights
from mlops_cdk.constructs.model_api import ModelApi
from mlops_cdk.stacks._common import (
    add_request_outputs,
    api_props,
    capture_prefix,
    removal_policy,
    retention,
)


class EksServingStack(Stack):
    """Composes the EKS constructs and adds the outputs, ``ApiUrl`` and ``PredictUrl`` among them.

    :class:`EksFargateCluster`, :class:`EksModelServing` and, with ``eks.container_insights``,
    :class:`FargateContainerInsights` scraping the serving namespace.

    Attributes:
        cluster: The ``eks.Cluster``.
        cluster_name: Its name.
        namespace: Serving namespace.
        load_balancer_name: Name of the model's ALB.
        serving: The :class:`EksModelServing` (its ``load_balancer``, ``listener``,
            ``target_group``, ``canary_target_group`` and ``api``).
        model_api: The :class:`ModelApi` in front (``None`` with ``front_door=public_alb``).
        container_insights: The collector, or ``None`` when ``eks.container_insights`` is off.
        capture_routing: The :class:`CaptureLogRouting` of the model server's capture lines to
            ``capture/<env>/eks/`` in ``artifacts_bucket``, or ``None`` when
            ``drift.capture_percent`` is 0 or no bucket is given.
        api_url: Base URL of the model API, known at synth.
        predict_url: ``<api_url>/v1/models/<api.model_name>:predict``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        vpc: ec2.IVpc,
        repository: ecr.IRepository,
        access_logs_bucket: s3.IBucket | None = None,
        artifacts_bucket: s3.IBucket | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        eks_settings, api = settings.eks, settings.api
        self.fargate_cluster = EksFargateCluster(
            self,
            "Eks",
            vpc=vpc,
            cluster_name=f"mlops-{settings.env_name}",
            kubernetes_version=eks_settings.kubernetes_version,
            endpoint_access=eks_settings.endpoint_access,
            public_access_cidrs=eks_settings.public_access_cidrs,
            admin_principal_arns=eks_settings.admin_principal_arns,
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
            image_digest=settings.image_digest,
            model_name=api.model_name,
            engine=eks_settings.serving_engine,
            namespace=eks_settings.namespace,
            min_replicas=eks_settings.min_replicas,
            max_replicas=eks_settings.max_replicas,
            cpu=eks_settings.cpu,
            memory=eks_settings.memory,
            max_request_bytes=api.max_request_kb * 1024,
            capture_percent=settings.drift.capture_percent if artifacts_bucket else 0,
            front_door=eks_settings.front_door,
            api_props=api_props(settings),
            certificate_arn=eks_settings.certificate_arn,
            domain_name=eks_settings.domain_name,
            waf_acl_arn=eks_settings.waf_acl_arn,
            inbound_cidrs=eks_settings.inbound_cidrs,
            production=settings.env_name == "prod",
            access_logs_bucket=access_logs_bucket,
            canary_image_tag=settings.canary_image_tag,
            canary_percent=settings.canary_percent,
        )
        self.cluster: eks.Cluster = self.fargate_cluster.cluster
        self.cluster_name: str = self.fargate_cluster.cluster_name
        self.namespace: str = self.serving.namespace
        self.load_balancer_name: str = self.serving.load_balancer_name
        self.model_api: ModelApi | None = self.serving.api
        self.api_url: str = self.serving.api_url
        self.predict_url: str = self.serving.predict_url
        self.container_insights = self._container_insights(settings)
        self.capture_routing = self._capture_routing(settings, artifacts_bucket)
        self._add_cluster_outputs(repository)
        self._add_release_outputs(settings)
        add_request_outputs(
            self,
            api_url=self.api_url,
            predict_url=self.predict_url,
            auth=api.auth if self.model_api else "none",
        )

    def _container_insights(self, settings: Settings) -> FargateContainerInsights | None:
        """The metrics collector scraping the serving namespace; ``None`` when it is off."""
        if not settings.eks.container_insights:
            return None
        insights = self.fargate_cluster.add_container_insights(
            scrape_namespaces=[settings.eks.namespace],
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        assert insights.scrape_access is not None  # one namespace given
        insights.scrape_access.node.add_dependency(self.serving.namespace_manifest)
        return insights

    def _add_cluster_outputs(self, repository: ecr.IRepository) -> None:
        """The cluster's name and kubeconfig command, the image repository and the ALB."""
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
            "RepositoryUri",
            value=image_uri(repository, "").removesuffix(":"),
            description="Push the model-server image here",
        )
        CfnOutput(self, "LoadBalancerName", value=self.load_balancer_name)

    def _add_release_outputs(self, settings: Settings) -> None:
        """What ``scripts/canary.py`` and the deploy workflow read: tags, listener, groups."""
        serving = self.serving
        CfnOutput(self, "StableImageTag", value=settings.image_tag)
        CfnOutput(
            self,
            "CanaryImageTag",
            value=settings.canary_image_tag or "none",
            description="Image tag of the canary workload ('none' without a canary)",
        )
        CfnOutput(self, "ModelListenerArn", value=serving.listener.listener_arn)
        CfnOutput(self, "LoadBalancerFullName", value=serving.load_balancer.load_balancer_full_name)
        if serving.canary_target_group is not None:
            CfnOutput(
                self,
                "CanaryTargetGroupFullName",
                value=serving.canary_target_group.target_group_full_name,
            )

    def _capture_routing(
        self, settings: Settings, artifacts_bucket: s3.IBucket | None
    ) -> CaptureLogRouting | None:
        """The model server's capture lines to ``capture/<env>/eks/`` in ``artifacts_bucket``.

        ``None`` without a bucket or with ``drift.capture_percent = 0``.
        """
        if artifacts_bucket is None or settings.drift.capture_percent == 0:
            return None
        routing = CaptureLogRouting(
            self,
            "CaptureLogRouting",
            cluster=self.fargate_cluster,
            artifacts_bucket=artifacts_bucket,
            capture_prefix=capture_prefix(settings),
            namespace=settings.eks.namespace,
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        # Fargate reads the log router config at pod start: the model server comes after.
        self.serving.namespace_manifest.node.add_dependency(routing.manifest)
        return routing
