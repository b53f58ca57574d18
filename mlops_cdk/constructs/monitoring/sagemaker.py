"""The SageMaker endpoint section: what the endpoint publishes, by variant kind.

Real-time variants publish invocation metrics (``AWS/SageMaker``) and, every minute while an
instance runs, its utilization (``/aws/sagemaker/Endpoints``), traffic or not. Serverless
variants publish only the invocation metrics, ``ModelSetupTime``, ``MemoryUtilization`` and
``ServerlessConcurrentExecutionsUtilization``: no instance metrics, and no data at all while
idle. Both are published by SageMaker itself; the execution role needs no CloudWatch rights.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw

from mlops_cdk.constructs.monitoring.section import (
    AlarmSpec,
    AlarmThresholds,
    Section,
    error_rate,
    graph,
)

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


def endpoint_section(
    *, endpoint_name: str, variant_name: str, serverless: bool, thresholds: AlarmThresholds
) -> Section:
    """Graphs and alarms of one endpoint variant."""
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}

    def metric(name: str, statistic: str, namespace: str = INVOCATION_NAMESPACE) -> cw.Metric:
        return cw.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=thresholds.period,
        )

    invocations = metric("Invocations", "Sum")
    errors_5xx = metric("Invocation5XXErrors", "Sum")
    # ModelLatency is reported in microseconds.
    latency = {
        stat: metric("ModelLatency", stat).with_(label=f"Model latency {stat} (us)")
        for stat in ("p50", "p99")
    }
    if serverless:
        capacity_title = "Concurrency and cold starts"
        capacity = [
            metric("ServerlessConcurrentExecutionsUtilization", "Maximum").with_(
                label="Concurrency utilization"
            ),
            metric("ModelSetupTime", "Maximum").with_(label="Cold-start setup time (us)"),
        ]
    else:
        capacity_title = "CPU / memory (%)"
        capacity = [
            metric("CPUUtilization", "Average", INSTANCE_NAMESPACE),
            metric("MemoryUtilization", "Average", INSTANCE_NAMESPACE),
        ]
    widgets = [
        graph("Invocations", [invocations], width=6),
        graph("4xx / 5xx", [metric("Invocation4XXErrors", "Sum"), errors_5xx], width=6),
        graph("Model latency p50 / p99 (us)", list(latency.values()), width=6),
        graph(capacity_title, capacity, width=6),
    ]
    alarms = [
        AlarmSpec(
            "EndpointErrorRate",
            error_rate({"errors": errors_5xx}, invocations, thresholds.period),
            threshold=thresholds.error_rate_percent,
            description=f"More than {thresholds.error_rate_percent}% of invocations of "
            f"{endpoint_name} fail with 5xx.",
        ),
        AlarmSpec(
            "EndpointLatency",
            latency["p99"],
            threshold=thresholds.p99_latency_ms * 1000,
            description=f"p99 model latency of {endpoint_name} is above "
            f"{thresholds.p99_latency_ms} ms.",
        ),
    ]
    if not serverless:
        alarms.append(
            AlarmSpec(
                "EndpointDown",
                metric("CPUUtilization", "SampleCount", INSTANCE_NAMESPACE),
                threshold=1,
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                # Running instances report every minute, idle or busy: silence means none is up.
                missing=cw.TreatMissingData.BREACHING,
                description=f"No instance of {endpoint_name}/{variant_name} is reporting.",
            )
        )
    return Section(f"SageMaker endpoint {endpoint_name}", widgets, alarms)
