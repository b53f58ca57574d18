"""RetrainingStack / RetrainingDispatcher in the platform: rule, queues, alarms, ESM, schedule, IAM."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from mlops_cdk.config import load_settings
from mlops_cdk.platform import add_security_checks, build_platform
from mlops_cdk.versions import POWERTOOLS_LAYER_VERSION
from tests.conftest import CDK_JSON_CONTEXT

DRIFT_MONITOR = "DriftMonitor"
"""Logical-id prefix of the drift check the stack also hosts (tests/stacks/test_drift_wiring.py)."""


def without_drift_monitor(template: dict) -> Template:
    """The dispatcher's part of the stack: the drift monitor's resources and output left out."""
    return Template.from_json(
        {
            **template,
            "Resources": {
                key: value
                for key, value in template["Resources"].items()
                if not key.startswith(DRIFT_MONITOR)
            },
            "Outputs": {
                key: value
                for key, value in template.get("Outputs", {}).items()
                if not key.startswith("DriftCheck")
            },
        }
    )


def dispatcher_template(s) -> Template:
    return without_drift_monitor(s.template(s.stacks.retraining).to_json())


def only(t: Template, resource_type: str, props: dict | None = None) -> dict:
    found = t.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, (resource_type, list(found))
    return next(iter(found.values()))


def statements(t: Template) -> list[dict]:
    return [
        st
        for policy in t.find_resources("AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else a


def logical_id(t: Template, resource_type: str, props: dict) -> str:
    found = t.find_resources(resource_type, {"Properties": props})
    assert len(found) == 1, (resource_type, list(found))
    return next(iter(found))


@pytest.fixture(scope="module")
def sagemaker_target(tmp_path_factory):
    """The whole app, under cdk-nag, with ``retraining.target = sagemaker``."""
    outdir = tmp_path_factory.mktemp("cdk-retrain-sagemaker")
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(outdir))
    settings = load_settings({"env": "dev"}, {}, {"retraining": {"target": "sagemaker"}})
    stacks = build_platform(app, settings)
    add_security_checks(app)
    app.synth()
    template = json.loads((outdir / f"{stacks.retraining.artifact_id}.template.json").read_text())
    return settings, without_drift_monitor(template)


def test_rule_matches_object_created_under_the_prefix_of_the_data_bucket(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    rule = only(t, "AWS::Events::Rule")["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "incoming/"}]}
    # The bucket name comes from the storage stack, never a literal.
    (bucket_name,) = pattern["detail"]["bucket"]["name"]
    assert s.stacks.storage.stack_name in json.dumps(bucket_name)


def test_rule_targets_the_queue_with_its_own_dead_letter_queue(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    queue = logical_id(t, "AWS::SQS::Queue", {"RedrivePolicy": Match.any_value()})
    (target,) = only(t, "AWS::Events::Rule")["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
    delivery_dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert delivery_dlq != queue
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    # EventBridge may send to both queues, only on behalf of this rule.
    for queue_id in (queue, delivery_dlq):
        policy = only(t, "AWS::SQS::QueuePolicy", {"Queues": [{"Ref": queue_id}]})
        allow = [
            st
            for st in policy["Properties"]["PolicyDocument"]["Statement"]
            if st["Effect"] == "Allow"
        ]
        assert allow and all(
            st["Principal"] == {"Service": "events.amazonaws.com"}
            and "aws:SourceArn" in st["Condition"]["ArnEquals"]
            for st in allow
        )


def test_queues_are_encrypted_ssl_only_with_redrive_from_config(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    queues = t.find_resources("AWS::SQS::Queue")
    assert len(queues) == 3  # queue, its DLQ, the delivery DLQ
    for q in queues.values():
        assert q["Properties"]["SqsManagedSseEnabled"] is True
    main = only(t, "AWS::SQS::Queue", {"RedrivePolicy": Match.any_value()})["Properties"]
    assert main["RedrivePolicy"]["maxReceiveCount"] == s.settings.retraining.max_receive_count
    dlq_id = main["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert queues[dlq_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    function = only(t, "AWS::Lambda::Function")["Properties"]
    window = s.settings.retraining.batching_window_seconds
    assert main["VisibilityTimeout"] >= 6 * function["Timeout"] + window
    for policy in t.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for st in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_each_dead_letter_queue_raises_an_alarm_on_the_first_message(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    alarms = t.find_resources("AWS::CloudWatch::Alarm")
    watched = set()
    for alarm in alarms.values():
        p = alarm["Properties"]
        assert p["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert p["Namespace"] == "AWS/SQS"
        assert p["Threshold"] == 0
        assert p["ComparisonOperator"] == "GreaterThanThreshold"
        assert p["TreatMissingData"] == "notBreaching"
        watched.add(p["Dimensions"][0]["Value"]["Fn::GetAtt"][0])
    main = only(t, "AWS::SQS::Queue", {"RedrivePolicy": Match.any_value()})["Properties"]
    (target,) = only(t, "AWS::Events::Rule")["Properties"]["Targets"]
    assert watched == {
        main["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0],
    }


@pytest.mark.parametrize(("env", "window"), [("dev", 60), ("prod", 300)])
def test_event_source_debounces_with_window_and_batch_from_config(synth, env, window):
    s = synth(env)
    t = dispatcher_template(s)
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": s.settings.retraining.batch_size,
            "MaximumBatchingWindowInSeconds": window,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
    )
    assert s.settings.retraining.batch_size == 10000


def test_function_is_arm64_latest_python_traced_with_powertools(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "retrain_dispatch.handler.handler",
            "TracingConfig": {"Mode": "Active"},
            "Timeout": 300,
            "MemorySize": 256,
            "Layers": [
                "arn:aws:lambda:us-east-1:017000801446:layer:"
                f"AWSLambdaPowertoolsPythonV3-python314-arm64:{POWERTOOLS_LAYER_VERSION}"
            ],
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "DISPATCH_TARGET": "github",
                        "GITHUB_REPOSITORY": s.settings.retraining.github_repository,
                        "GITHUB_TOKEN_SECRET_ARN": Match.any_value(),
                        "GITHUB_API_URL": "https://api.github.com",
                        "GITHUB_EVENT_TYPE": "new-data-arrived",
                        "DATA_PREFIX": "incoming/",
                        "IDEMPOTENCY_TABLE_NAME": Match.any_value(),
                        "POWERTOOLS_SERVICE_NAME": "retrain-dispatch",
                        "POWERTOOLS_METRICS_NAMESPACE": "MlopsCdk/Retraining",
                        "POWERTOOLS_LOG_LEVEL": "INFO",
                    }
                )
            },
        },
    )
    variables = only(t, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert "SAGEMAKER_PIPELINE_NAME" not in variables


@pytest.mark.parametrize(("env", "days"), [("dev", 30), ("prod", 365)])
def test_function_logs_to_its_own_group_with_retention_from_settings(synth, env, days):
    s = synth(env)
    t = dispatcher_template(s)
    group = logical_id(t, "AWS::Logs::LogGroup", {"RetentionInDays": days})
    t.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": {"Ref": group}}}
    )


def test_failed_scheduled_invocations_are_kept_not_dropped(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    (target,) = only(t, "AWS::Events::Rule")["Properties"]["Targets"]
    config = only(t, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert (
        config["DestinationConfig"]["OnFailure"]["Destination"] == target["DeadLetterConfig"]["Arn"]
    )
    assert config["MaximumRetryAttempts"] == 2


def test_nightly_schedule_sends_a_scheduled_event_with_retries_and_dlq(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    schedule = only(t, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Etc/UTC"
    function = logical_id(
        t, "AWS::Lambda::Function", {"Handler": "retrain_dispatch.handler.handler"}
    )
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert "DeadLetterConfig" in target
    event = json.loads(target["Input"])
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.scheduler"
    # Distinct per run, so the handler's idempotency never swallows the next night.
    assert event["id"] == "<aws.scheduler.execution-id>"
    assert event["time"] == "<aws.scheduler.scheduled-time>"
    role = t.find_resources("AWS::IAM::Role")[target["RoleArn"]["Fn::GetAtt"][0]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": s.settings.account}}


@pytest.mark.parametrize(("env", "retained"), [("dev", False), ("prod", True)])
def test_idempotency_table_has_powertools_layout_pitr_and_env_removal(synth, env, retained):
    s = synth(env)
    t = dispatcher_template(s)
    table = only(t, "AWS::DynamoDB::Table")
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["Properties"]["AttributeDefinitions"] == [
        {"AttributeName": "id", "AttributeType": "S"}
    ]
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["DeletionProtectionEnabled"] is retained
    assert table["DeletionPolicy"] == ("Retain" if retained else "Delete")


def test_iam_is_scoped_to_this_stacks_resources_and_the_token_secret(synth):
    s = synth("dev")
    t = dispatcher_template(s)
    sts = statements(t)
    wildcard = [st for st in sts if st["Resource"] == "*"]
    assert [sorted(actions(st)) for st in wildcard] == [
        ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    ]
    assert not any(a.endswith("*") for st in sts for a in actions(st))
    secret_reads = [st for st in sts if "secretsmanager:GetSecretValue" in actions(st)]
    assert len(secret_reads) == 1
    assert s.stacks.secrets.stack_name in json.dumps(secret_reads[0]["Resource"])
    assert not any(a.startswith("sagemaker:") for st in sts for a in actions(st))
    table = logical_id(t, "AWS::DynamoDB::Table", {"BillingMode": "PAY_PER_REQUEST"})
    dynamo = [st for st in sts if any(a.startswith("dynamodb:") for a in actions(st))]
    assert [st["Resource"] for st in dynamo] == [{"Fn::GetAtt": [table, "Arn"]}]


def test_stack_outputs_hold_the_queue_urls_and_the_function_name(synth):
    """Each output's value is found from the resources' wiring, not from the stack's code."""
    s = synth("dev")
    t = dispatcher_template(s)
    (mapping,) = t.find_resources("AWS::Lambda::EventSourceMapping").values()
    queue = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
    function = mapping["Properties"]["FunctionName"]["Ref"]
    queues = t.find_resources("AWS::SQS::Queue")
    redrive = queues[queue]["Properties"]["RedrivePolicy"]
    dead_letter_queue = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    (delivery_dead_letter_queue,) = set(queues) - {queue, dead_letter_queue}
    outputs = t.to_json()["Outputs"]
    # Ref on an SQS queue is its URL; Ref on a function is its name.
    assert {name: outputs[name]["Value"] for name in EXPECTED_OUTPUTS} == {
        "QueueUrl": {"Ref": queue},
        "DeadLetterQueueUrl": {"Ref": dead_letter_queue},
        "DeliveryDeadLetterQueueUrl": {"Ref": delivery_dead_letter_queue},
        "FunctionName": {"Ref": function},
    }


EXPECTED_OUTPUTS = ("QueueUrl", "DeadLetterQueueUrl", "DeliveryDeadLetterQueueUrl", "FunctionName")


def test_idempotency_outlives_every_queues_retention(synth, monkeypatch):
    """A duplicate can arrive as long as any queue keeps a message: remember the dispatch longer.

    The expiry is read from the handler's live Powertools config under the deployed environment;
    the retention from the synthesized queues.
    """
    handler = pytest.importorskip("mlops_cdk.lambdas.retrain_dispatch.handler")
    s = synth("dev")
    t = dispatcher_template(s)
    retention = [
        queue["Properties"].get("MessageRetentionPeriod", 4 * 24 * 3600)  # SQS default: 4 days
        for queue in t.find_resources("AWS::SQS::Queue").values()
    ]
    for name, value in {**deployed_environment(t), "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    handler._runtime.cache_clear()
    try:
        expiry = handler._runtime().idempotency_config.expires_after_seconds
    finally:
        handler._runtime.cache_clear()
    assert max(retention) == 14 * 24 * 3600
    assert expiry >= max(retention)


def test_sagemaker_target_may_start_only_the_conventional_pipeline(sagemaker_target):
    settings, t = sagemaker_target
    assert settings.retraining_pipeline_name == "mlopscdk-dev-retrain"
    variables = only(t, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert variables["DISPATCH_TARGET"] == "sagemaker"
    assert variables["SAGEMAKER_PIPELINE_NAME"] == "mlopscdk-dev-retrain"
    assert not any(k.startswith("GITHUB_") for k in variables)
    sts = statements(t)
    (start,) = [st for st in sts if any(a.startswith("sagemaker:") for a in actions(st))]
    assert start["Action"] == "sagemaker:StartPipelineExecution"
    assert (
        start["Resource"]
        == "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlopscdk-dev-retrain"
    )
    assert not any(a.startswith("secretsmanager:") for st in sts for a in actions(st))


def deployed_environment(t: Template) -> dict[str, str]:
    """The function's variables with CloudFormation references replaced by plausible values."""
    variables = only(t, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    return {k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in variables.items()}


def test_environment_satisfies_the_handler_contract_for_both_targets(synth, sagemaker_target):
    handler = pytest.importorskip(
        "mlops_cdk.lambdas.retrain_dispatch.handler", reason="handler not merged yet"
    )
    s = synth("dev")
    github = handler.Settings.from_env(deployed_environment(dispatcher_template(s)))
    assert (github.target, github.github_repository) == ("github", "example-org/mlops-cdk")
    sagemaker = handler.Settings.from_env(deployed_environment(sagemaker_target[1]))
    assert sagemaker.sagemaker_pipeline_name == "mlopscdk-dev-retrain"


def test_no_reserved_concurrency_by_default_new_accounts_can_deploy(synth):
    """Issue 18: reserving fails on accounts whose concurrency quota is still 10."""
    s = synth("dev")
    t = dispatcher_template(s)
    assert s.settings.retraining.reserved_concurrency is None
    for function in t.find_resources("AWS::Lambda::Function").values():
        assert "ReservedConcurrentExecutions" not in function["Properties"]
    t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"ScalingConfig": {"MaximumConcurrency": 2}}
    )
