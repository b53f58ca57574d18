"""The README's configuration reference agrees with the models, ENVIRONMENTS and the context keys."""

from __future__ import annotations

import re

from pydantic import BaseModel

from mlops_cdk.config import Settings
from mlops_cdk.config.reference import environment_table
from mlops_cdk.platform import CONTEXT_KEYS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    return README[start : README.index("\n## ", start + 1)]


def test_the_environment_table_is_generated_from_environments():
    match = re.search(
        r"<!-- environments-table:start -->\n(.*?)\n<!-- environments-table:end -->", README, re.S
    )
    assert match, "README lost the environments-table markers"
    assert match[1] == environment_table(), "run: python -m mlops_cdk.config.reference"


def test_the_sections_listed_are_exactly_the_settings_sections():
    reference = _section("Configuration reference")
    listed = re.search(r"Sections: (.*?);", reference, re.S)
    assert listed
    sections = {
        name
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    }
    assert set(re.findall(r"`(\w+)`", listed[1])) == sections


def test_every_field_the_reference_names_exists():
    reference = _section("Configuration reference")
    for path in set(re.findall(r"`((?:[a-z]+\.)+[a-z_]+)`", reference)):
        if path.startswith("mlops_cdk.") or path.endswith((".py", ".reference")):
            continue
        model: type[BaseModel] = Settings
        *sections, field = path.split(".")
        for name in sections:
            model = model.model_fields[name].annotation
        assert field in model.model_fields, path


def test_every_context_key_is_documented():
    rows = _section("Choosing the environment and serving path")
    documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", rows, re.M))
    keys = {key for row in documented for key in row if key}
    assert keys == set(CONTEXT_KEYS)
