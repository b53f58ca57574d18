"""Acknowledging cdk-nag findings on the narrowest construct, always with a reason."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
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
    """Acknowledge ``rule_template.format(value)``, where ``value`` holds a CDK reference.

    e.g. ``acknowledge_reference(role, "AwsSolutions-IAM5[Resource::{}/data/*]", arn, reason)``;
    see :func:`acknowledge_findings` for how the reference is named.
    """
    scope.node.add_validation(_DeferredAcknowledgment(scope, [rule_template.format(value)], reason))


@jsii.implements(IValidation)
class _DeferredAcknowledgment:
    """Acknowledges ids that contain references, once CDK has resolved them."""

    def __init__(self, scope: IConstruct, ids: list[str], reason: str) -> None:
        self._scope, self._ids, self._reason = scope, ids, reason

    def validate(self) -> list[str]:
        stack = Stack.of(self._scope)
        for rule in self._ids:
            acknowledge(self._scope, flatten_reference(stack.resolve(rule)), self._reason)
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

    ``findings`` are cdk-nag finding ids such as ``Action::s3:GetObject*`` or
    ``f"Resource::{bucket.bucket_arn}/incoming/*"``. cdk-nag names a resource by its flattened
    CloudFormation value (a cross-stack reference, for one, exists only after CDK has wired the
    stacks), so the ids are resolved and flattened in a construct validation, which runs after
    that wiring and before the validation plugins. An id that does not occur acknowledges
    nothing; a finding left unacknowledged still fails synth, naming its id.
    """
    ids = [f"AwsSolutions::{rule}[{finding}]" for finding in findings]
    scope.node.add_validation(_DeferredAcknowledgment(scope, ids, reason))


def bucket_grant_findings(bucket: s3.IBucket, prefixes: Iterable[str], *, write: bool) -> list[str]:
    """The IAM5 findings of ``bucket.grant_read``/``grant_read_write(role, prefix + "*")``.

    CDK's grants use action groups (``s3:GetObject*``) and, with a customer-managed key,
    ``kms:GenerateDataKey*``/``kms:ReEncrypt*``; each prefix adds an object wildcard.
    """
    findings = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"]
    if write:
        findings += ["Action::s3:DeleteObject*", "Action::s3:Abort*"]
    if bucket.encryption_key is not None:
        findings += ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"]
    return findings + [f"Resource::{bucket.bucket_arn}/{prefix}*" for prefix in prefixes]
