"""CRD schemas pinned in ``tests/fixtures/schemas`` (provenance in its README), closed for tests.

Nothing here reads outside the repository: a fresh clone validates against the same files.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"


def closed(schema: Any) -> Any:
    """Every object that lists ``properties`` rejects others, unless it preserves unknowns."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(value) for value in schema]
    return schema


@functools.cache
def _closed_schema_json(filename: str, version: str) -> str:
    crd = yaml.safe_load((SCHEMA_DIR / filename).read_text())
    matches = [entry for entry in crd["spec"]["versions"] if entry["name"] == version]
    if len(matches) != 1:
        raise LookupError(f"{filename} has no single version {version!r}")
    return json.dumps(closed(matches[0]["schema"]["openAPIV3Schema"]))


def crd_schema(filename: str, version: str = "v1beta1") -> dict[str, Any]:
    """The closed ``openAPIV3Schema`` of ``version`` in the pinned CRD ``filename`` (a fresh copy)."""
    return json.loads(_closed_schema_json(filename, version))
