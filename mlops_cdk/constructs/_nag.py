"""Acknowledging cdk-nag findings on the narrowest construct, always with a reason."""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
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
