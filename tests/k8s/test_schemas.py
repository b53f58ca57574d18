"""The test schemas are pinned inside the repository; nothing looks outside it for them."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT
from tests.k8s.schemas import SCHEMA_DIR, crd_schema

# Built from parts so this file does not match itself.
OUTSIDE_REFERENCES = r"\.\./" + "shared|MLOPS_" + "SHARED_DIR"
SEARCHED = ("tests", "mlops_cdk", "model", "scripts", "Makefile", ".github")


def test_nothing_reads_schemas_from_outside_the_repository():
    found = subprocess.run(
        ["git", "grep", "-nE", OUTSIDE_REFERENCES, "--", *SEARCHED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == "", found.stdout


def test_every_pinned_schema_has_its_provenance():
    readme = (SCHEMA_DIR / "README.md").read_text()
    for path in SCHEMA_DIR.glob("*.yaml"):
        assert f"`{path.name}`" in readme, path.name
    assert "tag v3.2.2" in readme


def test_crd_schema_is_closed_and_a_fresh_copy():
    schema = crd_schema("elbv2.k8s.aws_targetgroupbindings.yaml")
    assert schema["properties"]["spec"]["additionalProperties"] is False
    schema["properties"].clear()
    assert crd_schema("elbv2.k8s.aws_targetgroupbindings.yaml")["properties"]
