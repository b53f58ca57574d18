"""Props merging shared by the constructs (Solutions Constructs style)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations
from constructs import Construct


def merge_props(
    scope: Construct,
    defaults: Mapping[str, Any],
    user_props: Mapping[str, Any] | None,
    required: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge construct props: secure defaults < user props < what the construct requires.

    A user prop that a required value overrides is reported as a synth warning on ``scope``,
    naming the keys, so a setting never disappears silently.
    """
    user_props = dict(user_props or {})
    required = dict(required or {})
    overridden = sorted(k for k in user_props if k in required and user_props[k] != required[k])
    if overridden:
        Annotations.of(scope).add_warning_v2(
            "mlops-cdk:props-overridden",
            f"{scope.node.path}: props {', '.join(overridden)} are set by the construct and "
            "were ignored",
        )
    return {**defaults, **user_props, **required}
