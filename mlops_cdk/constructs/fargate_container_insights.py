"""FargateContainerInsights: Container Insights and Prometheus metrics for EKS on Fargate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON, skip_checkov
from mlops_cdk.k8s import adot
from mlops_cdk.versions import ADOT_COLLECTOR_IMAGE

if TYPE_CHECKING:  # the cluster creates this add-on: EksFargateCluster.add_container_insights
    from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster


class FargateContainerInsights(Construct):
    """One ADOT collector pod that publishes Container Insights and scraped Prometheus metrics.

    Fargate runs no DaemonSets, so the CloudWatch agent add-on cannot run; AWS documents this
    collector instead. It reads every kubelet's cAdvisor endpoint through the API server and
    publishes the pod CPU, memory and network metrics to ``ContainerInsights`` (dimensions
    ``ClusterName``, ``Namespace``, ``PodName``, ``LaunchType=fargate``), and it scrapes pods
    annotated ``prometheus.io/scrape: "true"`` in ``scrape_namespaces`` into
    ``MlopsCdk/ModelServer``. Both go through the ``awsemf`` exporter: metrics are extracted
    from structured log events, so the only AWS permissions are ``logs:CreateLogStream`` and
    ``logs:PutLogEvents`` on the two log groups this construct creates (with retention, so the
    exporter never creates never-expiring ones; no ``cloudwatch:PutMetricData`` is needed).

    Created by :meth:`EksFargateCluster.add_container_insights` (once per cluster). The
    service account is an ``eks.ServiceAccount`` (IRSA: Fargate runs no Pod Identity agent);
    everything is applied after the AWS Load Balancer Controller is up.

    Cost: each pod publishes 8 custom metrics in 3 dimension sets, each model-server route
    and status code a few more (about $0.30 per metric a month), plus the ingested log events
    (about 1-2 GB a month for a small cluster) and one 0.25 vCPU / 1 GB Fargate pod.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The :class:`EksFargateCluster`; a Fargate profile is added for the collector.
        scrape_namespaces: Namespaces whose annotated pods are scraped; the collector may list
            pods only there. They must exist before ``scrape_access`` is applied: add a
            dependency from it on whatever creates them.
        log_retention: Retention of the two log groups. Default one month.
        removal_policy: For the log groups. Default ``RETAIN``.
        image: Collector image. Default ``versions.ADOT_COLLECTOR_IMAGE``.
        cpu: CPU request and limit of the collector pod. Default ``250m`` (a small cluster;
            AWS's template reserves a full vCPU for large ones).
        memory: Memory request and limit. Default ``512Mi``.

    Attributes:
        namespace: The collector's namespace.
        service_account: The collector's ``eks.ServiceAccount``.
        service_account_role: Its IRSA role.
        performance_log_group: ``/aws/containerinsights/<cluster>/performance``.
        prometheus_log_group: ``/aws/containerinsights/<cluster>/prometheus``.
        namespace_manifest: The manifest applying the namespace.
        collector: The manifest applying the collector (RBAC, config, Deployment).
        scrape_access: The manifest applying the pod-reading Roles in ``scrape_namespaces``
            (``None`` without scrape namespaces).
        manifests: Everything rendered, in apply order (the service account is not a manifest).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: EksFargateCluster,
        scrape_namespaces: Sequence[str] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        image: str = ADOT_COLLECTOR_IMAGE,
        cpu: str = "250m",
        memory: str = "512Mi",
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = adot.NAMESPACE
        eks_cluster = cluster.cluster
        cluster_name = eks_cluster.cluster_name
        profile = cluster.add_fargate_namespaces("observability", [self.namespace])

        # Created here (the exporter would create them without retention) and written by IRSA.
        self.performance_log_group, self.prometheus_log_group = (
            logs.LogGroup(
                self,
                log_group_id,
                log_group_name=log_group_name(cluster_name),
                retention=log_retention,
                removal_policy=removal_policy,
            )
            for log_group_id, log_group_name in (
                ("PerformanceLogs", adot.performance_log_group),
                ("PrometheusLogs", adot.prometheus_log_group),
            )
        )
        for log_group in (self.performance_log_group, self.prometheus_log_group):
            skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        spec = adot.CollectorSpec(
            cluster_name=cluster_name,
            region=Stack.of(self).region,
            image=image,
            scrape_namespaces=tuple(scrape_namespaces),
            namespace=self.namespace,
            cpu=cpu,
            memory=memory,
        )
        self.namespace_manifest = eks.KubernetesManifest(
            self, "Namespace", cluster=eks_cluster, manifest=[adot.namespace(spec)]
        )
        self.namespace_manifest.node.add_dependency(profile, cluster.services_ready)
        self.service_account = eks.ServiceAccount(
            self,
            "ServiceAccount",
            cluster=eks_cluster,
            name=adot.SERVICE_ACCOUNT_NAME,
            namespace=self.namespace,
            annotations={"eks.amazonaws.com/sts-regional-endpoints": "true"},
            labels=spec.labels,
        )
        self.service_account.node.add_dependency(self.namespace_manifest)
        self.service_account_role: iam.IRole = self.service_account.role
        for log_group in (self.performance_log_group, self.prometheus_log_group):
            log_group.grant_write(self.service_account)

        collector = adot.collector_manifests(spec)
        access = adot.scrape_access_manifests(spec)
        self.manifests = [adot.namespace(spec), *collector, *access]
        self.collector = eks.KubernetesManifest(
            self, "Collector", cluster=eks_cluster, manifest=collector
        )
        # Pods need the profile and their service account; the exporter must find its log
        # groups (else it would create them itself, without retention, and it may not).
        self.collector.node.add_dependency(
            profile, self.service_account, self.performance_log_group, self.prometheus_log_group
        )
        self.scrape_access: eks.KubernetesManifest | None = None
        if access:
            self.scrape_access = eks.KubernetesManifest(
                self, "ScrapeAccess", cluster=eks_cluster, manifest=access
            )
            self.scrape_access.node.add_dependency(self.service_account)
