"""Issue 15: each GitHub role's trust names its job: repository, environment or branch, and with
``cicd.bind_workflow`` the workflow file GitHub writes into ``job_workflow_ref``."""

from __future__ import annotations

import pytest

from mlops_cdk.config import ConfigError, load_settings
from tests.stacks.test_cicd_training_stacks import AUD, SUB, roles_by_description, trust_condition

REPO = "example-org/mlops-cdk"
"""The default repository: the session's shared syntheses use it."""


def subjects(s) -> dict[str, str]:
    roles = roles_by_description(s.template(s.stacks.cicd))
    conditions = {name: trust_condition(role) for name, role in roles.items()}
    for condition in conditions.values():
        assert set(condition) == {"StringEquals"}
        assert condition["StringEquals"][AUD] == "sts.amazonaws.com"
    return {name: condition["StringEquals"][SUB] for name, condition in conditions.items()}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_without_binding_deploy_trusts_its_environment_and_retrain_the_branch(synth, env):
    assert subjects(synth(env)) == {
        "deploy.yml": f"repo:{REPO}:environment:{env}",
        "retrain.yml": f"repo:{REPO}:ref:refs/heads/main",
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_with_binding_each_subject_names_its_workflow_file_on_the_branch(synth, env):
    s = synth(env, github_bind_workflow="true")
    workflows = f"{REPO}/.github/workflows"
    assert subjects(s) == {
        "deploy.yml": f"repo:{REPO}:environment:{env}:job_workflow_ref:"
        f"{workflows}/deploy-environment.yml@refs/heads/main",
        "retrain.yml": f"repo:{REPO}:ref:refs/heads/main:job_workflow_ref:"
        f"{workflows}/retrain.yml@refs/heads/main",
    }


def test_there_is_no_ci_role_and_no_ci_output(synth):
    s = synth("dev")
    t = s.template(s.stacks.cicd)
    assert len(t.find_resources("AWS::IAM::Role")) == 2
    assert set(roles_by_description(t)) == {"deploy.yml", "retrain.yml"}
    assert not [name for name in t.find_outputs("*") if name.startswith("Ci")]


@pytest.mark.parametrize(("env", "other"), [("prod", "dev"), ("prod", "staging"), ("dev", "prod")])
def test_a_deploy_role_cannot_trust_another_environments_github_environment(env, other):
    with pytest.raises(ConfigError) as caught:
        load_settings({"env": env}, {}, {"cicd": {"deploy_environment": other}})
    assert f"{env}.cicd.deploy_environment = '{other}': names another mlops-cdk environment" in (
        str(caught.value)
    )
    assert f"use '{env}'" in str(caught.value)


def test_a_custom_github_environment_name_is_allowed():
    settings = load_settings({"env": "prod"}, {}, {"cicd": {"deploy_environment": "production"}})
    assert settings.cicd.deploy_environment == "production"


def test_bind_workflow_defaults_off_and_reads_the_context_key():
    assert load_settings({"env": "dev"}).cicd.bind_workflow is False
    assert load_settings({"env": "dev", "github_bind_workflow": "true"}).cicd.bind_workflow
    with pytest.raises(ConfigError, match=r"dev\.cicd\.bind_workflow = 'yes'"):
        load_settings({"env": "dev", "github_bind_workflow": "yes"})
