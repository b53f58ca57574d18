"""``ConfigError`` and the translation of pydantic errors into one line per problem.

Every line reads ``<env>.<section>.<field> = <value>: <what is wrong>; <fix>``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

__all__ = ["ConfigError"]

MAX_VALUE_CHARS = 80
RULES_ERROR = "config_rules"
"""Error type of the cross-field rules: ``ctx["problems"]`` holds one problem per line."""


class ConfigError(ValueError):
    """Invalid configuration; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        listed = "\n".join(f"  - {message}" for message in errors)
        super().__init__(f"Invalid mlops-cdk configuration:\n{listed}")


def show(value: Any) -> str:
    """``repr(value)``, cut to about 80 characters."""
    text = repr(value)
    if len(text) > MAX_VALUE_CHARS:
        return text[: MAX_VALUE_CHARS - 3] + "..."
    return text


def problem(name: str, value: Any, what: str, fix: str) -> str:
    """One problem found by a cross-field rule, relative to its section."""
    return f"{name} = {show(value)}: {what}; {fix}"


def _field_at(
    root: type[BaseModel], loc: tuple[Any, ...]
) -> tuple[type[BaseModel], FieldInfo | None]:
    """The model holding the last named element of ``loc`` and that field's info."""
    model, info = root, None
    for part in loc:
        if not isinstance(part, str):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return model, None
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            model = info.annotation
    return model, info


def _bounds(info: FieldInfo | None, ctx: dict[str, Any]) -> str:
    """``must be 1-4096`` from the field's constraints (or the error's, for list items)."""
    limits = dict(ctx)
    for constraint in info.metadata if info is not None else ():
        for kind, name in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
            if isinstance(constraint, kind):
                limits[name] = getattr(constraint, name)
    low = ("ge", limits["ge"]) if "ge" in limits else ("gt", limits.get("gt"))
    high = ("le", limits["le"]) if "le" in limits else ("lt", limits.get("lt"))
    if low[1] is not None and high[1] is not None:
        if low[0] == "ge" and high[0] == "le":
            return f"must be {low[1]}-{high[1]}"
        opening, closing = "[" if low[0] == "ge" else "(", "]" if high[0] == "le" else ")"
        return f"must be in {opening}{low[1]}, {high[1]}{closing}"
    if low[1] is not None:
        return f"must be {'>=' if low[0] == 'ge' else '>'} {low[1]}"
    return f"must be {'<=' if high[0] == 'le' else '<'} {high[1]}"


_TYPE_NAMES = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false (a JSON boolean)",
    "tuple_type": "a list",
}


def _what(error: dict[str, Any], model: type[BaseModel], info: FieldInfo | None) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind in _TYPE_NAMES:
        got = f", not {type(value).__name__}" if value is not None else ", not null"
        return f"must be {_TYPE_NAMES[kind]}{got}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of {model.__name__} fields"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"is not valid; choose one of {', '.join(choices)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds(info, ctx)
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entries"
    if kind == "extra_forbidden":
        return "is not a setting"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _fix(error: dict[str, Any], model: type[BaseModel], info: FieldInfo | None) -> str:
    name = next((part for part in reversed(error["loc"]) if isinstance(part, str)), "")
    if error["type"] == "extra_forbidden":
        valid = sorted(model.model_fields)
        close = [key for key in valid if name and key.startswith(name)]
        close = close or difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"{hint}valid keys are {', '.join(valid)}"
    value = error.get("input")
    if error["type"] == "tuple_type" and isinstance(value, str):
        return f"write a list, e.g. [{value!r}]"
    if error["type"] in ("int_type", "bool_type") and isinstance(value, str):
        return f"write {value} without quotes"
    extra = info.json_schema_extra if info is not None else None
    return str(extra.get("fix", "")) if isinstance(extra, dict) else ""


def _path(prefix: str, loc: tuple[Any, ...]) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def translate(
    exc: ValidationError, root: type[BaseModel], prefix: str, hints: dict[str, str]
) -> list[str]:
    """One message per pydantic error, naming ``<prefix>.<loc>``, the value and the fix.

    Args:
        exc: The validation error.
        root: The model that was validated.
        prefix: Path of the root, the environment name.
        hints: Extra fix per dotted field path (``-c key=...`` for context keys).
    """
    messages: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == RULES_ERROR:
            base = _path(prefix, loc)
            messages += [f"{base}.{line}" for line in error["ctx"]["problems"].split("\n")]
            continue
        model, info = _field_at(root, loc)
        what, fix = _what(error, model, info), _fix(error, model, info)
        dotted = ".".join(str(part) for part in loc if isinstance(part, str))
        if dotted in hints:
            fix = f"{fix} ({hints[dotted]})" if fix else hints[dotted]
        line = f"{_path(prefix, loc)} = {show(error.get('input'))}: {what}"
        if error["type"] == "missing":
            line = f"{_path(prefix, loc)}: {what}"
        messages.append(f"{line}; {fix}" if fix else line)
    return messages
