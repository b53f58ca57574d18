"""PlatformMonitoring: one dashboard and the alarms of whatever constructs it is asked to watch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cdk_monitoring_constructs as cmc
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_cdk.constructs.monitoring import eks, sagemaker
from mlops_cdk.constructs.monitoring.section import AlarmThresholds, Section, graph
from mlops_cdk.constructs.retraining import METRICS_NAMESPACE, SERVICE_NAME

if TYPE_CHECKING:
    from mlops_cdk.constructs.drift_monitor import DriftMonitor
    from mlops_cdk.constructs.model_api import ModelApi
    from mlops_cdk.constructs.retraining import RetrainingDispatcher
    from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint

RETRAINING_METRICS = ("ObjectsSeen", "ObjectsIgnored", "DispatchesSent", "DispatchFailures")
"""The dispatcher's EMF metrics (Powertools ``Metrics``, dimension ``service``)."""

NOT_BREACHING = cw.TreatMissingData.NOT_BREACHING


class PlatformMonitoring(Construct):
    """A dashboard and alarms, with one ``monitor_*`` method per construct watched.

    Built on ``cdk-monitoring-constructs`` (``MonitoringFacade``) where it covers the case: the
    HTTP API, Lambda functions, SQS queues with their DLQ. Custom code covers what it lacks: the
    SageMaker endpoint (serverless and real-time publish different metrics), the ALB target
    group by its real dimensions, Fargate pods and the model server's own metrics. Every alarm
    notifies ``alarm_topic`` on ALARM and OK, and sets ``TreatMissingData``: ``notBreaching``
    where no data means no traffic, ``breaching`` where it means the thing is gone.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        alarm_topic: Topic every alarm notifies.
        dashboard_name: Dashboard name. Default ``mlops-cdk``.
        thresholds: :class:`AlarmThresholds`. Default: its defaults.

    Attributes:
        facade: The ``cdk_monitoring_constructs.MonitoringFacade``.
        dashboard: The dashboard.
        alarms: Every alarm that notifies the topic, by short name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_topic: sns.ITopic,
        dashboard_name: str = "mlops-cdk",
        thresholds: AlarmThresholds | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.thresholds = thresholds or AlarmThresholds()
        self._alarm_topic = alarm_topic
        self.dashboard_name = dashboard_name
        self._topic_action = cw_actions.SnsAction(alarm_topic)
        self._custom_alarms: dict[str, cw.Alarm] = {}
        dashboards = cmc.DefaultDashboardFactory(
            self,
            "Dashboards",
            dashboard_name_prefix=dashboard_name,
            create_dashboard=True,
            create_summary_dashboard=False,
            create_alarm_dashboard=False,
        )
        self.facade = cmc.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=cmc.AlarmFactoryDefaults(
                alarm_name_prefix=dashboard_name,
                actions_enabled=True,
                action=cmc.SnsAlarmActionStrategy(
                    on_alarm_topic=alarm_topic, on_ok_topic=alarm_topic
                ),
                evaluation_periods=self.thresholds.evaluation_periods,
                datapoints_to_alarm=self.thresholds.datapoints_to_alarm,
            ),
            metric_factory_defaults=cmc.MetricFactoryDefaults(period=self.thresholds.period),
            dashboard_factory=dashboards,
        )
        assert dashboards.dashboard is not None
        self.dashboard: cw.Dashboard = dashboards.dashboard

    @property
    def alarms(self) -> dict[str, cw.AlarmBase]:
        """Every alarm that notifies the topic: the library's (by alarm name) and the custom."""
        made = {str(created.alarm_name): created.alarm for created in self.facade.created_alarms()}
        return {**made, **self._custom_alarms}

    # -- what is watched --------------------------------------------------------------------

    def monitor_api(self, api: ModelApi) -> None:
        """The HTTP API's traffic, 5xx rate and p99 latency (dimension ``ApiId``), and its adapter.

        Args:
            api: The :class:`ModelApi` in front of either serving path.
        """
        thresholds = self.thresholds
        self.facade.monitor_api_gateway_v2_http_api(
            api=api.http_api,
            api_stage="$default",
            alarm_friendly_name="PredictApi",
            human_readable_name=f"Predict API ({api.model_name})",
            add5xx_rate_alarm={
                "Critical": cmc.ErrorRateThreshold(
                    # The 5xx metric is 1 or 0 per request: its Average is the 5xx share.
                    max_error_rate=thresholds.error_rate_percent / 100,
                    treat_missing_data_override=NOT_BREACHING,
                    alarm_description_override=f"More than {thresholds.error_rate_percent}% of API "
                    "requests answer 5xx.",
                )
            },
            add_latency_p99_alarm={
                "Critical": cmc.LatencyThreshold(
                    max_latency=Duration.millis(thresholds.p99_latency_ms),
                    treat_missing_data_override=NOT_BREACHING,
                    alarm_description_override=f"p99 API latency is above "
                    f"{thresholds.p99_latency_ms} ms.",
                )
            },
        )
        if api.function is not None:
            self.facade.monitor_lambda_function(
                lambda_function=api.function,
                alarm_friendly_name="PredictAdapter",
                human_readable_name="Predict adapter Lambda",
            )

    def monitor_endpoint(self, endpoint: SageMakerModelEndpoint) -> None:
        """A SageMaker endpoint: invocations, 5xx rate, p99 model latency, and capacity.

        Real-time variants also get an "endpoint down" alarm on the instances' own
        ``CPUUtilization`` samples; serverless variants publish no instance metrics.

        Args:
            endpoint: The :class:`SageMakerModelEndpoint`.
        """
        section = sagemaker.endpoint_section(
            endpoint_name=endpoint.endpoint_name,
            variant_name=endpoint.variant_name,
            serverless=endpoint.is_serverless,
            thresholds=self.thresholds,
        )
        self._add_section(section)

    def monitor_eks_serving(
        self,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.IApplicationTargetGroup,
        cluster_name: str,
        namespace: str,
        container_insights: bool,
        canary_target_group: elbv2.IApplicationTargetGroup | None = None,
    ) -> None:
        """The EKS path: the CDK-owned ALB and target group(s), and the model pods.

        Args:
            load_balancer: The internal ALB in front of the pods.
            target_group: The ``ip`` target group the pods are bound to.
            cluster_name: EKS cluster name (Container Insights dimension).
            namespace: Namespace of the model server (Container Insights dimension).
            container_insights: The cluster runs the ADOT collector, so the pods' CPU and
                memory and the model server's Prometheus metrics are graphed.
            canary_target_group: The canary's target group, if one runs: its 5xx rate and p99
                alarms are named ``<dashboard_name>-canary-error-rate`` and
                ``<dashboard_name>-canary-p99-latency`` (``mlops_cdk.canary.canary_alarm_name``
                with the ``mlops-cdk-<env>`` dashboard name), for ``scripts/canary.py``.
        """
        self._add_section(
            eks.load_balancer_section(
                load_balancer=load_balancer, target_group=target_group, thresholds=self.thresholds
            )
        )
        if canary_target_group is not None:
            self._add_section(
                eks.canary_section(
                    load_balancer=load_balancer,
                    target_group=canary_target_group,
                    thresholds=self.thresholds,
                    alarm_name_prefix=f"{self.dashboard_name}-canary",
                )
            )
        if container_insights:
            self._add_section(
                eks.pods_section(
                    cluster_name=cluster_name, namespace=namespace, thresholds=self.thresholds
                )
            )

    def monitor_retraining(self, dispatcher: RetrainingDispatcher) -> None:
        """The retraining dispatcher: its Lambda, queue and DLQs, and its EMF metrics.

        The dispatcher's own DLQ alarms are reused (they gain the topic as action), not
        duplicated.

        Args:
            dispatcher: The :class:`RetrainingDispatcher`.
        """
        self.facade.add_medium_header("Retraining trigger")
        emf = [
            cw.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=self.thresholds.period,
            )
            for name in RETRAINING_METRICS
        ]
        self.facade.add_widget(graph("Objects seen / ignored, dispatches, failures", emf))
        self.facade.monitor_lambda_function(
            lambda_function=dispatcher.function,
            alarm_friendly_name="RetrainingDispatcher",
            human_readable_name="Retraining dispatcher Lambda",
            add_fault_count_alarm={
                "Critical": cmc.ErrorCountThreshold(
                    max_error_count=0,
                    treat_missing_data_override=NOT_BREACHING,
                    alarm_description_override="The retraining dispatcher Lambda failed; "
                    "records will retry and may land in the dead-letter queue.",
                )
            },
        )
        if dispatcher.dead_letter_queue is not None:
            self.facade.monitor_sqs_queue_with_dlq(
                queue=dispatcher.queue,
                dead_letter_queue=dispatcher.dead_letter_queue,
                alarm_friendly_name="RetrainingQueue",
                human_readable_name="Retraining queue",
            )
        else:
            self.facade.monitor_sqs_queue(
                queue=dispatcher.queue,
                alarm_friendly_name="RetrainingQueue",
                human_readable_name="Retraining queue",
            )
        self.facade.monitor_sqs_queue(
            queue=dispatcher.delivery_dead_letter_queue,
            alarm_friendly_name="RetrainingDeliveryDlq",
            human_readable_name="Retraining delivery dead-letter queue",
        )
        if dispatcher.dlq_alarm is not None:
            self._notify("DeadLetterQueueNotEmpty", dispatcher.dlq_alarm)
        self._notify("DeliveryDeadLetterQueueNotEmpty", dispatcher.delivery_dlq_alarm)

    def monitor_drift(self, drift_monitor: DriftMonitor) -> None:
        """The data-drift check: ``MaxPsi`` against its threshold, ``Psi`` per feature, rows.

        The monitor's own alarms (``MaxPsi`` above the threshold, failed checks in its
        dead-letter queue) are reused, not duplicated: they gain the topic on OK, and on ALARM
        unless the monitor already notifies this topic.

        Args:
            drift_monitor: The :class:`DriftMonitor`.
        """
        self.facade.add_medium_header("Data drift")
        max_psi = drift_monitor.max_psi_metric.with_(label="MaxPsi")
        self.facade.add_widget(
            cw.GraphWidget(
                title="Largest feature PSI (MaxPsi)",
                left=[max_psi],
                left_annotations=[
                    cw.HorizontalAnnotation(value=drift_monitor.threshold, label="drift threshold")
                ],
                width=8,
                height=6,
            )
        )
        self.facade.add_widget(graph("PSI per feature", [drift_monitor.feature_psi_search()]))
        rows = drift_monitor.capture_rows_metric.with_(label="CaptureRows")
        self.facade.add_widget(graph("Captured rows per window", [rows]))
        notified = drift_monitor.alarm_topic is self._alarm_topic
        self._notify("DataDrift", drift_monitor.alarm, on_alarm=not notified)
        self._notify("DriftCheckFailures", drift_monitor.dlq_alarm, on_alarm=not notified)

    # -- helpers ----------------------------------------------------------------------------

    def _notify(self, name: str, alarm: cw.Alarm, *, on_alarm: bool = True) -> None:
        if on_alarm:
            alarm.add_alarm_action(self._topic_action)
        alarm.add_ok_action(self._topic_action)
        self._custom_alarms[name] = alarm

    def _add_section(self, section: Section) -> None:
        """Add a custom section: its title, graphs, and its alarms (created here, notified)."""
        self.facade.add_medium_header(section.title)
        for widget in section.widgets:
            self.facade.add_widget(widget)
        thresholds = self.thresholds
        alarms = []
        for spec in section.alarms:
            alarm = cw.Alarm(
                self,
                spec.name,
                metric=spec.metric,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=thresholds.evaluation_periods,
                datapoints_to_alarm=thresholds.datapoints_to_alarm,
                treat_missing_data=spec.missing,
                alarm_description=spec.description,
                alarm_name=spec.alarm_name,
            )
            self._notify(spec.name, alarm)
            alarms.append(alarm)
        if alarms:
            self.facade.add_widget(
                cw.AlarmStatusWidget(title=f"{section.title}: alarms", alarms=alarms, width=24)
            )
