"""The README cost table is what `make cost-readme` would write (issue 14).

Reuses the session's synthesized assemblies (tests/conftest.py) instead of synthesizing again.
"""

from __future__ import annotations

import re

import pytest

from mlops_cdk.cost.estimate import estimate_assembly
from scripts.cost_table import COMBINATIONS, END, README, START, with_table


@pytest.fixture(scope="module")
def estimates(synth):
    return [estimate_assembly(synth(env, serving).outdir) for env, serving in COMBINATIONS]


def test_readme_cost_table_is_current(estimates):
    readme = README.read_text()
    assert with_table(readme, estimates) == readme, (
        "the README cost table is stale: run `make cost-readme` and commit README.md"
    )


def test_a_changed_number_in_the_table_is_caught(estimates):
    readme = README.read_text()
    head, marker, table = readme.partition(START)
    # Add one dollar to the table's first amount, as a hand edit would.
    edited_table = re.sub(
        r"(\d+)\.(\d\d)", lambda amount: f"{int(amount[1]) + 1}.{amount[2]}", table, count=1
    )
    edited = head + marker + edited_table
    assert edited != readme
    assert with_table(edited, estimates) == with_table(readme, estimates) != edited


def test_readme_without_markers_is_an_error(estimates):
    with pytest.raises(ValueError, match="cost-table:start"):
        with_table(README.read_text().replace(END, ""), estimates)
