"""Gates over the synthesized app: every combination synthesizes under cdk-nag, cfn-lint is clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from mlops_cdk.platform import add_security_checks
from tests.conftest import ENVS, ROOT, SERVINGS


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_every_environment_and_serving_synthesizes_under_cdk_nag(synth, env, serving):
    s = synth(env, serving)
    assert s.settings.serving == serving
    for stack in s.stacks.all():
        assert stack.tags.tag_values() == {"mlops-cdk:env": env, "mlops-cdk:serving": serving}
        assert stack.stack_name.startswith(f"MlopsCdk-{env}-")


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_cfn_lint_reports_no_errors(synth, env, serving):
    s = synth(env, serving)
    templates = sorted(str(p) for p in s.outdir.glob("*.template.json"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *templates, "--format", "parseable",
         "--non-zero-exit-code", "error", "--ignore-checks", "W3005"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert result.returncode == 0 and not errors, result.stdout + result.stderr


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Plain")
    add_security_checks(app)
    with pytest.raises(Exception, match=r"AwsSolutions-S1"):
        app.synth()


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_every_checkov_skip_names_a_check_and_a_reason(synth, env, serving):
    s = synth(env, serving)
    skips = [
        skip
        for path in s.outdir.glob("*.template.json")
        for resource in json.loads(path.read_text())["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the kit records its accepted checkov findings on the resources"
    for skip in skips:
        assert skip["id"].startswith("CKV_AWS_") and len(skip["comment"]) > 40, skip


def test_checkov_config_skips_nothing_globally():
    config = (ROOT / ".checkov.yaml").read_text()
    assert "skip-check" not in config and "soft-fail" not in config
