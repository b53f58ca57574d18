"""AlarmTopic: the encrypted SNS topic every alarm and budget notification goes to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from mlops_cdk.constructs._kms import build_encryption_key
from mlops_cdk.constructs._props import check_existing_or_props, merge_props

PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")
"""Services that publish to the topic and therefore need the key: CloudWatch alarms and
AWS Budgets. With the AWS-managed ``alias/aws/sns`` key they could not (its policy cannot be
changed), and alarm delivery would fail silently."""


def publisher(scope: Construct, service: str) -> iam.ServicePrincipal:
    """``service`` acting only for this account's alarms or budgets (no confused deputy)."""
    stack = Stack.of(scope)
    source_arn = (
        stack.format_arn(service="budgets", region="", resource="budget", resource_name="*")
        if service.startswith("budgets.")
        else stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
    )
    return iam.ServicePrincipal(
        service,
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": source_arn},
        },
    )


class AlarmTopic(Construct):
    """An SNS topic for alarms, encrypted with a customer-managed key CloudWatch can use.

    The topic is encrypted with its own KMS key (rotation on) whose policy lets CloudWatch and
    AWS Budgets generate data keys and decrypt, and the topic policy lets Budgets publish, each
    only on behalf of this account's alarms or budgets (``aws:SourceAccount`` and
    ``aws:SourceArn``). Publishing requires TLS.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        emails: Addresses subscribed to the topic. Default none: each address must confirm
            its subscription from the email AWS sends, so subscribing is opt-in.
        removal_policy: For the key. Default ``RETAIN`` (a deleted key makes the topic's
            undelivered messages unreadable).
        existing_topic: Use this topic instead of creating one; the caller then owns its
            encryption and policy (emails are still subscribed).
        topic_props: ``sns.Topic`` keyword arguments merged over the defaults; ``master_key``
            and ``enforce_ssl`` are required and stay as set here.

    Attributes:
        topic: The alarm topic.
        encryption_key: The topic's key, or ``None`` for an existing topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        emails: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_topic: sns.ITopic | None = None,
        topic_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_existing_or_props(self, "existing_topic", existing_topic, "topic_props", topic_props)
        self.encryption_key: kms.Key | None = None
        if existing_topic is not None:
            self.topic: sns.ITopic = existing_topic
        else:
            self.encryption_key = build_encryption_key(
                self,
                "TopicKey",
                description="Encrypts the mlops-cdk alarm topic; CloudWatch and Budgets publish",
                removal_policy=removal_policy,
            )
            for service in PUBLISHING_SERVICES:
                self.encryption_key.grant(
                    publisher(self, service), "kms:Decrypt", "kms:GenerateDataKey*"
                )
            topic = sns.Topic(
                self,
                "Topic",
                **merge_props(
                    self,
                    {"display_name": "mlops-cdk alarms"},
                    topic_props,
                    {"master_key": self.encryption_key, "enforce_ssl": True},
                    security_keys=("master_key", "enforce_ssl"),
                ),
            )
            # CloudWatch alarms publish through the alarm's own service integration; Budgets
            # needs an explicit topic-policy statement.
            topic.grant_publish(publisher(self, "budgets.amazonaws.com"))
            self.topic = topic
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
