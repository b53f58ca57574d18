"""Issue 15: no shell injection through make. Every value that reaches a command is checked by
``scripts/check_make_vars.py`` while the Makefile is read, so a bad one stops make, naming the
variable, before any recipe (or ``$(shell ...)`` inside a value) runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from mlops_cdk.constructs.github_oidc import GITHUB_REPOSITORY_RE
from scripts.check_make_vars import PATTERNS, main, problems
from tests.conftest import ROOT


@pytest.fixture
def repo_copy(tmp_path):
    """The Makefile and the checker alone in a temporary directory: were a check to let a
    value through, its injected command would land here, and there is nothing to install."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "scripts" / "check_make_vars.py", tmp_path / "scripts")
    return tmp_path


def make(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in PATTERNS}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


INJECTED_VALUES = {
    ("deploy", "IMAGE_TAG"): ["x;touch injected", "x';touch injected;'", "$(shell touch injected)"],
    ("smoke-test", "URL"): [
        "http://x;touch injected",
        "http://x`touch injected`",
        "http://x$(touch injected)",
    ],
    ("deploy", "ENV"): ["dev;touch injected"],
    ("synth", "SERVING"): ["eks;touch injected"],
    ("deploy", "GITHUB_REPOSITORY"): ["acme/fraud;touch injected"],
    ("image", "IMAGE"): ["model-server:dev;touch injected"],
    ("cost", "FORMAT"): ["json;touch injected"],
    ("deploy", "DEPLOY_FLAGS"): ["--force;touch injected"],
    ("smoke-test", "OUTPUTS"): ["cdk-outputs.json;touch injected"],
}
"""The values injected into each (make target, variable)."""
INJECTIONS = [
    (target, name, value) for (target, name), values in INJECTED_VALUES.items() for value in values
]


@pytest.mark.parametrize(("target", "name", "value"), INJECTIONS)
def test_an_injected_value_fails_naming_the_variable_and_runs_nothing(
    repo_copy, target, name, value
):
    # The command line's last assignment wins: the injected one comes last.
    result = make(repo_copy, target, "IMAGE_TAG=ok1", "GITHUB_REPOSITORY=a/b", f"{name}={value}")
    assert result.returncode != 0
    assert f"{name} = {value!r}: must be" in result.stderr
    assert "nothing was run" in result.stderr
    assert sorted(path.name for path in repo_copy.iterdir()) == ["Makefile", "scripts"]


def test_valid_values_pass_the_check(repo_copy):
    result = make(
        repo_copy,
        "check-vars",
        "ENV=prod",
        "SERVING=sagemaker",
        "IMAGE_TAG=abc1234-m3",
        "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:abc1234-m3",
        "GITHUB_REPOSITORY=acme/fraud",
        "GITHUB_BIND_WORKFLOW=true",
        "URL=https://api.example.com/v1/models/fraud-detection:predict",
        "SMOKE_FLAGS=--sigv4 --output-key PredictUrl",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "make variables ok\n"


def test_the_checked_values_reach_commands_single_quoted():
    result = make(ROOT, "-n", "smoke-test", "URL=https://x.example.com/a?b=1")
    assert result.returncode == 0, result.stderr
    assert "--url 'https://x.example.com/a?b=1'" in result.stdout


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("ENV", ["dev", "staging", "prod"], ["", "qa", "prod "]),
        ("SERVING", ["", "eks", "sagemaker"], ["lambda", "eks;"]),
        ("IMAGE_TAG", ["", "1.4.0", "abc1234-m3", "_x", "a" * 128], ["-x", ".x", "a" * 129, "a b"]),
        ("GITHUB_REPOSITORY", ["", "acme/fraud", "a.b/c_d-e"], ["acme", "a/b/c", "a/$x"]),
        ("URL", ["", "http://127.0.0.1:8080/x", "https://a.b/c?d=e"], ["ftp://x", "http://a b"]),
        ("GITHUB_BIND_WORKFLOW", ["", "true", "false"], ["yes", "1"]),
        ("PORT", ["8080"], ["", "80;"]),
        ("CAPTURE_PERCENT", ["", "0", "20", "100"], ["20%", "-1", "1;x"]),
    ],
)
def test_each_pattern_accepts_and_refuses(name, good, bad):
    assert problems([f"{name}={value}" for value in good]) == []
    for value in bad:
        assert problems([f"{name}={value}"]) == [
            f"{name} = {value!r}: must be {PATTERNS[name][1]}; nothing was run"
        ]


def test_unknown_or_malformed_assignments_are_refused(capsys):
    assert main(["NOPE=1", "IMAGE_TAG"]) == 2
    output = capsys.readouterr().out
    assert "'NOPE=1': not NAME=value of a checked variable" in output
    assert "'IMAGE_TAG': not NAME=value" in output
    assert main(["IMAGE_TAG=ok"]) == 0 and capsys.readouterr().out == "ok\n"


def test_the_patterns_agree_with_the_settings_and_constructs():
    from mlops_cdk.config import Settings

    tag_rule = Settings.model_fields["image_tag"].metadata[0]
    for tag in ("abc1234-m3", "-x", "a" * 129):
        make_ok = not problems([f"IMAGE_TAG={tag}"])
        try:
            tag_rule.func(tag)
            settings_ok = True
        except ValueError:
            settings_ok = False
        assert make_ok == settings_ok, tag
    for repository in ("acme/fraud", "acme", "a/b/c", "a.b/c_d-e"):
        assert (not problems([f"GITHUB_REPOSITORY={repository}"])) == bool(
            GITHUB_REPOSITORY_RE.match(repository)
        )


def test_every_checked_variable_is_in_the_makefiles_list():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^CHECKED_VARS := (.*?)\n\S", makefile, re.S | re.M)
    assert listed
    assert set(listed[1].replace("\\", " ").split()) == set(PATTERNS)


DISPATCH_INPUTS = {
    ("deploy.yml", "image_tag"): "IMAGE_TAG",
    ("retrain.yml", "prefix"): "INPUT_PREFIX",
    ("deploy-environment.yml", "environment"): "ENV",
    ("deploy-environment.yml", "image_tag"): "IMAGE_TAG",
}
"""Each workflow input and the make variable that checks it."""


@pytest.mark.parametrize(("workflow", "input_name"), list(DISPATCH_INPUTS))
def test_workflow_inputs_are_checked_by_make_before_anything_else_runs(workflow, input_name):
    from tests.test_workflows import load

    loaded = load(workflow)
    trigger = "workflow_dispatch" if "workflow_dispatch" in loaded["on"] else "workflow_call"
    assert input_name in loaded["on"][trigger]["inputs"]
    job = next(job for job in loaded["jobs"].values() if "steps" in job)
    steps = job["steps"]
    runs = [(index, step) for index, step in enumerate(steps) if "run" in step]
    first_index, first = runs[0]
    assert first["run"].startswith("make check-vars ")
    variable = DISPATCH_INPUTS[(workflow, input_name)]
    assert f'{variable}="$' in first["run"]
    # The checked variable carries the input (through the step's or the job's env).
    env = {**job.get("env", {}), **first.get("env", {})}
    source = re.search(rf'{variable}="\$(\w+)"', first["run"])[1]
    assert env[source] == f"${{{{ inputs.{input_name} }}}}"
    assert all(step.get("uses", "").startswith("actions/") for step in steps[:first_index])
