"""The canary rule and weights: config and :class:`EksModelServing` both call them.

CDK-free, like ``mlops_cdk.front_door``, so settings and ``scripts/canary.py`` use them without
loading the CDK.
"""

from __future__ import annotations

CANARY_SUFFIX = "-canary"
"""Appended to the model name to name the canary's Kubernetes objects."""
ALARM_KINDS = ("error-rate", "p99-latency")
"""The canary target group's alarms, in :func:`canary_alarm_name`."""


def canary_problems(
    *,
    image_tag: str,
    canary_image_tag: str | None,
    canary_percent: int | None,
    field_prefix: str = "",
) -> list[str]:
    """Every problem of a canary setting, each naming the field and the fix; ``[]`` if valid.

    A canary needs both ``canary_image_tag`` and ``canary_percent`` (0-100), and a tag other
    than the stable ``image_tag``.
    """
    prefix = f"{field_prefix}." if field_prefix else ""
    problems = []
    if canary_percent is not None and not 0 <= canary_percent <= 100:
        problems.append(
            f"{prefix}canary_percent = {canary_percent}: must be 0-100 (the share of requests "
            "the canary gets); set e.g. canary_percent = 10 (-c canary_percent=10)"
        )
    if canary_image_tag is not None and canary_percent is None:
        problems.append(
            f"{prefix}canary_image_tag = {canary_image_tag!r}: is set but canary_percent is "
            "not; set canary_percent (0-100, e.g. -c canary_percent=10) or remove "
            "canary_image_tag"
        )
    if canary_percent is not None and canary_image_tag is None:
        problems.append(
            f"{prefix}canary_percent = {canary_percent}: is set but canary_image_tag is not; "
            "set canary_image_tag to the new image's tag (-c canary_image_tag=<tag>) or remove "
            "canary_percent"
        )
    if canary_image_tag is not None and canary_image_tag == image_tag:
        problems.append(
            f"{prefix}canary_image_tag = {canary_image_tag!r}: is the stable image_tag; set it "
            "to the new tag under test, or remove the canary settings to deploy image_tag alone"
        )
    return problems


def canary_weights(canary_percent: int) -> tuple[int, int]:
    """The listener's ``(stable, canary)`` weights: ``100 - canary_percent`` and the percent."""
    if not 0 <= canary_percent <= 100:
        raise ValueError(f"canary_percent = {canary_percent}; use 0-100")
    return 100 - canary_percent, canary_percent


def canary_alarm_name(env_name: str, kind: str) -> str:
    """The name of a canary alarm, e.g. ``mlops-cdk-prod-canary-error-rate``.

    ``PlatformMonitoring`` creates them under these names and ``scripts/canary.py`` reads them.
    """
    if kind not in ALARM_KINDS:
        raise ValueError(f"kind = {kind!r}; use one of {', '.join(ALARM_KINDS)}")
    return f"mlops-cdk-{env_name}-canary-{kind}"
