"""One scoped bootstrap per environment: qualifiers, the boundary on every role, the policies."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from mlops_cdk.bootstrap import (
    BootstrapTarget,
    bootstrap_command,
    boundary_policy,
    execution_policy,
    execution_policy_name,
    role_actions,
    service_prefix,
)
from mlops_cdk.config import ENVIRONMENTS, load_settings
from mlops_cdk.platform import build_platform
from scripts.bootstrap import MAX_POLICY_VERSIONS, ensure_managed_policy, install_policies, main
from tests.conftest import CDK_JSON_CONTEXT, ENVS, ROOT, SERVINGS

QUALIFIERS = {"dev": "mlopsdev", "staging": "mlopsstg", "prod": "mlopsprod"}
MANAGED_POLICY_MAX_CHARS = 6144
"""IAM's size limit of a customer-managed policy (whitespace excluded)."""


def templates_of(outdir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(outdir.glob("*.template.json"))]


def environment_templates(synth, env: str) -> list[dict]:
    """Every template of ``env`` over both serving paths, as ``scripts/bootstrap.py`` reads them."""
    return [
        template for serving in SERVINGS for template in templates_of(synth(env, serving).outdir)
    ]


def target_of(env: str) -> BootstrapTarget:
    return BootstrapTarget.from_settings(load_settings({"env": env}, {}))


def actions(statement: dict) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(("env", "serving"), [("dev", "sagemaker"), ("prod", "eks")])
def test_each_environment_synthesizes_for_its_own_bootstrap(synth, env, serving):
    s = synth(env, serving)
    qualifier = QUALIFIERS[env]
    assert s.settings.cicd.bootstrap_qualifier == qualifier
    manifest = json.loads((s.outdir / "manifest.json").read_text())["artifacts"]
    for stack in s.stacks.all():
        template = json.loads((s.outdir / f"{stack.artifact_id}.template.json").read_text())
        assert template["Parameters"]["BootstrapVersion"]["Default"] == (
            f"/cdk-bootstrap/{qualifier}/version"
        )
        properties = manifest[stack.artifact_id]["properties"]
        assert f"role/cdk-{qualifier}-deploy-role-" in properties["assumeRoleArn"]
        assert (
            f"role/cdk-{qualifier}-cfn-exec-role-" in properties["cloudFormationExecutionRoleArn"]
        )
        assets = json.loads((s.outdir / f"{stack.artifact_id}.assets.json").read_text())
        for asset in assets["files"].values():
            for destination in asset["destinations"].values():
                assert destination["bucketName"].startswith(f"cdk-{qualifier}-assets-")
                assert f"role/cdk-{qualifier}-file-publishing-role-" in destination["assumeRoleArn"]
    assume = [
        statement
        for policy in s.template(s.stacks.cicd).find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sts:AssumeRole" in actions(statement)
    ]
    assert assume and all(f"cdk-{qualifier}-" in json.dumps(st["Resource"]) for st in assume)
    assert "hnb659fds" not in json.dumps(assume)


@pytest.mark.parametrize("serving", SERVINGS)
@pytest.mark.parametrize("env", ENVS)
def test_every_role_of_every_template_carries_the_boundary(synth, env, serving):
    s = synth(env, serving)
    boundary = f":iam::123456789012:policy/cdk-{QUALIFIERS[env]}-role-boundary"
    roles = {
        f"{path.name}:{logical_id}": resource
        for path in s.outdir.glob("*.template.json")
        for logical_id, resource in json.loads(path.read_text())["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert len(roles) > 5
    unbounded = [
        name
        for name, role in roles.items()
        if boundary not in json.dumps(role["Properties"].get("PermissionsBoundary"))
    ]
    assert not unbounded
    # CDK's own providers are raw CfnResource roles: the stack-level boundary covers them too.
    assert any("Provider" in name or "CustomResource" in name for name in roles)


def test_the_boundary_is_turned_off_by_name(tmp_path):
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(tmp_path))
    settings = load_settings({"env": "dev"}, {}, {"cicd": {"permissions_boundary": False}})
    roles = Template.from_stack(build_platform(app, settings).cicd).find_resources("AWS::IAM::Role")
    assert roles
    assert all("PermissionsBoundary" not in role["Properties"] for role in roles.values())


@pytest.mark.parametrize("env", ENVS)
def test_the_execution_policy_is_scoped_and_requires_the_boundary(synth, env):
    target = target_of(env)
    policy = execution_policy(environment_templates(synth, env), target)
    statements = policy["Statement"]
    allowed = [action for st in statements if st["Effect"] == "Allow" for action in actions(st)]
    assert "*" not in allowed and "*:*" not in allowed
    assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", action) for action in allowed)
    assert "iam:*" not in allowed and "sts:*" not in allowed
    assert {"ec2:*", "eks:*", "lambda:*", "sagemaker:*"} <= set(allowed)
    bounded = ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy")
    for statement in statements:
        if statement["Effect"] == "Allow" and set(bounded) & set(actions(statement)):
            assert statement["Condition"] == {
                "StringEquals": {"iam:PermissionsBoundary": target.boundary_arn}
            }
            assert statement["Resource"].endswith(f":role/MlopsCdk-{env}-*")
    assert sum("iam:CreateRole" in actions(st) for st in statements if st["Effect"] == "Allow") == 1
    passing = next(st for st in statements if "iam:PassRole" in actions(st))
    assert "lambda.amazonaws.com" in passing["Condition"]["StringEquals"]["iam:PassedToService"]
    denied = {action for st in statements if st["Effect"] == "Deny" for action in actions(st)}
    assert {"iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion"} <= denied
    edits = next(st for st in statements if st.get("Sid") == "DenyBootstrapPolicyEdits")
    assert target.boundary_arn in edits["Resource"]
    assert len(json.dumps(policy, separators=(",", ":"))) < MANAGED_POLICY_MAX_CHARS


@pytest.mark.parametrize("env", ENVS)
def test_the_boundary_covers_every_role_action_and_guards_itself(synth, env):
    templates = environment_templates(synth, env)
    target = target_of(env)
    policy = boundary_policy(templates, target)
    allowed = {
        action for st in policy["Statement"] if st["Effect"] == "Allow" for action in actions(st)
    }
    assert "*" not in allowed and "*:*" not in allowed and "iam:*" not in allowed
    needed = role_actions(templates) | {
        action
        for st in execution_policy(templates, target)["Statement"]
        if st["Effect"] == "Allow"
        for action in actions(st)
    }
    uncovered = [
        action
        for action in needed
        if action not in allowed and f"{action.split(':')[0]}:*" not in allowed
    ]
    assert not uncovered
    unbounded = next(st for st in policy["Statement"] if st["Sid"] == "DenyUnboundedRolesAndUsers")
    assert unbounded["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"] == (
        target.boundary_arn
    )
    assert len(json.dumps(policy, separators=(",", ":"))) < MANAGED_POLICY_MAX_CHARS


ALLOW_ALL = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def role(**properties) -> dict:
    trust = {"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}}]}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": trust, **properties},
    }


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"Q": {"Type": "AWS::Kinesis::Stream"}}, "AWS::Kinesis::Stream: no IAM service prefix"),
        ({"U": {"Type": "AWS::IAM::User"}}, "AWS::IAM::User: no IAM actions mapped"),
        (
            {"R": role(ManagedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])},
            "AWS managed policy AdministratorAccess: its actions are unknown",
        ),
        (
            {"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": ALLOW_ALL}}},
            "action '*': the boundary needs a service:action",
        ),
    ],
)
def test_generation_fails_on_what_it_cannot_scope(resources, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        boundary_policy([{"Resources": resources}], target_of("dev"))


def test_service_prefixes_follow_iam_not_cloudformation():
    assert service_prefix("AWS::ElasticLoadBalancingV2::LoadBalancer") == "elasticloadbalancing"
    assert service_prefix("AWS::ApiGatewayV2::Api") == "apigateway"


def test_the_bootstrap_command_names_qualifier_policy_and_boundary():
    target = target_of("prod")
    command = bootstrap_command(target)
    assert command[:4] == ["npx", "cdk", "bootstrap", "aws://123456789012/us-east-1"]
    flags = dict(zip(command[4::2], command[5::2], strict=True))
    assert flags == {
        "--qualifier": "mlopsprod",
        "--toolkit-stack-name": "CDKToolkit-mlopsprod",
        "--cloudformation-execution-policies": (
            "arn:aws:iam::123456789012:policy/cdk-mlopsprod-cfn-exec-policy"
        ),
        "--custom-permissions-boundary": "cdk-mlopsprod-role-boundary",
    }


@mock_aws
def test_install_policies_creates_updates_and_prunes_both_policies_under_moto(synth):
    iam = boto3.client("iam", region_name="us-east-1")
    account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    settings = load_settings({"env": "dev", "account": account}, {})
    target = BootstrapTarget.from_settings(settings)
    templates = environment_templates(synth, "dev")
    command = install_policies(iam, target, templates)
    assert command == bootstrap_command(target)
    for arn, expected in (
        (target.boundary_arn, boundary_policy(templates, target)),
        (target.execution_policy_arn, execution_policy(templates, target)),
    ):
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        assert document["Document"] == expected
    install_policies(iam, target, templates)
    assert len(iam.list_policy_versions(PolicyArn=target.boundary_arn)["Versions"]) == 1
    name = execution_policy_name(target.qualifier)
    for number in range(MAX_POLICY_VERSIONS + 1):
        statement = {"Effect": "Allow", "Action": f"sqs:Get{number}", "Resource": "*"}
        ensure_managed_policy(
            iam, target, name, {"Version": "2012-10-17", "Statement": [statement]}
        )
    versions = iam.list_policy_versions(PolicyArn=target.execution_policy_arn)["Versions"]
    assert len(versions) == MAX_POLICY_VERSIONS
    (default,) = [version for version in versions if version["IsDefaultVersion"]]
    latest = iam.get_policy_version(
        PolicyArn=target.execution_policy_arn, VersionId=default["VersionId"]
    )
    assert latest["PolicyVersion"]["Document"]["Statement"][0]["Action"] == (
        f"sqs:Get{MAX_POLICY_VERSIONS}"
    )


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_make_bootstrap_policy_prints_the_execution_policy_as_json():
    result = make("bootstrap-policy", "ENV=dev")
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)
    assert policy["Version"] == "2012-10-17"
    assert "arn:aws:iam::123456789012:policy/cdk-mlopsdev-role-boundary" in result.stdout


@pytest.mark.parametrize("target", ["bootstrap-policy", "bootstrap"])
@pytest.mark.parametrize("env", ["dev;touch injected", "dev prod", "qa", ""])
def test_make_bootstrap_rejects_an_unknown_env_before_running_anything(target, env):
    injected = ROOT / "injected"
    result = make(target, f"ENV={env}")
    assert result.returncode != 0
    assert f"ENV = {env!r}: must be dev, staging or prod; nothing was run" in result.stderr
    assert result.stdout == ""
    assert not injected.exists()


def test_the_script_refuses_an_environment_without_the_boundary(monkeypatch, capsys):
    cicd = {"bootstrap_qualifier": "mlopsdev", "permissions_boundary": False}
    monkeypatch.setitem(ENVIRONMENTS["dev"], "cicd", cicd)
    assert main(["policy", "--env", "dev"]) == 1
    assert (
        "dev.cicd.permissions_boundary = False: this bootstrap requires" in capsys.readouterr().err
    )
