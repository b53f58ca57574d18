"""The props convention every construct follows (Solutions Constructs style).

- ``merge_props``: our secure defaults < the user's ``x_props`` < what the construct requires,
  deep-merged, with a synth warning for each overridden security-relevant default.
- ``check_existing_or_props``: ``existing_x`` together with ``x_props`` is an error naming both
  (also a ``ConstructValidator`` rule, reported with the construct's other problems).
- ``ConstructValidator``: collects every problem of a construct's arguments, skips unresolved
  tokens, and raises one ``ConstructValidationError`` in one format:
  ``<construct path>: <argument> = <value>: <what is wrong>; <fix>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aws_cdk import Annotations, Token
from constructs import Construct


class ConstructValidationError(ValueError):
    """A construct's arguments are invalid; the message lists every problem, one per line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


def _is_unresolved(value: Any) -> bool:
    """Whether ``value`` (or any string/number inside it) is a token resolved only at deploy."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return Token.is_unresolved(value)
    if isinstance(value, list | tuple):
        return any(_is_unresolved(item) for item in value)
    return False


class ConstructValidator:
    """Run every rule over a construct's arguments, then raise once (like ``bucket.ts``).

    ``check`` skips a value that is an unresolved token: CDK only knows it at deploy time.
    """

    def __init__(self, scope: Construct) -> None:
        self._scope = scope
        self._problems: list[str] = []

    def check(
        self, argument: str, value: Any, ok: bool | Callable[[Any], bool], problem: str, fix: str
    ) -> None:
        """Record ``<argument> = <value>: <problem>; <fix>`` unless ``ok`` or ``value`` is a token.

        ``ok`` is a boolean, or a predicate on ``value`` evaluated only when ``value`` is resolved.
        """
        if _is_unresolved(value):
            return
        passed = ok(value) if callable(ok) else ok
        if not passed:
            self.add(argument, value, problem, fix)

    def check_prefix(self, argument: str, value: str, example: str) -> None:
        """An S3 key prefix: ends with ``/`` and does not start with one (e.g. ``example``)."""
        self.check(
            argument,
            value,
            lambda prefix: prefix.endswith("/") and not prefix.startswith("/"),
            "must end with '/' and not start with one",
            f"e.g. {example!r}",
        )

    def add(self, argument: str, value: Any, problem: str, fix: str) -> None:
        """Record a problem unconditionally."""
        self._problems.append(f"{argument} = {value!r}: {problem}; {fix}")

    def check_existing_or_props(
        self, existing_name: str, existing: Any, props_name: str, props: Mapping[str, Any] | None
    ) -> None:
        """Record ``existing_x`` given together with ``x_props``: the props would be dropped."""
        if existing is not None and props:
            self._problems.append(
                f"{existing_name} and {props_name} are both set: {props_name} only adjusts a "
                f"resource the construct creates; pass {existing_name} to reuse yours, or "
                f"{props_name} to adjust the created one, not both"
            )

    def raise_if_any(self) -> None:
        """Raise one ``ConstructValidationError`` listing every recorded problem."""
        if self._problems:
            raise ConstructValidationError(self._scope.node.path, list(self._problems))


def check_existing_or_props(
    scope: Construct,
    existing_name: str,
    existing: Any,
    props_name: str,
    props: Mapping[str, Any] | None,
) -> None:
    """Refuse ``existing_x`` together with ``x_props`` where nothing else is validated."""
    check = ConstructValidator(scope)
    check.check_existing_or_props(existing_name, existing, props_name, props)
    check.raise_if_any()


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``; nested mappings merge key by key instead of replacing."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_props(
    scope: Construct,
    defaults: Mapping[str, Any],
    user_props: Mapping[str, Any] | None,
    required: Mapping[str, Any] | None = None,
    *,
    security_keys: Iterable[str] = (),
) -> dict[str, Any]:
    """Merge construct props: secure defaults < user props < what the construct requires.

    Deep-merged, so a user dict adjusts a nested default without dropping its siblings. Two
    synth warnings on ``scope`` keep a setting from changing silently: a user prop that a
    required value overrides (ignored), and a user prop that overrides one of
    ``security_keys``'s defaults (accepted, but the security posture changed by name).
    """
    user_props = dict(user_props or {})
    required = dict(required or {})
    ignored = sorted(
        key for key in user_props if key in required and user_props[key] != required[key]
    )
    _warn_about(
        scope, "mlops-cdk:props-overridden", ignored, "are set by the construct and were ignored"
    )
    weakened = sorted(
        key
        for key in set(security_keys) & user_props.keys()
        if key not in required and key in defaults and user_props[key] != defaults[key]
    )
    _warn_about(
        scope,
        "mlops-cdk:security-default-overridden",
        weakened,
        "override secure defaults; check that this is intended",
    )
    return deep_merge(deep_merge(defaults, user_props), required)


def _warn_about(scope: Construct, warning_id: str, keys: list[str], what: str) -> None:
    """One synth warning on ``scope`` naming ``keys``, unless there are none."""
    if keys:
        Annotations.of(scope).add_warning_v2(
            warning_id, f"{scope.node.path}: props {', '.join(keys)} {what}"
        )
