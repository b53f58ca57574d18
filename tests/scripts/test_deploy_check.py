"""scripts/deploy_check.py: `make deploy` warns when a flag differs from the configuration."""

from __future__ import annotations

import os
import subprocess

import pytest

from scripts.deploy_check import context_flags, differences, main
from tests.conftest import ROOT


def test_every_spelling_of_a_context_flag_is_read_and_other_flags_are_skipped():
    args = [
        "--force",
        "-c",
        "env=prod",
        "--context",
        "serving=eks",
        "-cfront_door=api",
        "--context=retain_data=true",
        "-c",
        "admin_principal_arns=arn:aws:iam::1:role/a=b",
        "--require-approval",
        "never",
        "-c",
        "no-equals-sign",
    ]
    assert list(context_flags(args)) == [
        ("env", "prod"),
        ("serving", "eks"),
        ("front_door", "api"),
        ("retain_data", "true"),
        ("admin_principal_arns", "arn:aws:iam::1:role/a=b"),
    ]


def test_a_flag_equal_to_the_configuration_is_silent():
    assert differences("prod", [("serving", "eks"), ("serving_engine", "deployment")]) == []
    assert differences("dev", [("retain_data", "false"), ("region", "us-east-1")]) == []


def test_a_flag_that_differs_names_the_setting_and_the_file_to_change():
    (warning,) = differences("prod", [("serving_engine", "kserve")])
    assert warning.startswith("-c serving_engine=kserve differs from the configured ")
    assert "prod.eks.serving_engine = deployment" in warning
    assert "set eks.serving_engine for prod in mlops_cdk/config/environments.py" in warning


@pytest.mark.parametrize(
    ("env_name", "key", "value", "field"),
    [
        ("dev", "serving", "eks", "dev.serving = sagemaker"),
        ("prod", "retain_data", "false", "prod.retain_data = true"),
        ("staging", "serving", "sagemaker", "staging.serving = eks"),
        ("dev", "availability_zones", "us-east-1a,us-east-1c", "us-east-1a,us-east-1b"),
        ("prod", "region", "eu-west-1", "prod.region = us-east-1"),
    ],
)
def test_each_environment_choice_is_checked(env_name, key, value, field):
    (warning,) = differences(env_name, [(key, value)])
    assert field in warning


def test_what_a_deploy_names_is_not_an_environment_choice():
    flags = [
        ("env", "prod"),
        ("image_tag", "abc1234-m7"),
        ("image_digest", "sha256:" + "a" * 64),
        ("github_repository", "owner/name"),
        ("account", "210987654321"),
        ("@aws-cdk/core:newStyleStackSynthesis", "true"),
    ]
    assert differences("prod", flags) == []


def test_an_unknown_key_and_an_invalid_value_are_reported():
    unknown, invalid = differences("dev", [("serving_engin", "kserve"), ("serving", "gke")])
    assert unknown.startswith("-c serving_engin=kserve is not a context key the app reads")
    assert invalid.startswith("-c serving=gke is invalid; synth will fail: dev.serving = 'gke'")


def test_main_prints_one_warning_line_and_never_fails(capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main(["--env", "prod", "--", "-c", "env=prod", "-c", "serving=sagemaker"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("warning: make deploy ENV=prod: -c serving=sagemaker differs")
    assert lines[1].startswith("note: make deploy ENV=prod: no IMAGE_DIGEST")


def test_in_github_actions_the_warning_is_an_annotation(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    digest = "sha256:" + "a" * 64
    assert main(["--env", "dev", "--", "-c", "serving=eks", "-c", f"image_digest={digest}"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "::warning::make deploy ENV=dev: -c serving=eks differs from the configured dev.serving "
        "= sagemaker: the next automated deploy (deploy.yml) reverts it; to keep it, set "
        "serving for dev in mlops_cdk/config/environments.py"
    ]


def _deploy_check_command(*make_args: str) -> str:
    """The deploy_check line `make deploy` would run (dry run: nothing is deployed)."""
    dry_run = subprocess.run(
        ["make", "-n", "deploy", *make_args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (line,) = [line for line in dry_run.splitlines() if "scripts.deploy_check" in line]
    return line


def test_make_deploy_runs_the_check_on_its_variables_and_deploy_flags():
    line = _deploy_check_command(
        "ENV=prod",
        "IMAGE_TAG=abc1234-m7",
        "GITHUB_REPOSITORY=owner/name",
        "SERVING_ENGINE=kserve",
        "DEPLOY_FLAGS=--force -c retain_data=false",
    )
    environ = {key: value for key, value in os.environ.items() if key != "GITHUB_ACTIONS"}
    checked = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, env=environ, check=True
    )
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "-c serving_engine=kserve differs" in warnings[0]
    assert "-c retain_data=false differs" in warnings[1]


def test_make_deploy_passes_the_digest_as_context():
    digest = "sha256:" + "b" * 64
    line = _deploy_check_command(
        "ENV=dev", "IMAGE_TAG=abc1234-m7", f"IMAGE_DIGEST={digest}", "GITHUB_REPOSITORY=o/n"
    )
    assert f"-c image_digest='{digest}'" in line
