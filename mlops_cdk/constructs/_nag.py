"""Acknowledging cdk-nag findings on the narrowest construct, always with a reason."""

from __future__ import annotations

import json

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


def acknowledge_resolved(
    scope: IConstruct, rule: str, resource: str, reason: str, suffix: str = ""
) -> None:
    """Acknowledge an IAM5 ``[Resource::...]`` finding whose ARN comes from another stack.

    cdk-nag names such a finding by the resolved cross-stack reference (e.g. an
    ``Fn::GetStackOutput``), which exists only once CDK has wired the stacks together. This
    defers the acknowledgement to construct validation, which runs after that wiring and
    before cdk-nag, and renders the id the way cdk-nag does (compact JSON for intrinsics).
    ``rule`` is e.g. ``AwsSolutions-IAM5``; the id becomes ``rule[Resource::<arn><suffix>]``.
    """

    @jsii.implements(IValidation)
    class _Deferred:
        def validate(self) -> list[str]:
            resolved = Stack.of(scope).resolve(resource)
            rendered = resolved if isinstance(resolved, str) else _render(resolved)
            acknowledge(scope, f"{rule}[Resource::{rendered}{suffix}]", reason)
            return []

    scope.node.add_validation(_Deferred())


def _render(value: object) -> str:
    if isinstance(value, dict) and list(value) == ["Fn::Join"] and value["Fn::Join"][0] == "":
        return "".join(p if isinstance(p, str) else _render(p) for p in value["Fn::Join"][1])
    return json.dumps(value, separators=(",", ":"))
