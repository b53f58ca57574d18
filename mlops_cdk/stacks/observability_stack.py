"""ObservabilityStack: the dashboard and alarms of one environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.platform_monitoring import AlarmThresholds, PlatformMonitoring


class ObservabilityStack(Stack):
    """Holds :class:`PlatformMonitoring`: the dashboard, and alarms sent to ``alarm_topic``.

    Every monitored input is optional; pass what the serving and retraining stacks expose
    (one keyword each) and the dashboard and alarms for it appear.

    Args:
        scope: Parent construct.
        construct_id: Stack id.
        settings: The environment's settings (``observability`` section and names).
        alarm_topic: Where alarms go (the AlertingStack's topic).
        load_balancer_name: EKS ingress ALB name (EKS serving stack).
        eks_cluster_name: EKS cluster name (EKS serving stack).
        eks_namespace: Model-server namespace (EKS serving stack).
        eks_container_insights: The EKS serving stack runs the ADOT collector, so pod and
            model-server metrics exist to graph.
        sagemaker_endpoint_name: Endpoint name (SageMaker serving stack).
        sagemaker_variant_name: Production variant (SageMaker serving stack).
        serverless: Whether the SageMaker variant is serverless.
        http_api: Public HTTP API (SageMaker serving stack).
        dispatcher_function: Retraining dispatcher Lambda.
        dispatch_queue: Queue feeding the dispatcher.
        dead_letter_queue: Dispatcher dead-letter queue.
        retraining_service: ``service`` dimension of the dispatcher's EMF metrics.
        dead_letter_queue_alarm: The dispatcher's own DLQ alarm, used instead of a new one.
        existing_alarms: Alarms made elsewhere that should notify the topic too.
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
        load_balancer_name: str | None = None,
        eks_cluster_name: str | None = None,
        eks_namespace: str | None = None,
        eks_container_insights: bool = True,
        sagemaker_endpoint_name: str | None = None,
        sagemaker_variant_name: str = "AllTraffic",
        serverless: bool = False,
        http_api: apigwv2.IHttpApi | None = None,
        dispatcher_function: lambda_.IFunction | None = None,
        dispatch_queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retraining_service: str | None = None,
        dead_letter_queue_alarm: cw.Alarm | None = None,
        existing_alarms: tuple[cw.Alarm, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        o = settings.observability
        env = settings.env_name
        self.monitoring = PlatformMonitoring(
            self,
            "Monitoring",
            alarm_topic=alarm_topic,
            dashboard_name=f"mlops-cdk-{env}",
            thresholds=AlarmThresholds(
                error_rate_percent=o.error_rate_percent,
                p99_latency_ms=o.p99_latency_ms,
                average_latency_ms=o.average_latency_ms,
                period_minutes=o.alarm_period_minutes,
                evaluation_periods=o.alarm_evaluation_periods,
                datapoints_to_alarm=o.alarm_datapoints_to_alarm,
            ),
            load_balancer_name=load_balancer_name,
            load_balancer_tags=(
                {"elbv2.k8s.aws/cluster": eks_cluster_name, "mlops-cdk:env": env}
                if eks_cluster_name
                else {"mlops-cdk:env": env}
            ),
            eks_cluster_name=eks_cluster_name,
            eks_namespace=eks_namespace,
            eks_container_insights=eks_container_insights,
            sagemaker_endpoint_name=sagemaker_endpoint_name,
            sagemaker_variant_name=sagemaker_variant_name,
            serverless=serverless,
            http_api=http_api,
            dispatcher_function=dispatcher_function,
            dispatch_queue=dispatch_queue,
            dead_letter_queue=dead_letter_queue,
            retraining_service=retraining_service,
            dead_letter_queue_alarm=dead_letter_queue_alarm,
            existing_alarms=existing_alarms,
        )
        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region="
            f"{self.region}#dashboards/dashboard/mlops-cdk-{env}",
            description="CloudWatch dashboard of this environment",
        )
