"""Acknowledging cdk-nag findings on the narrowest construct, always with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


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
