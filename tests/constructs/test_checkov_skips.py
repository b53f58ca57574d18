"""skip_checkov: one entry per check on the resource itself, merged, never duplicated."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from mlops_cdk.constructs._checkov import skip_checkov


def test_skips_merge_on_the_default_child_without_duplicates():
    stack = cdk.Stack(cdk.App(), "S")
    queue = sqs.Queue(stack, "Q")
    skip_checkov(queue, "CKV_AWS_27", "first reason")
    skip_checkov(queue, "CKV_AWS_27", "repeated")
    skip_checkov(queue, "CKV_AWS_999", "second reason")
    metadata = queue.node.default_child.get_metadata("checkov")
    assert metadata == {
        "skip": [
            {"id": "CKV_AWS_27", "comment": "first reason"},
            {"id": "CKV_AWS_999", "comment": "second reason"},
        ]
    }


def test_a_construct_without_a_resource_is_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(TypeError, match="no CloudFormation resource"):
        skip_checkov(cdk.Stack(stack.node.scope, "Other"), "CKV_AWS_1", "reason")
