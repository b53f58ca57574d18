"""The GitHub Actions workflows: triggers, concurrency, least-privilege permissions, pinned actions,
every run step calling something that exists, and actionlint with zero findings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_cdk.stacks.retraining_stack import BASELINE_KEY
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
EXTERNAL_COMMANDS = {"aws", "docker", "echo", "grep", "exit"}
"""CLIs (and the `exit` builtin) a run step may call besides make targets and scripts/."""
SHELL_SYNTAX = {"if", "then", "elif", "else", "fi", "{", "}"}
OIDC_ACTIONS = ("aws-actions/configure-aws-credentials", "pypa/gh-action-pypi-publish")
"""Actions that exchange the job's OIDC token (the only reason a job may write ``id-token``)."""
WORKFLOW_NAMES = ["ci.yml", "retrain.yml", "deploy.yml", "deploy-environment.yml", "release.yml"]


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, flags=re.M))


def all_workflows() -> dict[str, dict]:
    return {p.name: load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def test_the_workflows_exist():
    assert set(all_workflows()) == set(WORKFLOW_NAMES)


def test_ci_runs_on_pull_requests_and_pushes_and_uploads_cdk_out():
    ci = load("ci.yml")
    assert set(ci["on"]) == {"pull_request", "push"}
    runs = [s.get("run") for s in ci["jobs"]["test"]["steps"]]
    assert {"make lint", "make test", "make scan"} <= set(runs)
    upload = [s for s in ci["jobs"]["test"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "cdk.out"
    image_steps = ci["jobs"]["image"]["steps"]
    assert any("make image" in s.get("run", "") for s in image_steps)
    assert any("trivy-action" in s.get("uses", "") for s in image_steps)


def test_ci_image_job_trains_the_model_it_packages_before_building():
    """The Dockerfile copies model/artifacts/, which git ignores: a fresh runner must make it."""
    runs = [s.get("run", "") for s in load("ci.yml")["jobs"]["image"]["steps"]]
    train = next(i for i, run in enumerate(runs) if run.startswith("make train"))
    build = next(i for i, run in enumerate(runs) if run.startswith("make image"))
    assert train < build
    dockerfile = (ROOT / "model" / "Dockerfile").read_text()
    assert "artifacts/" in dockerfile, "the image no longer packages model/artifacts/: revisit"
    # `make image` alone also trains first on a fresh checkout.
    image_rule = re.search(r"^image:(.*)$", (ROOT / "Makefile").read_text(), flags=re.M)
    assert image_rule and "model/artifacts/model.onnx" in image_rule[1]


def test_retrain_triggers_and_a_concurrency_group_that_never_cancels():
    retrain = load("retrain.yml")
    # New data and the nightly run (the dispatcher) and data drift (the drift check).
    assert retrain["on"]["repository_dispatch"] == {"types": ["new-data-arrived", "drift-detected"]}
    assert "workflow_dispatch" in retrain["on"]
    assert retrain["concurrency"] == {"group": "retrain", "cancel-in-progress": False}


def test_retrain_publishes_only_after_the_gate_and_hands_over_to_deploy():
    retrain = load("retrain.yml")
    steps = retrain["jobs"]["retrain"]["steps"]
    train = next(s for s in steps if s.get("id") == "train")
    assert "make train" in train["run"]
    publish = [
        s for s in steps if "aws s3 cp" in s.get("run", "") or "docker push" in s.get("run", "")
    ]
    assert len(publish) == 2
    assert all(s["if"] == "steps.train.outputs.gate == 'passed'" for s in publish)
    assert "models/fraud-detection/${MODEL_VERSION}/model.tar.gz" in publish[0]["run"]
    assert "models/fraud-detection/${MODEL_VERSION}/baseline.json" in publish[0]["run"]
    version = next(s for s in steps if s.get("id") == "version")
    assert "image_tag=${SHA::7}-m${RUN_NUMBER}" in version["run"]
    deploy = retrain["jobs"]["deploy"]
    assert deploy["uses"] == "./.github/workflows/deploy.yml"
    assert deploy["if"] == "needs.retrain.outputs.gate == 'passed'"


def test_the_deployed_models_baseline_becomes_the_one_the_drift_check_reads():
    retrain = load("retrain.yml")
    promote = retrain["jobs"]["promote-baseline"]
    # Only after a successful deploy (needs without if: skipped when deploy is skipped or fails).
    assert promote["needs"] == ["retrain", "deploy"] and "if" not in promote
    (copy,) = [s for s in promote["steps"] if "aws s3 cp" in s.get("run", "")]
    source, target = re.findall(r'"(s3://[^"]+)"', copy["run"])
    assert source.endswith("/models/fraud-detection/${MODEL_VERSION}/baseline.json")
    assert target.endswith("/models/fraud-detection/baseline.json")
    assert target == f"s3://${{ARTIFACTS_BUCKET}}/{BASELINE_KEY}"
    assert "needs.retrain.outputs.model_version" in copy["env"]["MODEL_VERSION"]


def test_deploy_goes_test_then_dev_then_staging_then_prod():
    deploy = load("deploy.yml")
    assert set(deploy["on"]) == {"workflow_call", "workflow_dispatch"}
    jobs = deploy["jobs"]
    order = {"dev": "test", "staging": "dev", "prod": "staging"}
    for name, previous in order.items():
        job = jobs[name]
        assert set(job["needs"]) == {previous, "image"}, f"{name} must wait for {previous}"
        assert job["uses"] == "./.github/workflows/deploy-environment.yml"
        # Only prod releases progressively (canary on EKS, blue/green check on SageMaker) and
        # promotes the release to champion.
        prod_only = (
            {"canary": True, "model_version": "${{ inputs.model_version }}"}
            if name == "prod"
            else {}
        )
        assert job["with"] == {
            "environment": name,
            "image_tag": "${{ inputs.image_tag }}",
            "image_digest": "${{ needs.image.outputs.digest }}",
            **prod_only,
        }
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_the_prod_deploy_promotes_the_release_it_deployed_and_nothing_else_does():
    """Issue 17: champion moves only when prod's deploy and smoke test succeeded."""
    retrain = load("retrain.yml")
    assert retrain["jobs"]["deploy"]["with"]["model_version"] == (
        "${{ needs.retrain.outputs.model_version }}"
    )
    outputs = retrain["jobs"]["retrain"]["outputs"]
    assert outputs["model_version"] == "${{ steps.version.outputs.model_version }}"
    upload = next(
        s for s in retrain["jobs"]["retrain"]["steps"] if "model.tar.gz" in s.get("run", "")
    )
    assert "models/fraud-detection/${MODEL_VERSION}/metrics.json" in upload["run"]
    for trigger in ("workflow_call", "workflow_dispatch"):
        assert load("deploy.yml")["on"][trigger]["inputs"]["model_version"]["required"] is True
    (job,) = load("deploy-environment.yml")["jobs"].values()
    promote = [s for s in job["steps"] if "make promote" in s.get("run", "")]
    assert promote == [job["steps"][-1]], "promote is the job's last step, and its only one"
    (step,) = promote
    # No failure()/always(): it runs only when every earlier step (deploy, smoke test) passed.
    assert step["if"] == "inputs.environment == 'prod'"
    assert step["run"] == 'make promote MODEL_VERSION="$MODEL_VERSION" IMAGE_TAG="$IMAGE_TAG"'
    assert step["env"]["MODEL_VERSION"] == "${{ inputs.model_version }}"
    assert {"ARTIFACTS_BUCKET", "MLFLOW_TRACKING_URI"} <= set(step["env"])
    for name in ("ci.yml", "retrain.yml", "deploy.yml", "release.yml"):
        for other in load(name)["jobs"].values():
            assert not any("make promote" in s.get("run", "") for s in other.get("steps", []))


def test_each_environment_deploys_behind_its_github_environment_then_smoke_tests():
    workflow = load("deploy-environment.yml")
    assert set(workflow["on"]) == {"workflow_call"}
    (job,) = workflow["jobs"].values()
    # prod's required reviewers live on the GitHub environment the job runs in.
    assert job["environment"] == "${{ inputs.environment }}"
    concurrency = {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    assert job["concurrency"] == concurrency
    runs = [s.get("run", "") for s in job["steps"]]
    assert runs.index('make deploy ENV="$DEPLOY_ENV" IMAGE_TAG="$IMAGE_TAG"') < runs.index(
        "make smoke-test OUTPUTS=cdk-outputs.json"
    )
    (instructions,) = [s for s in job["steps"] if s.get("name") == "Rollback instructions"]
    assert instructions["if"].startswith("failure()")
    assert "IMAGE_TAG=<previous tag>" in instructions["run"]


@pytest.mark.parametrize("name", ["retrain.yml", "deploy-environment.yml"])
def test_dependencies_are_installed_before_credentials(name):
    steps = next(
        job["steps"]
        for job in load(name)["jobs"].values()
        if any(OIDC_ACTIONS[0] in step.get("uses", "") for step in job.get("steps", []))
    )
    setup = next(i for i, s in enumerate(steps) if s.get("run") == "make setup")
    credentials = next(i for i, s in enumerate(steps) if OIDC_ACTIONS[0] in s.get("uses", ""))
    assert setup < credentials


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_permissions_are_minimal_and_id_token_only_where_oidc_is_used(name):
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    for job_name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert permissions is not None, f"{name}:{job_name} has no permissions block"
        assert set(permissions.values()) <= {"read", "write"}
        writes = {k for k, v in permissions.items() if v == "write"}
        uses_oidc = any(
            action in s.get("uses", "") for s in job.get("steps", []) for action in OIDC_ACTIONS
        )
        calls_oidc_workflow = job.get("uses", "").startswith("./.github/workflows/deploy")
        assert writes == ({"id-token"} if uses_oidc or calls_oidc_workflow else set()), job_name


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_actions_are_pinned_by_full_sha_with_a_version_comment(name):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        if ref.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"# v\d+\.\d+\.\d+$", comment), f"{ref} lacks an exact version comment"


def test_exactly_one_nightly_retraining_trigger(synth):
    """The dispatcher's Scheduler schedule is the nightly trigger; no workflow has a cron."""
    for name, workflow in all_workflows().items():
        assert "schedule" not in workflow["on"], f"{name} has its own schedule"
    for env in ("dev", "prod"):
        built = synth(env)
        schedules = built.template(built.stacks.retraining).find_resources(
            "AWS::Scheduler::Schedule"
        )
        # The drift check's hourly schedule retrains only on drift: not a clock trigger.
        drift = [key for key in schedules if key.startswith("DriftMonitor")]
        assert len(drift) == 1, f"{env}: {drift}"
        nightly = [
            s
            for key, s in schedules.items()
            if s["Properties"]["ScheduleExpression"].startswith("cron(") and key not in drift
        ]
        assert len(nightly) == 1, f"{env}: {len(nightly)} nightly retraining schedules"


def test_release_builds_tests_the_wheel_and_publishes_with_trusted_publishing():
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    build_runs = [s.get("run") for s in release["jobs"]["build"]["steps"]]
    assert build_runs.index("make wheel") < build_runs.index("make test-wheel")
    publish = release["jobs"]["publish"]
    assert publish["needs"] == "build" and publish["environment"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    step = next(s for s in publish["steps"] if "pypa/gh-action-pypi-publish" in s.get("uses", ""))
    # Trusted publishing: no password or token input, and no secret anywhere in the workflow.
    assert not {"password", "user"} & set(step.get("with", {}))
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text()


def test_no_long_lived_keys_and_no_secrets_in_run_steps():
    for name, workflow in all_workflows().items():
        text = (WORKFLOWS / name).read_text()
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert "secrets." not in step.get("run", ""), f"{name}: a secret in a run step"


def commands(script: str) -> list[list[str]]:
    """The simple commands of a run script, including those inside $(...); quotes respected."""
    found = []
    script = script.replace("\\\n", " ")
    for inner in re.findall(r"\$\(([^()]*)\)", script):
        found += commands(inner)
    script = re.sub(r"\$\([^()]*\)", "SUBST", script)
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.commenters = "#"
        lexer.wordchars += "$=:/.-{}*<>@"
        words: list[str] = []
        tokens = list(lexer)
        i = 0
        while i <= len(tokens):
            token = tokens[i] if i < len(tokens) else ";"
            if token in (";", "&&", "||", "|", "&"):
                while words and (words[0] in SHELL_SYNTAX or re.fullmatch(r"\w+=.*", words[0])):
                    words = words[1:]
                if words:
                    found.append(words)
                words = []
            elif token in (">", ">>", "<", "2>", "2>&1"):
                i += 1  # the redirection target is not a command
            else:
                words.append(token)
            i += 1
    return found


def test_the_command_parser_sees_through_shell_syntax():
    assert commands('if make train X=1; then\n  echo "a; b" >> "$F"\nfi') == [
        ["make", "train", "X=1"],
        ["echo", "a; b"],
    ]
    assert commands('{\n  echo x\n} >> "$GITHUB_STEP_SUMMARY"') == [["echo", "x"]]
    assert commands('r="$(aws sts get-caller-identity)"\naws ecr x | docker login') == [
        ["aws", "sts", "get-caller-identity"],
        ["aws", "ecr", "x"],
        ["docker", "login"],
    ]


def test_every_run_step_calls_a_make_target_a_repo_script_or_an_allowed_cli():
    targets = makefile_targets()
    problems = []
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                for words in commands(step.get("run", "")):
                    where = f"{name}:{job_name}: {' '.join(words)}"
                    head = words[0]
                    if head == "make":
                        target = next((w for w in words[1:] if "=" not in w), None)
                        if target not in targets:
                            problems.append(f"{where}: no Makefile target {target!r}")
                    elif head in ("python", "bash"):
                        if not words[1].startswith("scripts/") or not (ROOT / words[1]).is_file():
                            problems.append(f"{where}: {words[1]} is not a file under scripts/")
                    elif head not in EXTERNAL_COMMANDS:
                        problems.append(f"{where}: {head!r} is not an allowed command")
    assert not problems, "\n".join(problems)


def test_actionlint_reports_no_findings():
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run(
        [str(actionlint), "-no-color", *sorted(str(p) for p in WORKFLOWS.glob("*.yml"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run(
        [str(actionlint), "-no-color", str(bad)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "nope" in result.stdout


# -- the progressive release of deploy-environment.yml: which steps run on which path ----------


def evaluate(expression: str, *, steps: dict[str, dict], inputs: dict, failed: bool) -> bool:
    """A step's ``if`` as GitHub evaluates it, for the expressions these workflows use.

    Without a status function (``failure()``, ``always()``...) GitHub adds ``success() &&``.
    """
    text = expression.strip().removeprefix("${{").removesuffix("}}")
    has_status = re.search(r"\b(success|failure|always|cancelled)\(\)", text)

    def output(match: re.Match) -> str:
        return repr(steps.get(match[1], {}).get("outputs", {}).get(match[2], ""))

    def outcome(match: re.Match) -> str:
        return repr(steps.get(match[1], {}).get("outcome", ""))

    python = re.sub(r"steps\.([\w-]+)\.outputs\.(\w+)", output, text)
    python = re.sub(r"steps\.([\w-]+)\.outcome", outcome, python)
    python = re.sub(r"inputs\.(\w+)", lambda match: repr(inputs[match[1]]), python)
    python = python.replace("&&", " and ").replace("||", " or ")
    python = python.replace("failure()", "FAILED").replace("success()", "(not FAILED)")
    python = python.replace("always()", "True")
    names = {"FAILED": failed, "true": True, "false": False}
    result = bool(eval(python, {"__builtins__": {}}, names))
    return result if has_status else result and not failed


def run_job(
    *, canary: bool, plan: dict[str, str] | None = None, failing=(), environment: str = "prod"
) -> dict[str, str]:
    """Walk the deploy job's steps: each step's outcome (``skipped``, ``success``, ``failure``).

    ``plan`` is what the plan step writes to its outputs; steps named (by id or name) in
    ``failing`` fail when they run.
    """
    (job,) = load("deploy-environment.yml")["jobs"].values()
    steps: dict[str, dict] = {}
    outcomes: dict[str, str] = {}
    failed = False
    for step in job["steps"]:
        key = step.get("id") or step.get("name") or step["uses"]
        runs = evaluate(
            step.get("if", "true"),
            steps=steps,
            inputs={"canary": canary, "environment": environment},
            failed=failed,
        )
        result = "skipped"
        if runs:
            result = "failure" if key in failing else "success"
            failed = failed or result == "failure"
        outputs = (plan or {}) if key == "plan" and runs else {}
        steps[key] = {"outcome": result, "outputs": outputs}
        outcomes[key] = result
    return outcomes


CANARY_PLAN = {"mode": "canary", "serving": "eks", "stable_tag": "1.4.0"}
RELEASE_STEPS = ("Deploy", "canary", "analyze", "promote", "rollback")


def ran(outcomes: dict[str, str]) -> set[str]:
    return {key for key, outcome in outcomes.items() if outcome != "skipped"}


def test_the_condition_evaluator_follows_github_semantics():
    steps = {"a": {"outcome": "success", "outputs": {"mode": "canary"}}}
    assert evaluate("steps.a.outputs.mode == 'canary'", steps=steps, inputs={}, failed=False)
    assert not evaluate("steps.a.outputs.mode == 'canary'", steps=steps, inputs={}, failed=True)
    assert evaluate(
        "failure() && steps.a.outcome == 'success'", steps=steps, inputs={}, failed=True
    )
    assert not evaluate("failure()", steps=steps, inputs={}, failed=False)
    assert evaluate("steps.missing.outputs.mode != 'canary'", steps=steps, inputs={}, failed=False)


def test_without_canary_the_job_deploys_and_smoke_tests_only():
    outcomes = run_job(canary=False)
    assert outcomes["plan"] == "skipped"
    assert ran(outcomes) & set(RELEASE_STEPS) == {"Deploy"}
    assert outcomes["Smoke test the public contract"] == "success"


def test_a_canary_that_passes_its_analysis_is_promoted():
    outcomes = run_job(canary=True, plan=CANARY_PLAN)
    assert ran(outcomes) & set(RELEASE_STEPS) == {"canary", "analyze", "promote"}
    assert outcomes["Smoke test the promoted tag"] == "success"
    assert "failure" not in outcomes.values()


@pytest.mark.parametrize(
    "failing",
    [
        "analyze",  # the canary's 5xx rate or p99 broke a threshold, or an alarm fired
        "Smoke test the public contract",  # the canary answered the smoke test wrongly
        "promote",  # the promoting deploy failed (CloudFormation rolled back to the canary)
    ],
)
def test_a_failing_canary_is_rolled_back_and_the_run_fails(failing):
    outcomes = run_job(canary=True, plan=CANARY_PLAN, failing={failing})
    assert outcomes[failing] == "failure"  # the run fails, saying why in that step
    assert outcomes["rollback"] == "success"
    assert outcomes["Report the rolled-back canary"] == "success"
    assert outcomes["Rollback instructions"] == "skipped"
    assert outcomes["Smoke test the promoted tag"] == "skipped"
    if failing != "promote":
        assert outcomes["promote"] == "skipped"
    assert outcomes["champion"] == "skipped"  # a rolled-back release never becomes champion


def test_a_failed_canary_deploy_is_left_to_cloudformation():
    outcomes = run_job(canary=True, plan=CANARY_PLAN, failing={"canary"})
    assert ran(outcomes) & set(RELEASE_STEPS) == {"canary"}
    assert outcomes["Rollback instructions"] == "success"


def test_sagemaker_waits_for_its_blue_green_update_and_reports_it():
    plan = {"mode": "blue-green", "serving": "sagemaker", "stable_tag": ""}
    assert ran(run_job(canary=True, plan=plan)) & set(RELEASE_STEPS) == {"Deploy", "analyze"}
    failed = run_job(canary=True, plan=plan, failing={"analyze"})
    assert (failed["rollback"], failed["Rollback instructions"]) == ("skipped", "success")


def test_a_first_prod_deploy_has_no_stable_tag_to_compare_and_deploys_directly():
    plan = {"mode": "direct", "serving": "eks", "stable_tag": ""}
    assert ran(run_job(canary=True, plan=plan)) & set(RELEASE_STEPS) == {"Deploy"}


def test_the_release_steps_deploy_the_right_tags():
    (job,) = load("deploy-environment.yml")["jobs"].values()
    steps = {step.get("id") or step["name"]: step for step in job["steps"] if "run" in step}
    assert job["env"]["IMAGE_TAG"] == "${{ inputs.image_tag }}"
    assert commands(steps["plan"]["run"])[0][:2] == ["make", "canary-plan"]
    (canary,) = commands(steps["canary"]["run"])
    assert canary[:2] == ["make", "deploy"]
    # The stable tag stays (read from the deployed stack); the new tag is the canary.
    assert {"IMAGE_TAG=$STABLE_TAG", "CANARY_IMAGE_TAG=$IMAGE_TAG"} <= set(canary)
    assert steps["canary"]["env"]["STABLE_TAG"] == "${{ steps.plan.outputs.stable_tag }}"
    assert steps["canary"]["env"]["CANARY_PERCENT"] == "${{ vars.CANARY_PERCENT || '10' }}"
    (analyze,) = commands(steps["analyze"]["run"])
    assert analyze[:2] == ["make", "canary-analyze"] and "WAIT=true" in analyze
    assert steps["analyze"]["env"]["CANARY_MINUTES"] == "${{ vars.CANARY_MINUTES || '15' }}"
    assert commands(steps["promote"]["run"]) == [
        ["make", "deploy", "ENV=$DEPLOY_ENV", "IMAGE_TAG=$IMAGE_TAG"]
    ]
    assert commands(steps["rollback"]["run"]) == [
        ["make", "deploy", "ENV=$DEPLOY_ENV", "IMAGE_TAG=$STABLE_TAG"]
    ]
    assert steps["rollback"]["env"]["STABLE_TAG"] == "${{ steps.plan.outputs.stable_tag }}"
    # A promotion or rollback redeploys without CANARY_*: one workload, one target group.
    assert not any("CANARY" in word for word in commands(steps["promote"]["run"])[0])


@pytest.mark.parametrize(
    ("environment", "canary", "plan", "expected"),
    [
        ("prod", True, CANARY_PLAN, "success"),  # canary analyzed and promoted
        ("prod", True, {"mode": "direct"}, "success"),  # first deploy: no stable tag yet
        ("staging", False, None, "skipped"),
        ("dev", False, None, "skipped"),
    ],
)
def test_only_a_successful_prod_release_promotes_the_champion(environment, canary, plan, expected):
    outcomes = run_job(canary=canary, plan=plan, environment=environment)
    assert outcomes["champion"] == expected
    if expected == "success":
        assert list(outcomes)[-1] == "champion"


def test_a_failed_smoke_test_never_promotes_the_champion():
    outcomes = run_job(canary=False, failing={"Smoke test the public contract"})
    assert outcomes["champion"] == "skipped"
