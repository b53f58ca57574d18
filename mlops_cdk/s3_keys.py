"""The S3 key-prefix rule, shared by config and the constructs that take a prefix."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_cdk.constructs._props import ConstructValidator

KEY_PREFIX_PROBLEM = "must end with '/' and not start with one"
"""What is wrong with a value :func:`is_key_prefix` rejects."""


def is_key_prefix(value: str) -> bool:
    """Whether ``value`` is a key prefix as the kit writes them, e.g. ``incoming/``."""
    return value.endswith("/") and not value.startswith("/")


def check_key_prefix(check: ConstructValidator, argument: str, value: str, example: str) -> None:
    """Record ``argument = value`` on ``check`` unless it is a key prefix (or a token)."""
    check.check(argument, value, is_key_prefix, KEY_PREFIX_PROBLEM, f"e.g. {example!r}")
