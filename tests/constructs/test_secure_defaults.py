"""The shared secure defaults every construct's keys and log groups come from."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON
from mlops_cdk.constructs._kms import build_encryption_key, build_logs_encryption_key
from mlops_cdk.constructs._logs import build_log_group
from tests.conftest import CDK_JSON_CONTEXT


def new_stack() -> cdk.Stack:
    app = cdk.App(context=CDK_JSON_CONTEXT)
    return cdk.Stack(app, "Lib", env=cdk.Environment(account="111122223333", region="eu-west-1"))


def logical_id(construct: Construct) -> str:
    return Stack.of(construct).get_logical_id(construct.node.default_child)


@pytest.mark.parametrize(
    ("removal_policy", "deletion_policy"),
    [(cdk.RemovalPolicy.RETAIN, "Retain"), (cdk.RemovalPolicy.DESTROY, "Delete")],
)
def test_a_key_rotates_and_follows_the_removal_policy(removal_policy, deletion_policy):
    stack = new_stack()
    build_encryption_key(stack, "Key", description="Encrypts x", removal_policy=removal_policy)
    Template.from_stack(stack).has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like(
                {"Description": "Encrypts x", "EnableKeyRotation": True}
            ),
            "DeletionPolicy": deletion_policy,
        },
    )


def test_a_logs_key_is_usable_by_this_regions_cloudwatch_logs_for_log_groups_only():
    stack = new_stack()
    key = build_logs_encryption_key(
        stack, "Key", description="Encrypts logs", removal_policy=cdk.RemovalPolicy.RETAIN
    )
    resource = Template.from_stack(stack).find_resources("AWS::KMS::Key")[logical_id(key)]
    (logs_statement,) = (
        statement
        for statement in resource["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"].get("Service") == "logs.eu-west-1.amazonaws.com"
    )
    condition = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert "log-group:*" in str(condition)
    assert "kms:Decrypt" in logs_statement["Action"]
    assert resource["Properties"]["EnableKeyRotation"] is True


def test_a_log_group_without_a_key_has_retention_and_skips_the_kms_check_with_a_reason():
    stack = new_stack()
    build_log_group(
        stack,
        "Logs",
        retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        log_group_name="/x/y",
    )
    Template.from_stack(stack).has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"LogGroupName": "/x/y", "RetentionInDays": 7},
            "DeletionPolicy": "Delete",
            "Metadata": {
                "checkov": {"skip": [{"id": "CKV_AWS_158", "comment": LOG_GROUP_KMS_REASON}]}
            },
        },
    )


def test_a_log_group_with_a_key_is_encrypted_and_keeps_the_kms_check():
    stack = new_stack()
    key = build_logs_encryption_key(
        stack, "LogsKey", description="Encrypts logs", removal_policy=cdk.RemovalPolicy.RETAIN
    )
    build_log_group(
        stack,
        "Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        encryption_key=key,
    )
    (log_group,) = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logical_id(key), "Arn"]}
    assert "checkov" not in log_group.get("Metadata", {})
