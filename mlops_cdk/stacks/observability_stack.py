"""ObservabilityStack: the dashboard and alarms of one environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.drift_monitor import DriftMonitor
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.eks_model_serving import EksModelServing
from mlops_cdk.constructs.fargate_container_insights import FargateContainerInsights
from mlops_cdk.constructs.model_api import ModelApi
from mlops_cdk.constructs.platform_monitoring import AlarmThresholds, PlatformMonitoring
from mlops_cdk.constructs.retraining import RetrainingDispatcher
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint


class ObservabilityStack(Stack):
    """Holds :class:`PlatformMonitoring` watching the constructs it is given.

    Args:
        scope: Parent construct.
        construct_id: Stack id.
        settings: The environment's settings (``observability`` section and names).
        alarm_topic: Where alarms go (the AlertingStack's topic).
        dispatcher: The retraining dispatcher.
        api: The HTTP API in front of the serving path (either path). Default none.
        model_endpoint: The SageMaker endpoint (``serving=sagemaker``). Default none.
        eks_serving: The EKS model serving (``serving=eks``); its ALB and target group are
            watched. Default none.
        eks_cluster: The cluster of ``eks_serving``; required with it.
        container_insights: The ADOT collector on that cluster, so pod and model-server
            metrics exist to graph. Default none.
        drift_monitor: The data-drift check; its PSI metrics are graphed and its alarms
            notify the topic. Default none.
        **kwargs: ``Stack`` keyword arguments.

    Attributes:
        monitoring: The dashboard and alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        alarm_topic: sns.ITopic,
        dispatcher: RetrainingDispatcher,
        api: ModelApi | None = None,
        model_endpoint: SageMakerModelEndpoint | None = None,
        eks_serving: EksModelServing | None = None,
        eks_cluster: EksFargateCluster | None = None,
        container_insights: FargateContainerInsights | None = None,
        drift_monitor: DriftMonitor | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        observability = settings.observability
        dashboard_name = f"mlops-cdk-{settings.env_name}"
        self.monitoring = PlatformMonitoring(
            self,
            "Monitoring",
            alarm_topic=alarm_topic,
            dashboard_name=dashboard_name,
            thresholds=AlarmThresholds(
                error_rate_percent=observability.error_rate_percent,
                p99_latency_ms=observability.p99_latency_ms,
                period_minutes=observability.alarm_period_minutes,
                evaluation_periods=observability.alarm_evaluation_periods,
                datapoints_to_alarm=observability.alarm_datapoints_to_alarm,
            ),
        )
        if api is not None:
            self.monitoring.monitor_api(api)
        if model_endpoint is not None:
            self.monitoring.monitor_endpoint(model_endpoint)
        if eks_serving is not None:
            if eks_cluster is None:
                raise ValueError("ObservabilityStack: eks_serving needs eks_cluster")
            self.monitoring.monitor_eks_serving(
                load_balancer=eks_serving.load_balancer,
                target_group=eks_serving.target_group,
                cluster_name=eks_cluster.cluster_name,
                namespace=eks_serving.namespace,
                container_insights=container_insights is not None,
                canary_target_group=eks_serving.canary_target_group,
            )
        self.monitoring.monitor_retraining(dispatcher)
        if drift_monitor is not None:
            self.monitoring.monitor_drift(drift_monitor)
        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region="
            f"{self.region}#dashboards/dashboard/{dashboard_name}",
            description="CloudWatch dashboard of this environment",
        )
