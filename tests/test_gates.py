"""Gates over the synthesized app: every combination synthesizes under cdk-nag, cfn-lint is clean."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from mlops_cdk.platform import add_security_checks
from tests.cfn_lint import cfn_lint
from tests.conftest import ENVS, ROOT, SERVINGS


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_every_environment_and_serving_synthesizes_under_cdk_nag(synth, env, serving):
    synthesized = synth(env, serving)
    assert synthesized.settings.serving == serving
    for stack in synthesized.stacks.all():
        assert stack.tags.tag_values() == {"mlops-cdk:env": env, "mlops-cdk:serving": serving}
        assert stack.stack_name.startswith(f"MlopsCdk-{env}-")


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_cfn_lint_reports_no_errors(synth, env, serving):
    synthesized = synth(env, serving)
    templates = sorted(str(path) for path in synthesized.outdir.glob("*.template.json"))
    result = cfn_lint(templates)
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
    synthesized = synth(env, serving)
    skips = [
        skip
        for path in synthesized.outdir.glob("*.template.json")
        for resource in json.loads(path.read_text())["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the kit records its accepted checkov findings on the resources"
    for skip in skips:
        assert skip["id"].startswith("CKV_AWS_") and len(skip["comment"]) > 40, skip


def test_checkov_config_skips_nothing_globally():
    config = (ROOT / ".checkov.yaml").read_text()
    assert "skip-check" not in config and "soft-fail" not in config
