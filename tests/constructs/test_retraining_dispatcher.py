"""RetrainingDispatcher as a library construct: argument validation, options, asset directory."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from mlops_cdk.constructs import DriftMonitor, RetrainingDispatcher
from mlops_cdk.constructs._dispatch_target import DispatchTarget
from mlops_cdk.constructs._props import ConstructValidationError
from mlops_cdk.constructs.retraining import HANDLER_DIR
from tests.conftest import CDK_JSON_CONTEXT


def stack() -> cdk.Stack:
    app = cdk.App(context=CDK_JSON_CONTEXT)
    return cdk.Stack(
        app, "Consumer", env=cdk.Environment(account="111122223333", region="eu-west-1")
    )


def dispatcher(scope: cdk.Stack, **kwargs: Any) -> RetrainingDispatcher:
    bucket = s3.Bucket(scope, "Data", event_bridge_enabled=True)
    defaults: dict[str, Any] = {
        "github_repository": "acme/models",
        "github_token_secret": secretsmanager.Secret(scope, "Token"),
    }
    return RetrainingDispatcher(scope, "Retraining", data_bucket=bucket, **{**defaults, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"github_repository": None, "github_token_secret": None},
            [
                "github_repository = None: target = 'github' needs github_repository = 'owner/name'",
                "github_token_secret = None: target = 'github' needs github_token_secret",
            ],
        ),
        (
            {"github_repository": "no-slash"},
            ["github_repository = 'no-slash': target = 'github' needs"],
        ),
        (
            {"github_api_url": "http://ghe.local"},
            ["github_api_url = 'http://ghe.local': must be an https URL"],
        ),
        (
            {"target": "sagemaker"},
            ["pipeline_name = None: target = 'sagemaker' needs pipeline_name"],
        ),
        (
            {"target": "jenkins"},
            ["target = 'jenkins': unknown target; use 'github' or 'sagemaker'"],
        ),
        ({"data_prefix": "incoming"}, ["data_prefix = 'incoming': must end with '/'"]),
        (
            {"batching_window": cdk.Duration.minutes(10)},
            ["batching_window = 600: seconds, outside 0-300 s"],
        ),
        ({"batch_size": 0}, ["batch_size = 0: out of range; use 1-10000"]),
        (
            {"batching_window": cdk.Duration.seconds(0)},
            ["batch_size = 10000: needs batching_window >= 1 s"],
        ),
        ({"max_receive_count": 0}, ["max_receive_count = 0: out of range; use 1-1000"]),
        ({"max_concurrency": 1}, ["max_concurrency = 1: out of range"]),
        ({"reserved_concurrency": 1}, ["reserved_concurrency = 1: is below max_concurrency = 2"]),
    ],
)
def test_inconsistent_arguments_raise_one_error_naming_each(kwargs, expected):
    with pytest.raises(ConstructValidationError, match=r"^Consumer/Retraining: ") as info:
        dispatcher(stack(), **kwargs)
    for fragment in expected:
        assert f"Consumer/Retraining: {fragment}" in str(info.value)


def test_small_batches_without_a_window_are_allowed():
    d = dispatcher(stack(), batch_size=10, batching_window=cdk.Duration.seconds(0))
    Template.from_stack(cdk.Stack.of(d)).has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"BatchSize": 10}
    )


def test_sagemaker_target_scopes_iam_to_the_lowercased_pipeline_and_skips_the_secret():
    scope = stack()
    d = dispatcher(
        scope, target="sagemaker", pipeline_name="Fraud-Retrain", github_token_secret=None
    )
    assert d.pipeline_arn is not None
    t = Template.from_stack(scope)
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "sagemaker:StartPipelineExecution",
                            "Effect": "Allow",
                            "Resource": "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/"
                            "fraud-retrain",
                        }
                    ]
                )
            }
        },
    )
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"SAGEMAKER_PIPELINE_NAME": "Fraud-Retrain"})
            },
            "Layers": [Match.string_like_regexp(r"^arn:aws:lambda:eu-west-1:017000801446:")],
        },
    )


def test_same_stack_secret_is_read_through_its_grant():
    scope = stack()
    key = kms.Key(scope, "TokenKey")
    secret = secretsmanager.Secret(scope, "KeyedToken", encryption_key=key)
    dispatcher(scope, github_token_secret=secret)
    t = Template.from_stack(scope)
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": [
                                    "secretsmanager:DescribeSecret",
                                    "secretsmanager:GetSecretValue",
                                ],
                                "Resource": {"Ref": Match.string_like_regexp("KeyedToken")},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_schedule_when_disabled_and_any_expression_otherwise():
    none = dispatcher(stack(), schedule=None)
    assert none.schedule is None
    Template.from_stack(cdk.Stack.of(none)).resource_count_is("AWS::Scheduler::Schedule", 0)
    hourly = dispatcher(stack(), schedule="rate(1 hour)")
    assert hourly.schedule is not None
    Template.from_stack(cdk.Stack.of(hourly)).has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 hour)"}
    )


def test_existing_queue_is_consumed_as_is():
    scope = stack()
    mine = sqs.Queue(scope, "Mine", enforce_ssl=True, visibility_timeout=cdk.Duration.hours(1))
    d = dispatcher(scope, existing_queue=mine)
    assert d.queue is mine
    assert d.dead_letter_queue is None and d.dlq_alarm is None
    t = Template.from_stack(scope)
    t.resource_count_is("AWS::SQS::Queue", 2)  # mine + the delivery DLQ
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^Mine"), "Arn"]}},
    )


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def kms_statements(t: Template, key_id: str) -> list[dict]:
    key = t.find_resources("AWS::KMS::Key")[key_id]
    return key["Properties"]["KeyPolicy"]["Statement"]


def test_kms_queues_let_their_senders_use_the_key_and_ssl_stays_enforced():
    scope = stack()
    queue_key = kms.Key(scope, "QueueKey", enable_key_rotation=True)
    dlq_key = kms.Key(scope, "DlqKey", enable_key_rotation=True)
    dispatcher(
        scope,
        queue_props={
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": queue_key,
            "enforce_ssl": False,
        },
        dead_letter_queue_props={
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": dlq_key,
        },
    )
    t = Template.from_stack(scope)
    for queue in t.find_resources("AWS::SQS::Queue").values():
        assert "KmsMasterKeyId" in queue["Properties"]
    services = {
        key_id: {
            service
            for st in kms_statements(t, key_id)
            if "kms:Decrypt" in st["Action"]
            for service in as_list(st["Principal"].get("Service", []))
        }
        for key_id in t.find_resources("AWS::KMS::Key")
    }
    assert services[scope.resolve(queue_key.node.default_child.logical_id)] == {
        "events.amazonaws.com"
    }
    # The delivery DLQ receives from the rule, the schedule and the function's destination.
    assert services[scope.resolve(dlq_key.node.default_child.logical_id)] == {
        "events.amazonaws.com",
        "scheduler.amazonaws.com",
    }
    for policy in t.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            st["Effect"] == "Deny" for st in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    warnings = [
        entry.data
        for construct in scope.node.find_all()
        for entry in construct.node.metadata
        if "props-overridden" in str(entry.data)
    ]
    assert any("enforce_ssl" in str(w) for w in warnings)


def test_attributes_for_observability_are_typed_constructs():
    d = dispatcher(stack())
    assert d.function.runtime.name == "python3.14"
    for attribute in ("queue", "dead_letter_queue", "delivery_dead_letter_queue"):
        assert getattr(d, attribute).queue_arn
    assert d.dlq_alarm.alarm_arn and d.delivery_dlq_alarm.alarm_arn
    assert d.idempotency_table.table_name and d.rule.rule_arn and d.schedule is not None


def test_handler_asset_directory_is_the_retrain_dispatch_package():
    assert HANDLER_DIR.is_dir()
    assert (HANDLER_DIR / "__init__.py").is_file()
    assert HANDLER_DIR.parts[-3:] == ("mlops_cdk", "lambdas", "retrain_dispatch")


def test_no_reserved_concurrency_by_default_the_event_source_bounds_it():
    scope = stack()
    dispatcher(scope)
    t = Template.from_stack(scope)
    for function in t.find_resources("AWS::Lambda::Function").values():
        assert "ReservedConcurrentExecutions" not in function["Properties"]
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"ScalingConfig": {"MaximumConcurrency": 2}}
    )


def test_reserved_concurrency_is_opt_in_and_at_least_the_event_source_maximum():
    scope = stack()
    dispatcher(scope, reserved_concurrency=3, max_concurrency=3)
    Template.from_stack(scope).has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 3}
    )


def test_existing_queue_with_queue_props_raises_naming_both():
    scope = stack()
    with pytest.raises(ConstructValidationError, match="existing_queue and queue_props"):
        dispatcher(
            scope,
            existing_queue=sqs.Queue(scope, "Mine"),
            queue_props={"retention_period": cdk.Duration.days(1)},
        )


def test_token_valued_arguments_pass_validation():
    scope = stack()
    repository = cdk.CfnParameter(scope, "Repository").value_as_string
    batch_size = cdk.CfnParameter(scope, "BatchSize", type="Number").value_as_number
    dispatcher(scope, github_repository=repository, batch_size=batch_size)
    Template.from_stack(scope).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"GITHUB_REPOSITORY": {"Ref": "Repository"}})
            }
        },
    )


@pytest.mark.parametrize("construct", [RetrainingDispatcher, DriftMonitor])
def test_dispatch_target_fields_are_keyword_arguments_of_both_constructs(construct):
    """``DispatchTarget.from_arguments(locals())`` reads the construct's arguments by name."""
    parameters = inspect.signature(construct.__init__).parameters
    for field in dataclasses.fields(DispatchTarget):
        assert parameters[field.name].kind is inspect.Parameter.KEYWORD_ONLY


def test_dispatch_target_from_arguments_takes_its_fields_and_ignores_the_rest():
    arguments = {
        "self": object(),
        "target": "sagemaker",
        "github_repository": None,
        "github_token_secret": None,
        "github_api_url": "https://api.github.com",
        "event_type": "new-data-arrived",
        "pipeline_name": "Fraud-Retrain",
        "data_prefix": "incoming/",
    }
    dispatch = DispatchTarget.from_arguments(arguments)
    assert dispatch.environment() == {"SAGEMAKER_PIPELINE_NAME": "Fraud-Retrain"}
    del arguments["pipeline_name"]
    with pytest.raises(KeyError, match="pipeline_name"):
        DispatchTarget.from_arguments(arguments)
