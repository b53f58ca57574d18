"""The EKS sections: the CDK-owned ALB and its target group, and the model pods on Fargate."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from mlops_cdk.constructs.monitoring.section import (
    AlarmSpec,
    AlarmThresholds,
    Section,
    error_rate,
    graph,
)
from mlops_cdk.k8s import adot

ALB_NAMESPACE = "AWS/ApplicationELB"


def load_balancer_section(
    *,
    load_balancer: elbv2.IApplicationLoadBalancer,
    target_group: elbv2.IApplicationTargetGroup,
    thresholds: AlarmThresholds,
) -> Section:
    """Requests, 5xx, p99 target response time and target health, by the real dimensions.

    Target-group metrics carry ``LoadBalancer`` and ``TargetGroup``, load-balancer metrics
    ``LoadBalancer``: the full names (``app/...``, ``targetgroup/...``) the constructs give.
    """
    period = thresholds.period
    alb_dimensions = {"LoadBalancer": load_balancer.load_balancer_full_name}
    target_dimensions = {**alb_dimensions, "TargetGroup": target_group.target_group_full_name}

    def metric(name: str, statistic: str, label: str, *, per_target_group: bool) -> cw.Metric:
        return cw.Metric(
            namespace=ALB_NAMESPACE,
            metric_name=name,
            dimensions_map=target_dimensions if per_target_group else alb_dimensions,
            statistic=statistic,
            period=period,
            label=label,
        )

    requests = metric("RequestCount", "Sum", "Requests", per_target_group=False)
    target_5xx = metric("HTTPCode_Target_5XX_Count", "Sum", "Target 5xx", per_target_group=True)
    elb_5xx = metric("HTTPCode_ELB_5XX_Count", "Sum", "ALB 5xx", per_target_group=False)
    response_time = {
        stat: metric(
            "TargetResponseTime", stat, f"Target response time {stat} (s)", per_target_group=True
        )
        for stat in ("p50", "p99")
    }
    healthy = metric("HealthyHostCount", "Minimum", "Healthy targets", per_target_group=True)
    unhealthy = metric("UnHealthyHostCount", "Maximum", "Unhealthy targets", per_target_group=True)
    widgets = [
        graph("ALB requests", [requests], width=6),
        graph("5xx (target and ALB)", [target_5xx, elb_5xx], width=6),
        graph("Target response time p50 / p99 (s)", list(response_time.values()), width=6),
        graph("Targets: healthy / unhealthy", [healthy, unhealthy], width=6),
    ]
    p99_seconds = thresholds.p99_latency_ms / 1000
    alarms = [
        AlarmSpec(
            "AlbErrorRate",
            error_rate({"target5xx": target_5xx, "elb5xx": elb_5xx}, requests, period),
            threshold=thresholds.error_rate_percent,
            description=f"More than {thresholds.error_rate_percent}% of requests to the model "
            "ALB answer 5xx.",
        ),
        AlarmSpec(
            "AlbLatency",
            response_time["p99"],
            threshold=p99_seconds,
            description=f"p99 target response time of the model ALB is above "
            f"{thresholds.p99_latency_ms} ms.",
        ),
        AlarmSpec(
            "AlbNoHealthyTargets",
            healthy,
            threshold=1,
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            # The ALB reports target health every minute, traffic or not: no data means the
            # load balancer or its target group is gone, and nobody is answering.
            missing=cw.TreatMissingData.BREACHING,
            description="No healthy model-server pods behind the model ALB.",
        ),
        AlarmSpec(
            "AlbUnhealthyTargets",
            unhealthy,
            threshold=0,
            description="Model-server pods behind the model ALB fail their health checks.",
        ),
    ]
    return Section("EKS: model load balancer", widgets, alarms)


def canary_section(
    *,
    load_balancer: elbv2.IApplicationLoadBalancer,
    target_group: elbv2.IApplicationTargetGroup,
    thresholds: AlarmThresholds,
    alarm_name_prefix: str,
) -> Section:
    """The canary's own target group: requests, 5xx rate and p99, alarmed under fixed names.

    ``<alarm_name_prefix>-error-rate`` and ``<alarm_name_prefix>-p99-latency``: the names
    ``scripts/canary.py status`` reads. The rate divides by the canary group's own requests.
    """
    period = thresholds.period
    dimensions = {
        "LoadBalancer": load_balancer.load_balancer_full_name,
        "TargetGroup": target_group.target_group_full_name,
    }

    def metric(name: str, statistic: str, label: str) -> cw.Metric:
        return cw.Metric(
            namespace=ALB_NAMESPACE,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=period,
            label=label,
        )

    requests = metric("RequestCount", "Sum", "Canary requests")
    target_5xx = metric("HTTPCode_Target_5XX_Count", "Sum", "Canary target 5xx")
    p99 = metric("TargetResponseTime", "p99", "Canary target response time p99 (s)")
    widgets = [
        graph("Canary requests", [requests]),
        graph("Canary target 5xx", [target_5xx]),
        graph("Canary target response time p99 (s)", [p99]),
    ]
    alarms = [
        AlarmSpec(
            "CanaryErrorRate",
            error_rate({"target5xx": target_5xx}, requests, period),
            threshold=thresholds.error_rate_percent,
            description=f"More than {thresholds.error_rate_percent}% of the canary's requests "
            "answer 5xx: roll the canary back.",
            alarm_name=f"{alarm_name_prefix}-error-rate",
        ),
        AlarmSpec(
            "CanaryLatency",
            p99,
            threshold=thresholds.p99_latency_ms / 1000,
            description=f"p99 target response time of the canary is above "
            f"{thresholds.p99_latency_ms} ms: roll the canary back.",
            alarm_name=f"{alarm_name_prefix}-p99-latency",
        ),
    ]
    return Section("EKS: canary target group", widgets, alarms)


def pods_section(*, cluster_name: str, namespace: str, thresholds: AlarmThresholds) -> Section:
    """Pod CPU and memory from the ADOT collector, and the model server's own metrics.

    Container Insights on Fargate has no restart or pod-count metrics (those come from the
    node agent, which Fargate cannot run): the kubelet's cAdvisor is all there is.
    """
    period = thresholds.period

    def pod_metric(name: str, label: str) -> cw.Metric:
        return cw.Metric(
            namespace=adot.CONTAINER_INSIGHTS_NAMESPACE,
            metric_name=name,
            dimensions_map={
                "ClusterName": cluster_name,
                "Namespace": namespace,
                "LaunchType": adot.LAUNCH_TYPE,
            },
            statistic="Average",
            period=period,
            label=label,
        )

    dimensions = {"ClusterName": cluster_name, "Namespace": namespace}
    # Status codes are only known at run time: SEARCH graphs one line per code.
    schema = f"{{{adot.MODEL_SERVER_NAMESPACE},ClusterName,Namespace,code,route}}"
    query = (
        f'{schema} MetricName="{adot.MODEL_REQUESTS}" ClusterName="{cluster_name}" '
        f'Namespace="{namespace}" route="v1_predict"'
    )
    by_code = cw.SearchExpression(
        expression=f"SEARCH('{query}', 'Sum', {int(period.to_seconds())})",
        label="HTTP ${PROP('Dim.code')}",
    )
    latency = cw.Metric(
        namespace=adot.MODEL_SERVER_NAMESPACE,
        metric_name=adot.MODEL_LATENCY,
        dimensions_map={**dimensions, "route": "v1_predict"},
        # Each datapoint is a statistic set of the period's requests: Average = sum / count.
        statistic="Average",
        period=period,
        label="Average :predict latency (s)",
    )
    rows = cw.Metric(
        namespace=adot.MODEL_SERVER_NAMESPACE,
        metric_name=adot.MODEL_ROWS,
        dimensions_map=dimensions,
        statistic="Sum",
        period=period,
        label="Rows scored",
    )
    widgets = [
        graph(
            "Model pods: CPU and memory (% of pod limit)",
            [
                pod_metric("pod_cpu_utilization_over_pod_limit", "CPU"),
                pod_metric("pod_memory_utilization_over_pod_limit", "Memory"),
            ],
        ),
        graph(
            "Model pods: CPU used (millicores)",
            [
                pod_metric("pod_cpu_usage_total", "CPU used"),
                pod_metric("pod_cpu_limit", "CPU limit"),
            ],
        ),
        graph("Model server: :predict requests by status", [by_code]),
        graph("Model server: average :predict latency (s)", [latency]),
        graph("Model server: rows scored", [rows]),
    ]
    return Section(f"EKS: model pods in {namespace}", widgets)
