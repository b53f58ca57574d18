"""The thresholds every alarm uses, and the shape of a custom dashboard section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw


@dataclass(frozen=True)
class AlarmThresholds:
    """When the alarms fire.

    Attributes:
        error_rate_percent: Share of 5xx responses (of all requests) that raises the error
            alarms. Default 5.
        p99_latency_ms: p99 latency that raises the latency alarms (HTTP API latency, ALB
            target response time, SageMaker model latency). Default 500.
        period_minutes: Period each alarm aggregates over. Default 5.
        evaluation_periods: Periods looked back over. Default 3.
        datapoints_to_alarm: Breaching periods (of ``evaluation_periods``) that raise the
            alarm: 2 of 3 rides out a single bad period without hiding a sustained one.
    """

    error_rate_percent: float = 5.0
    p99_latency_ms: int = 500
    period_minutes: int = 5
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2

    @property
    def period(self) -> Duration:
        """``period_minutes`` as a ``Duration``."""
        return Duration.minutes(self.period_minutes)


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm to create: what it watches and when it fires (the facade adds the actions).

    Attributes:
        name: Construct id and short name.
        metric: The metric or expression watched.
        threshold: Threshold, in the metric's unit.
        description: Alarm description: what is wrong, in words.
        comparison: Default ``GreaterThanThreshold``.
        missing: ``TreatMissingData``. Default ``notBreaching`` (no data = no traffic).
        alarm_name: Fixed alarm name, for alarms a script looks up. Default: generated.
    """

    name: str
    metric: cw.IMetric
    threshold: float
    description: str
    comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_THRESHOLD
    missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING
    alarm_name: str | None = None


@dataclass(frozen=True)
class Section:
    """A titled group of dashboard widgets and the alarms that go with them."""

    title: str
    widgets: Sequence[cw.IWidget]
    alarms: Sequence[AlarmSpec] = field(default_factory=tuple)


def graph(title: str, left: Sequence[cw.IMetric], width: int = 8) -> cw.GraphWidget:
    """A 6-high line graph."""
    return cw.GraphWidget(title=title, left=list(left), width=width, height=6)


def error_rate(
    errors: dict[str, cw.IMetric], total: cw.IMetric, period: Duration
) -> cw.MathExpression:
    """``100 * sum(errors) / total``; no traffic reads as 0 %, not as missing data."""
    summed = " + ".join(f"FILL({metric_id}, 0)" for metric_id in errors)
    return cw.MathExpression(
        expression=f"100 * ({summed}) / FILL(total, 1)",
        using_metrics={**errors, "total": total},
        label="5xx rate (%)",
        period=period,
    )
