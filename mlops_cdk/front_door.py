"""The front-door rule: config and :class:`EksModelServing` both call :func:`front_door_problem`.

It lives in this CDK-free module so settings validate without loading the CDK, the way
``mlops_cdk.fargate`` holds the pod sizes both config and the cost estimate use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

FrontDoor = Literal["api", "public_alb"]
FRONT_DOORS: tuple[str, ...] = ("api", "public_alb")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
FRONT_DOOR_FIELDS = ("front_door", "certificate_arn", "domain_name", "waf_acl_arn", "inbound_cidrs")
"""The settings the rule reads, named as :func:`front_door_problem`'s keyword arguments and as
``EksSettings`` fields, which config passes by these names."""


def front_door_problem(
    *,
    front_door: str,
    certificate_arn: str | None,
    domain_name: str | None,
    waf_acl_arn: str | None,
    inbound_cidrs: Sequence[str],
    production: bool,
    field_prefix: str = "eks",
) -> str | None:
    """One message naming ``front_door``, every missing field and the fix; ``None`` if valid.

    ``api`` (the default) needs nothing: the internal ALB is reached only through the HTTP API.
    ``public_alb`` puts the ALB on the internet, so it needs ``certificate_arn`` and
    ``domain_name`` (HTTPS only) and, when ``production``, a WAF web ACL or ``inbound_cidrs``
    narrower than the whole internet.
    """
    prefix = f"{field_prefix}." if field_prefix else ""
    if front_door not in FRONT_DOORS:
        return (
            f"{prefix}front_door = {front_door!r} is not valid (or -c front_door=...); "
            f"choose one of {', '.join(FRONT_DOORS)}"
        )
    if front_door == "api":
        return None
    missing = [
        name
        for name, value in (("certificate_arn", certificate_arn), ("domain_name", domain_name))
        if not value
    ]
    open_to_all = not inbound_cidrs or any(cidr in OPEN_CIDRS for cidr in inbound_cidrs)
    if production and not waf_acl_arn and open_to_all:
        missing.append("waf_acl_arn or inbound_cidrs (restricted)")
    if not missing:
        return None
    return (
        f"{prefix}front_door = 'public_alb': puts the model's load balancer on the "
        f"internet and needs {', '.join(f'{prefix}{name}' for name in missing)}; set "
        "certificate_arn (an ACM certificate covering domain_name) and domain_name"
        + (", and in prod waf_acl_arn or inbound_cidrs without 0.0.0.0/0" if production else "")
        + ", or use front_door = 'api' (the default: one authenticated HTTPS API in front "
        "of an internal load balancer)"
    )
