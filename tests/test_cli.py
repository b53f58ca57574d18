"""`npx cdk synth -c ...` and `python app.py` with CDK_CONTEXT_JSON/CDK_OUTDIR are the same app."""

from __future__ import annotations

import json
import os
import subprocess

from scripts.synth_summary import summarize
from tests.conftest import ROOT
from tests.test_config import run_app

CONTEXT = {"env": "staging", "serving": "sagemaker", "image_tag": "abc1234-m3"}
# What the CLI itself adds to CDK_CONTEXT_JSON besides cdk.json and -c flags.
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def templates(outdir):
    return {p.name: json.loads(p.read_text()) for p in sorted(outdir.glob("*.template.json"))}


def test_cdk_cli_and_python_app_produce_identical_templates(tmp_path):
    cli_out, py_out = tmp_path / "cli", tmp_path / "py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    flags = [arg for key, value in CONTEXT.items() for arg in ("-c", f"{key}={value}")]
    result = subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "--no-notices",
            "-o",
            str(cli_out),
            *flags,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert run_app({**CONTEXT, **CLI_CONTEXT}, py_out).returncode == 0
    assert templates(cli_out) == templates(py_out)
    assert len(templates(cli_out)) >= 4

    summary = summarize(cli_out)
    assert "environment:  staging" in summary
    assert "serving path: sagemaker" in summary
    assert "MlopsCdk-staging-Network" in summary


def make_deploy(*flags: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``make [flags] deploy`` with only ``variables`` set (none inherited from CI's env)."""
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGE_TAG", "GITHUB_REPOSITORY")}
    args = [f"{key}={value}" for key, value in variables.items()]
    return subprocess.run(
        ["make", *flags, "--no-print-directory", "deploy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_deploy_refuses_without_an_image_tag_before_running_anything():
    for variables in ({}, {"IMAGE_TAG": "latest"}):
        result = make_deploy(GITHUB_REPOSITORY="acme/fraud", **variables)
        assert result.returncode != 0
        assert "IMAGE_TAG=<tag>" in result.stderr
        assert "make image" in result.stderr and "docker push" in result.stderr
        assert "npx" not in result.stdout and "pip" not in result.stdout


def test_make_deploy_refuses_the_placeholder_repository():
    for repository in ("", "example-org/mlops-cdk"):
        result = make_deploy(IMAGE_TAG="abc1234-m3", GITHUB_REPOSITORY=repository)
        assert result.returncode != 0
        assert "GITHUB_REPOSITORY=<owner>/<name>" in result.stderr
        assert "npx" not in result.stdout


def test_make_deploy_passes_quoted_context_to_cdk_deploy():
    result = make_deploy("-n", IMAGE_TAG="abc1234-m3", GITHUB_REPOSITORY="acme/fraud")
    assert result.returncode == 0, result.stderr
    recipe = result.stdout.replace("\\\n", " ")
    deploy = next(line for line in recipe.splitlines() if "cdk deploy" in line)
    assert "-c image_tag='abc1234-m3'" in deploy
    assert "-c github_repository='acme/fraud'" in deploy
    assert "-c env='dev'" in deploy
