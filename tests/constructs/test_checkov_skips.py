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


def skipped(resource: dict, check_id: str) -> bool:
    skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    return any(skip["id"] == check_id and skip["comment"].strip() for skip in skips)


PROPERTY_RULES = {
    "AWS::Lambda::Function": (
        "ReservedConcurrentExecutions",
        "CKV_AWS_115",
        "reserved concurrency",
    ),
    "AWS::Logs::LogGroup": ("KmsKeyId", "CKV_AWS_158", "KMS key"),
}
"""Resource type: the property checkov wants, its check id, and what is missing without it."""


@pytest.mark.parametrize(
    ("env", "serving"), [("prod", "eks"), ("prod", "sagemaker"), ("dev", "eks")]
)
def test_what_checkov_flags_is_fixed_or_skipped_with_a_reason(synth, env, serving):
    """The findings `make scan` (ci.yml) fails on, checked here too: `make test` has no checkov.

    Every function reserves concurrency or says why not (CKV_AWS_115), every log group has a key
    or says why not (CKV_AWS_158), and every plain-HTTP listener redirects or says why it may
    (CKV_AWS_2, CKV_AWS_103).
    """
    built = synth(env, serving)
    problems = []
    for stack in built.stacks.all():
        resources = built.template(stack).to_json()["Resources"]
        for logical_id, resource in resources.items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            where = f"{stack.stack_name}/{logical_id}"
            if kind in PROPERTY_RULES:
                required, check_id, missing = PROPERTY_RULES[kind]
                if required not in properties and not skipped(resource, check_id):
                    problems.append(f"{where}: no {missing} and no {check_id} reason")
            if kind == "AWS::ElasticLoadBalancingV2::Listener" and properties["Protocol"] == "HTTP":
                redirects = all(a["Type"] == "redirect" for a in properties["DefaultActions"])
                if not redirects and not (
                    skipped(resource, "CKV_AWS_2") and skipped(resource, "CKV_AWS_103")
                ):
                    problems.append(f"{where}: plain HTTP without a redirect or a reason")
    assert not problems, "\n".join(problems)
