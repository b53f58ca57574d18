"""Every public construct has documentation a user can find in docs/."""

from __future__ import annotations

import pytest

import mlops_cdk.constructs
from tests.conftest import ROOT

DOCS = "\n".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


@pytest.mark.parametrize("name", mlops_cdk.constructs.__all__)
def test_public_construct_is_documented(name):
    assert f"`{name}" in DOCS, f"{name} is exported but no docs/ page describes it"
    assert getattr(mlops_cdk.constructs, name).__doc__, f"{name} has no docstring"
