"""The README's per-environment table, rendered from ``ENVIRONMENTS`` and the model defaults.

``python -m mlops_cdk.config.reference`` prints it; ``tests/test_config_reference.py`` checks
the README holds exactly this table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlops_cdk.config.environments import ENVIRONMENTS
from mlops_cdk.config.loader import load_settings
from mlops_cdk.config.models import Settings

_SKIPPED = ("region", "availability_zones")
"""Listed in the context-key table instead: context and ``CDK_DEFAULT_REGION`` change them."""


def _paths(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _paths(value, f"{prefix}{key}.")
        elif key not in _SKIPPED:
            yield f"{prefix}{key}"


def _field_order(path: str) -> tuple[int, ...]:
    """Position of ``path`` in the models, so the table follows the schema."""
    order, model = [], Settings
    for name in path.split("."):
        order.append(list(model.model_fields).index(name))
        model = model.model_fields[name].annotation
    return (len(order) > 1, *order)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def environment_table() -> str:
    """Markdown table: every setting an environment sets, with each environment's value."""
    settings = {env: load_settings({"env": env}, environ={}) for env in ENVIRONMENTS}
    paths = sorted(
        {path for env in ENVIRONMENTS for path in _paths(ENVIRONMENTS[env])}, key=_field_order
    )
    lines = [
        "| setting | " + " | ".join(ENVIRONMENTS) + " |",
        "| --- |" + " --- |" * len(ENVIRONMENTS),
    ]
    for path in paths:
        cells = []
        for env in ENVIRONMENTS:
            value: Any = settings[env]
            for name in path.split("."):
                value = getattr(value, name)
            cells.append(_cell(value))
        lines.append(f"| `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(environment_table())
