"""Issue 15: resource policies that let an AWS service in carry conditions naming this account
(``aws:SourceAccount`` / ``aws:SourceArn``, or the CloudWatch Logs encryption context), so no
other account's alarm, budget or log group can use them; the pipeline reads only its own code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stacks.test_cicd_training_stacks import policy_of, sagemaker_target  # noqa: F401

POLICY_PROPERTY = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
}
"""Key, topic, queue and log-group policies: where a service principal gets access."""
GUARDS = ("aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext:aws:logs:arn")
ACCOUNT = "123456789012"


def service_statements(outdir: Path) -> Iterator[tuple[str, str, str, dict]]:
    """``(template, logical id, type, statement)`` of each statement granting a service."""
    for path in sorted(outdir.glob("*.template.json")):
        resources = json.loads(path.read_text()).get("Resources", {})
        for logical_id, resource in resources.items():
            key = POLICY_PROPERTY.get(resource["Type"])
            if key is None:
                continue
            document = resource["Properties"][key]
            if isinstance(document, str):
                document = json.loads(document)
            for statement in document["Statement"]:
                principal = statement.get("Principal", {})
                if isinstance(principal, dict) and "Service" in principal:
                    yield path.name, logical_id, resource["Type"], statement


def condition_keys(statement: dict) -> set[str]:
    return {key for block in statement.get("Condition", {}).values() for key in block}


@pytest.mark.parametrize("env", ["dev", "prod"])  # sagemaker and eks serving by default
def test_every_service_principal_in_a_key_topic_queue_or_log_policy_is_conditioned(synth, env):
    s = synth(env)
    found = list(service_statements(s.outdir))
    assert len(found) >= 4  # the alarm key, its topic policy, the flow-log key, the queues
    unguarded = [
        f"{template} {logical_id}: {statement['Principal']['Service']}"
        for template, logical_id, _, statement in found
        if not condition_keys(statement) & set(GUARDS)
    ]
    assert unguarded == []


def statements_of(s, resource_type: str, logical_prefix: str) -> list[dict]:
    return [
        statement
        for _, logical_id, kind, statement in service_statements(s.outdir)
        if kind == resource_type and logical_id.startswith(logical_prefix)
    ]


def test_the_alarm_key_and_topic_admit_only_this_accounts_alarms_and_budgets(synth):
    s = synth("dev")
    sources = {
        "cloudwatch.amazonaws.com": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*",
        "budgets.amazonaws.com": f"arn:aws:budgets::{ACCOUNT}:budget/*",
    }
    key = statements_of(s, "AWS::KMS::Key", "AlarmsTopicKey")
    topic = statements_of(s, "AWS::SNS::TopicPolicy", "AlarmsTopicPolicy")
    assert {st["Principal"]["Service"] for st in key} == set(sources)
    assert [st["Principal"]["Service"] for st in topic] == ["budgets.amazonaws.com"]
    for statement in key + topic:
        source = sources[statement["Principal"]["Service"]]
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": source},
        }


def test_the_flow_log_key_serves_only_this_accounts_log_groups(synth):
    s = synth("dev")
    (statement,) = statements_of(s, "AWS::KMS::Key", "NetworkFlowLogsKey")
    assert statement["Principal"]["Service"] == "logs.us-east-1.amazonaws.com"
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"
        }
    }


def test_the_pipeline_role_reads_its_code_objects_not_the_whole_assets_bucket(sagemaker_target):  # noqa: F811
    _, stacks, template = sagemaker_target
    t = template(stacks.training)
    (pipeline,) = t.find_resources("AWS::SageMaker::Pipeline").values()
    body = json.dumps(pipeline["Properties"])
    statements = policy_of(t, "SageMaker pipeline")
    asset_arns = [
        resource
        for statement in statements
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if isinstance(resource, str) and re.search(r":::cdk-\w+-assets-", resource)
    ]
    objects = [arn for arn in asset_arns if "/" in arn]
    assert len(objects) == 3  # preprocess, train, evaluate
    for arn in objects:
        key = arn.split("/", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{64}\.\w+", key), arn
        assert key in body  # the object the pipeline definition names
    assert not [arn for arn in asset_arns if arn.endswith("*")]
