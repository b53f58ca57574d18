"""AlertingStack: where every alarm and budget alert of one environment is delivered."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.alarm_topic import AlarmTopic
from mlops_cdk.constructs.monthly_budget import MonthlyBudget
from mlops_cdk.stacks._common import removal_policy


class AlertingStack(Stack):
    """Holds :class:`AlarmTopic` and :class:`MonthlyBudget`.

    It is deployed before the stacks that create alarms, so each of them can send its alarms to
    ``alarm_topic`` without a dependency cycle with the dashboard stack that watches them.

    Attributes:
        alarm_topic: The encrypted alarm topic.
        budget: The environment's monthly budget.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        observability = settings.observability
        self.topic = AlarmTopic(
            self,
            "Alarms",
            emails=observability.alarm_emails,
            removal_policy=removal_policy(settings),
        )
        self.alarm_topic = self.topic.topic
        self.budget = MonthlyBudget(
            self,
            "Budget",
            limit_usd=observability.monthly_budget_usd,
            topic=self.alarm_topic,
            alert_percents=observability.budget_alert_percents,
            budget_name=f"mlops-cdk-{settings.env_name}",
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarm_topic.topic_arn,
            description="Alarms and budget notifications; subscribe more endpoints here",
        )
