"""Build validated :class:`Settings` from CDK context, the process environment and overrides.

CDK context values arrive as strings (``-c key=value``): they are parsed explicitly for the
field they set (``true``/``false`` for booleans, comma lists for list fields, digits for whole
numbers). Nothing else is coerced: overrides and ``ENVIRONMENTS`` must carry the right types.
"""

from __future__ import annotations

import copy
import os
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mlops_cdk.config.environments import DEFAULT_ENV, ENVIRONMENTS
from mlops_cdk.config.errors import ConfigError, show, translate
from mlops_cdk.config.models import Settings
from mlops_cdk.config.types import OFFLINE_ACCOUNT

__all__ = [
    "CONTEXT_FIELDS",
    "deep_merge",
    "load_settings",
    "parse_context_value",
    "settings_from_dict",
]

CONTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "serving": ("serving",),
    "image_tag": ("image_tag",),
    "canary_image_tag": ("canary_image_tag",),
    "canary_percent": ("canary_percent",),
    "image_digest": ("image_digest",),
    "serving_engine": ("eks", "serving_engine"),
    "availability_zones": ("availability_zones",),
    "retain_data": ("retain_data",),
    "front_door": ("eks", "front_door"),
    "admin_principal_arns": ("eks", "admin_principal_arns"),
    "github_repository": ("retraining", "github_repository"),
    "github_oidc_provider_arn": ("cicd", "existing_oidc_provider_arn"),
    "github_bind_workflow": ("cicd", "bind_workflow"),
}
"""Context keys (besides ``env``, ``account`` and ``region``) and the field each one sets."""

_CONTEXT_HINTS = {".".join(path): f"or -c {key}=..." for key, path in CONTEXT_FIELDS.items()}


def _annotation(path: tuple[str, ...]) -> Any:
    model: type[BaseModel] = Settings
    annotation: Any = None
    for name in path:
        annotation = model.model_fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return annotation


def parse_context_value(value: Any, path: tuple[str, ...]) -> Any:
    """A ``-c`` string parsed for the field at ``path``; anything else is returned unchanged.

    ``true``/``false`` become booleans, ``a,b`` a tuple for list fields, digit strings whole
    numbers for integer fields. Other strings stay strings, so validation reports them.
    """
    if not isinstance(value, str):
        return value
    annotation = _annotation(path)
    if annotation is bool and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if typing.get_origin(annotation) is tuple:
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if int in (annotation, *typing.get_args(annotation)) and value.strip().isdigit():
        return int(value.strip())
    return value


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings recursively, everything else replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _environment(context: Mapping[str, Any]) -> str:
    env_name = context.get("env") or DEFAULT_ENV
    if not isinstance(env_name, str) or env_name not in ENVIRONMENTS:
        raise ConfigError(
            [
                f"env = {show(env_name)}: is not a known environment; use -c env=<one of "
                f"{', '.join(ENVIRONMENTS)}>"
            ]
        )
    return env_name


def _apply_context(values: dict[str, Any], context: Mapping[str, Any]) -> None:
    for key, path in CONTEXT_FIELDS.items():
        if context.get(key) in (None, ""):
            continue
        section = values
        for name in path[:-1]:
            if not isinstance(section.get(name), dict):
                section[name] = {}
            section = section[name]
        section[path[-1]] = parse_context_value(context[key], path)


def load_settings(
    context: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings from CDK context and the process environment.

    Args:
        context: CDK context values (``app.node.try_get_context``), e.g. ``{"env": "prod"}``.
        environ: Environment variables; defaults to ``os.environ``. ``CDK_DEFAULT_ACCOUNT`` and
            ``CDK_DEFAULT_REGION`` are used when context names no account or region.
        overrides: Values deep-merged over the environment's defaults, e.g.
            ``{"network": {"nat_gateways": 2}}``; for library users and tests.

    Raises:
        ConfigError: Listing every invalid field with its value and the fix.
    """
    environ = os.environ if environ is None else environ
    env_name = _environment(context)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            [f"{env_name} overrides = {show(overrides)}: must be a mapping; e.g. {{'eks': {{}}}}"]
        )
    values = deep_merge(copy.deepcopy(ENVIRONMENTS[env_name]), overrides or {})
    values["env_name"] = env_name
    region = context.get("region") or environ.get("CDK_DEFAULT_REGION") or values.get("region")
    zones = values.get("availability_zones")
    if region != values.get("region") and isinstance(zones, tuple | list):
        values["availability_zones"] = tuple(
            f"{region}{letter}" for letter in "abcdef"[: len(zones)]
        )
    values["region"] = region
    values["account"] = (
        context.get("account") or environ.get("CDK_DEFAULT_ACCOUNT") or OFFLINE_ACCOUNT
    )
    _apply_context(values, context)
    return settings_from_dict(values)


def settings_from_dict(values: Mapping[str, Any]) -> Settings:
    """Build and validate :class:`Settings` from plain values (unknown keys are errors).

    Raises:
        ConfigError: Listing every invalid field with its value and the fix.
    """
    if not isinstance(values, Mapping):
        raise ConfigError([f"settings = {show(values)}: must be a mapping of Settings fields"])
    env_name = values.get("env_name")
    prefix = env_name if isinstance(env_name, str) and env_name else "?"
    region = values.get("region")
    try:
        return Settings.model_validate(values, context={"env_name": env_name, "region": region})
    except ValidationError as exc:
        raise ConfigError(translate(exc, Settings, prefix, _CONTEXT_HINTS)) from None
