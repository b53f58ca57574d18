"""Parts the kit's scheduled, idempotent Lambda constructs share, with their secure defaults.

``RetrainingDispatcher`` and ``DriftMonitor`` each run a Powertools function with its own role
and log group (``dispatching_function``), remember dispatches in an idempotency table, are
invoked by an EventBridge Scheduler schedule through their own role, and alarm on dead-letter
queues (they start retraining through a ``_dispatch_target.DispatchTarget``). The resources are
created in the caller's scope, so their construct ids (and logical ids) are the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON, skip_checkov
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs._props import merge_props
from mlops_cdk.versions import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer_arn


def idempotency_table(
    scope: Construct,
    *,
    removal_policy: RemovalPolicy,
    user_props: Mapping[str, Any] | None,
    encryption_reason: str,
) -> dynamodb.Table:
    """Powertools' idempotency records (``IdempotencyTable``): on-demand, PITR, TTL on expiry.

    ``partition_key`` and ``time_to_live_attribute`` are Powertools' layout and fixed;
    ``encryption_reason`` says why AWS-managed encryption is enough for what the table holds.
    """
    table = dynamodb.Table(
        scope,
        "IdempotencyTable",
        **merge_props(
            scope,
            {
                "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
                "encryption": dynamodb.TableEncryption.AWS_MANAGED,
                "point_in_time_recovery_specification": (
                    dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
                ),
                "deletion_protection": removal_policy == RemovalPolicy.RETAIN,
                "removal_policy": removal_policy,
            },
            user_props,
            {
                "partition_key": dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
                "time_to_live_attribute": "expiration",
            },
            security_keys=(
                "encryption",
                "encryption_key",
                "point_in_time_recovery_specification",
                "deletion_protection",
                "removal_policy",
            ),
        ),
    )
    skip_checkov(table, "CKV_AWS_119", encryption_reason)
    return table


def function_role_and_logs(
    scope: Construct,
    *,
    description: str,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> tuple[iam.Role, logs.LogGroup]:
    """The function's own role (``FunctionRole``) and log group (``FunctionLogs``).

    The role may write to that log group only (the EMF metrics go there too), so it needs no
    ``AWSLambdaBasicExecutionRole``.
    """
    role = iam.Role(
        scope,
        "FunctionRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    log_group = logs.LogGroup(
        scope, "FunctionLogs", retention=log_retention, removal_policy=removal_policy
    )
    skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
    log_group.grant_write(role)
    return role, log_group


def powertools_layer_or_public(
    scope: Construct, layer: lambda_.ILayerVersion | None
) -> lambda_.ILayerVersion:
    """``layer``, or the official public Powertools layer of the stack's region."""
    return layer or lambda_.LayerVersion.from_layer_version_arn(
        scope, "PowertoolsLayer", powertools_layer_arn(Stack.of(scope).region)
    )


def dispatching_function(
    scope: Construct,
    *,
    role_description: str,
    reserved_concurrency: int | None,
    unreserved_reason: str,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    powertools_layer: lambda_.ILayerVersion | None,
    failure_queue: sqs.IQueue,
    max_event_age: Duration,
    checkov_reasons: Mapping[str, str],
    **function_props: Any,
) -> lambda_.Function:
    """The arm64 Powertools function (``Function``) with its own role, log group and layer.

    ``function_props`` are the rest of ``lambda_.Function``'s arguments (``description``,
    ``code``, ``handler``, ``environment``, ``timeout``, ``memory_size``, ``tracing``).
    Schedules invoke it asynchronously: Lambda retries a failed run twice, then keeps the event
    (or one older than ``max_event_age``) in ``failure_queue`` instead of dropping it.
    ``checkov_reasons`` (check id to reason) are skipped on the function, and
    ``unreserved_reason`` for ``CKV_AWS_115`` when ``reserved_concurrency`` is ``None``. With
    active tracing, the X-Ray grant's ``*`` is acknowledged on the role.
    """
    role, log_group = function_role_and_logs(
        scope,
        description=role_description,
        log_retention=log_retention,
        removal_policy=removal_policy,
    )
    function = lambda_.Function(
        scope,
        "Function",
        runtime=LAMBDA_RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        layers=[powertools_layer_or_public(scope, powertools_layer)],
        role=role,
        log_group=log_group,
        reserved_concurrent_executions=reserved_concurrency,
        retry_attempts=2,
        max_event_age=max_event_age,
        on_failure=destinations.SqsDestination(failure_queue),
        **function_props,
    )
    if function_props.get("tracing") == lambda_.Tracing.ACTIVE:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
            "resource-level permissions, so CDK's tracing grant must use '*'.",
        )
    for check_id, reason in checkov_reasons.items():
        skip_checkov(function, check_id, reason)
    if reserved_concurrency is None:
        skip_checkov(function, "CKV_AWS_115", unreserved_reason)
    return function


def schedule_expression(
    schedule: scheduler.ScheduleExpression | str,
) -> scheduler.ScheduleExpression:
    """A Scheduler expression from ``cron(...)``/``rate(...)``/``at(...)`` text or as given."""
    if isinstance(schedule, str):
        return scheduler.ScheduleExpression.expression(schedule)
    return schedule


def schedule_role(scope: Construct, function: lambda_.IFunction, description: str) -> iam.Role:
    """The schedule's own role (``ScheduleRole``), for this account's Scheduler only.

    Our own role rather than the stack-wide singleton, so the acknowledgement of the
    ``lambda:InvokeFunction`` grant on ``function:*`` stays on it.
    """
    stack = Stack.of(scope)
    role = iam.Role(
        scope,
        "ScheduleRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description=description,
    )
    function_id = stack.resolve(function.node.default_child.logical_id)  # type: ignore[union-attr]
    acknowledge(
        role,
        f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
        "lambda:InvokeFunction on this one function and its versions/aliases (':*'), as "
        "Function.grant_invoke grants; no other function is reachable.",
    )
    return role


def queue_depth_alarm(
    scope: Construct,
    construct_id: str,
    *,
    queue: sqs.IQueue,
    description: str,
    period: Duration,
) -> cloudwatch.Alarm:
    """Alarm as soon as one message is visible in ``queue`` (a dead-letter queue)."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=period, statistic=cloudwatch.Stats.MAXIMUM
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
