"""Acknowledging cdk-nag findings on the narrowest construct, always with a reason."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct, IValidation


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` only."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_stack_singleton(scope: IConstruct, id_prefix: str, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` on a CDK-internal singleton (e.g. a custom-resource handler).

    CDK creates such handlers once per stack with a fixed id; we acknowledge on that construct
    only, never on the whole stack.
    """
    stack = Stack.of(scope)
    for child in stack.node.children:
        if child.node.id.startswith(id_prefix):
            acknowledge(child, rule, reason)


def acknowledge_reference(scope: IConstruct, rule_template: str, value: str, reason: str) -> None:
    """Acknowledge a finding whose id embeds a reference resolved only at synthesis.

    cdk-nag names a wildcard resource by its flattened CloudFormation reference, e.g. a
    cross-stack bucket ARN becomes the export name of an ``Fn::ImportValue``, which exists only
    after CDK has resolved references. This registers a construct validation (which runs after
    that, before the validation plugins) that resolves ``value``, flattens it as cdk-nag does and
    acknowledges ``rule_template.format(ref)`` on ``scope`` only, e.g.
    ``acknowledge_reference(role, "AwsSolutions-IAM5[Resource::{}/data-capture/*]", arn, ...)``.
    """
    scope.node.add_validation(_ReferenceAcknowledgment(scope, rule_template, value, reason))


@jsii.implements(IValidation)
class _ReferenceAcknowledgment:
    def __init__(self, scope: IConstruct, rule_template: str, value: str, reason: str) -> None:
        self._scope, self._rule, self._value, self._reason = scope, rule_template, value, reason

    def validate(self) -> list[str]:
        resolved = Stack.of(self._scope).resolve(self._value)
        acknowledge(self._scope, self._rule.format(flatten_reference(resolved)), self._reason)
        return []


def flatten_reference(node: Any) -> str:
    """A resolved CloudFormation value flattened the way cdk-nag names it in finding ids."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(flatten_reference(i) for i in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def acknowledge_findings(
    scope: IConstruct, rule: str, findings: Iterable[str], reason: str
) -> None:
    """Acknowledge each exact finding of a granular rule (cdk-nag 3 has no prefix matching).

    ``findings`` are cdk-nag finding ids such as ``Action::s3:GetObject*``; an id that does not
    occur acknowledges nothing, and one that is missing still fails synth, naming the id.
    """
    for finding in findings:
        acknowledge(scope, f"AwsSolutions::{rule}[{finding}]", reason)


def attribute_reference(consumer: Stack, resource: IConstruct, attribute: str) -> str:
    """How cdk-nag prints ``resource``'s ``attribute`` in a policy of ``consumer``.

    In the same stack it is ``<LogicalId.Attribute>``; across stacks CDK 2.275 references a
    ``Publish/Output<GetAtt>`` output of the producer through ``Fn::GetStackOutput``, whose
    logical id is CDK's ``makeUniqueId`` of that path (human part + MD5 suffix), reproduced here.
    """
    producer = Stack.of(resource)
    cfn = resource.node.default_child if not isinstance(resource, CfnElement) else resource
    logical_id = producer.resolve(cfn.logical_id)  # type: ignore[union-attr]
    if producer is consumer:
        return f"<{logical_id}.{attribute}>"
    get_att = json.dumps({"Fn::GetAtt": [logical_id, attribute]}, separators=(",", ":"))
    path = ["Publish", f"Output{get_att}"]
    digest = hashlib.md5("/".join(path).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    output = "".join(re.sub(r"[^A-Za-z0-9]", "", part) for part in path) + digest
    reference = {
        "Fn::GetStackOutput": {
            "StackName": producer.stack_name,
            "Region": producer.region,
            "OutputName": output,
        }
    }
    return json.dumps(reference, separators=(",", ":"))


def bucket_grant_findings(
    consumer: Stack, bucket: IConstruct, prefixes: Iterable[str], *, write: bool
) -> list[str]:
    """The IAM5 findings of ``bucket.grant_read``/``grant_read_write(role, prefix + "*")``.

    CDK's grants use action groups (``s3:GetObject*``) and, with a customer-managed key,
    ``kms:GenerateDataKey*``/``kms:ReEncrypt*``; each prefix adds an object wildcard.
    """
    findings = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"]
    if write:
        findings += ["Action::s3:DeleteObject*", "Action::s3:Abort*"]
    if getattr(bucket, "encryption_key", None) is not None:
        findings += ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"]
    arn = attribute_reference(consumer, bucket, "Arn")
    return findings + [f"Resource::{arn}/{prefix}*" for prefix in prefixes]


def nag_arn(stack: Stack, arn: str) -> str:
    """An ARN built with ``Stack.format_arn`` as cdk-nag prints it (partition as a pseudo)."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in parts)
