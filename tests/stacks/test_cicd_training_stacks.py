"""CicdStack and TrainingStack: OIDC trust per role, scoped grants, MLflow server, retrain pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from mlops_cdk.config import load_settings
from mlops_cdk.constructs._props import ConstructValidationError
from mlops_cdk.constructs.github_oidc import GitHubActionsRole, GitHubOidcProvider
from mlops_cdk.constructs.mlflow_app import MlflowApp
from mlops_cdk.pipelines import (
    DEFINITION_PATH,
    PARAMETER_INPUT_BUCKET,
    PARAMETER_INPUT_PREFIX,
    retrain_pipeline_name,
)
from mlops_cdk.platform import add_security_checks, build_platform
from tests.cfn_lint import cfn_lint
from tests.conftest import CDK_JSON_CONTEXT, synthesize

AUD = "token.actions.githubusercontent.com:aud"
SUB = "token.actions.githubusercontent.com:sub"


@pytest.fixture(scope="module")
def sagemaker_target(tmp_path_factory):
    """dev with retraining.target = sagemaker and a Medium MLflow tracking server (the
    instance-based option), synthesized under cdk-nag."""
    outdir = tmp_path_factory.mktemp("cdk-sagemaker-target")
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(outdir))
    mlflow = {"enabled": True, "kind": "tracking_server", "size": "Medium"}
    settings = load_settings(
        {"env": "dev"}, {}, {"retraining": {"target": "sagemaker"}, "mlflow": mlflow}
    )
    stacks = build_platform(app, settings)
    add_security_checks(app)
    app.synth()

    def template(stack: cdk.Stack) -> Template:
        path = Path(outdir) / f"{stack.artifact_id}.template.json"
        return Template.from_json(json.loads(path.read_text()))

    template.outdir = Path(outdir)
    return settings, stacks, template


def roles_by_description(t: Template) -> dict[str, dict]:
    roles = t.find_resources("AWS::IAM::Role")
    return {r["Properties"]["Description"].split(" ")[0]: r for r in roles.values()}


def trust_condition(role: dict) -> dict:
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return statement["Condition"]


def test_native_oidc_provider_for_github_with_the_sts_audience(synth):
    s = synth("dev")
    t = s.template(s.stacks.cicd)
    t.has_resource(
        "AWS::IAM::OIDCProvider",
        {
            "Properties": {
                "Url": "https://token.actions.githubusercontent.com",
                "ClientIdList": ["sts.amazonaws.com"],
            },
            "DeletionPolicy": "Retain",
        },
    )
    t.resource_count_is("Custom::AWSCDKOpenIdConnectProvider", 0)


def test_each_role_trusts_one_repository_and_one_branch_or_environment(synth):
    s = synth("prod")
    t = s.template(s.stacks.cicd)
    repo = s.settings.retraining.github_repository
    roles = roles_by_description(t)
    expected = {
        "retrain.yml": f"repo:{repo}:ref:refs/heads/main",
        "deploy.yml": f"repo:{repo}:environment:prod",
    }
    assert set(roles) == set(expected)
    for name, sub in expected.items():
        assert trust_condition(roles[name]) == {
            "StringEquals": {AUD: "sts.amazonaws.com", SUB: sub}
        }
        assert roles[name]["Properties"]["MaxSessionDuration"] == 3600


def test_dev_and_staging_deploy_roles_trust_their_own_environment(synth):
    for env in ("dev", "staging"):
        s = synth(env)
        deploy = roles_by_description(s.template(s.stacks.cicd))["deploy.yml"]
        assert trust_condition(deploy)["StringEquals"][SUB].endswith(f":environment:{env}")


def test_an_existing_provider_is_reused_not_created(tmp_path):
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(tmp_path))
    settings = load_settings({"env": "dev"}, {}, {"cicd": {"existing_oidc_provider_arn": arn}})
    stacks = build_platform(app, settings)
    t = Template.from_stack(stacks.cicd)
    t.resource_count_is("AWS::IAM::OIDCProvider", 0)
    role = roles_by_description(t)["retrain.yml"]
    statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Federated": arn}


def test_cicd_disabled_creates_no_stack(tmp_path):
    app = cdk.App(context=CDK_JSON_CONTEXT, outdir=str(tmp_path))
    stacks = build_platform(app, load_settings({"env": "dev"}, {}, {"cicd": {"enabled": False}}))
    assert stacks.cicd is None and stacks.training is None


def policy_of(t: Template, role_name: str) -> list[dict]:
    roles = t.find_resources("AWS::IAM::Role")
    logical = next(
        k for k, r in roles.items() if r["Properties"]["Description"].startswith(role_name)
    )
    policies = [
        p
        for p in t.find_resources("AWS::IAM::Policy").values()
        if {"Ref": logical} in p["Properties"]["Roles"]
    ]
    return [st for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]]


def test_deploy_role_may_only_assume_the_named_bootstrap_roles_and_invoke_predict(synth):
    s = synth("dev")
    statements = policy_of(s.template(s.stacks.cicd), "deploy.yml")
    assume = next(st for st in statements if "sts:AssumeRole" in st["Action"])
    resources = json.dumps(assume["Resource"])
    for kind in ("deploy", "file-publishing", "image-publishing", "lookup"):
        assert f"role/cdk-mlopsdev-{kind}-role-123456789012-us-east-1" in resources
    assert "*" not in resources
    invoke = next(st for st in statements if st["Action"] == "execute-api:Invoke")
    # Scoped to the serving API (issue 13): its id, its $default stage, the predict route only.
    (api_output,) = [
        p["Fn::GetStackOutput"]["OutputName"]
        for p in invoke["Resource"]["Fn::Join"][1]
        if isinstance(p, dict) and "Fn::GetStackOutput" in p
    ]
    assert api_output.startswith("PublishOutputRefApiHttpApi")
    assert (
        invoke["Resource"]["Fn::Join"][1][-1] == "/$default/POST/v1/models/fraud-detection:predict"
    )
    assert len(statements) == 2


def test_only_the_prod_deploy_role_may_promote_the_champion(synth):
    """make promote runs in the prod deploy job: read releases, write the champion record only,
    move the MLflow alias on the one app."""
    s = synth("prod")
    statements = policy_of(s.template(s.stacks.cicd), "deploy.yml")
    (put,) = [st for st in statements if "s3:PutObject" in st["Action"]]
    assert json.dumps(put["Resource"]).endswith('/models/fraud-detection/champion/*"]]}')
    assert "s3:DeleteObject*" not in put["Action"]
    reads = [st for st in statements if "s3:GetObject*" in st["Action"]]
    assert any('/models/*"]]}' in json.dumps(st["Resource"]) for st in reads)
    assert not any("s3:PutObject" in st["Action"] for st in reads)
    mlflow = next(st for st in statements if "sagemaker:CallMlflowAppApi" in st["Action"])
    assert "MlflowApp" in json.dumps(mlflow["Resource"])
    dev = policy_of(synth("dev").template(synth("dev").stacks.cicd), "deploy.yml")
    assert not any("s3:" in json.dumps(st["Action"]) for st in dev)


def test_retrain_role_reads_new_data_writes_models_and_pushes_images(synth):
    s = synth("dev")
    statements = policy_of(s.template(s.stacks.cicd), "retrain.yml")
    text = json.dumps(statements)
    assert "/incoming/*" in text and "/models/*" in text
    assert "s3:PutObject" in text and "ecr:PutImage" in text
    assert "sagemaker-mlflow" not in text  # dev has no tracking server
    data_statement = next(st for st in statements if "/incoming/*" in json.dumps(st["Resource"]))
    assert "s3:PutObject" not in data_statement["Action"]


def test_prod_runs_serverless_mlflow_in_the_artifacts_bucket_and_grants_the_retrain_role(synth):
    """Issue 17: the serverless MLflow App is prod's default; no hourly tracking server."""
    s = synth("prod")
    training = s.template(s.stacks.training)
    training.resource_count_is("AWS::SageMaker::MlflowTrackingServer", 0)
    training.has_resource_properties(
        "AWS::SageMaker::MlflowApp",
        {
            "Name": "mlopscdk-prod-mlflow",
            "ModelRegistrationMode": "AutoModelRegistrationDisabled",
            "RoleArn": Match.object_like({"Fn::GetAtt": Match.any_value()}),
        },
    )
    ((app_id, app),) = training.find_resources("AWS::SageMaker::MlflowApp").items()
    assert json.dumps(app["Properties"]["ArtifactStoreUri"]).endswith('/mlflow/"]]}')
    # The app's own role reads and writes the MLflow prefix of the artifacts bucket, nothing else.
    app_role = app["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    (app_policy,) = [
        p
        for p in training.find_resources("AWS::IAM::Policy").values()
        if {"Ref": app_role} in p["Properties"]["Roles"]
    ]
    objects = [
        r
        for st in app_policy["Properties"]["PolicyDocument"]["Statement"]
        for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
        if "/" in json.dumps(r)
    ]
    assert objects and all(json.dumps(r).endswith('/mlflow/*"]]}') for r in objects)
    output = training.find_outputs("MlflowTrackingUri")["MlflowTrackingUri"]
    assert output["Value"] == {"Fn::GetAtt": [app_id, "Arn"]}
    statements = policy_of(s.template(s.stacks.cicd), "retrain.yml")
    mlflow = next(st for st in statements if "sagemaker-mlflow:*" in st["Action"])
    assert set(mlflow["Action"]) == {
        "sagemaker:CallMlflowAppApi",
        "sagemaker-mlflow:*",
        "sagemaker:DescribeMlflowApp",
        "sagemaker:CreatePresignedMlflowAppUrl",
    }
    (resource,) = (
        mlflow["Resource"] if isinstance(mlflow["Resource"], list) else [mlflow["Resource"]]
    )
    assert resource["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputFnGetAttMlflowApp")
    assert "/mlflow/*" in json.dumps(statements)


def test_the_tracking_server_option_runs_a_sized_server_instead(sagemaker_target):
    _, stacks, template = sagemaker_target
    training = template(stacks.training)
    training.resource_count_is("AWS::SageMaker::MlflowApp", 0)
    training.has_resource_properties(
        "AWS::SageMaker::MlflowTrackingServer",
        {"TrackingServerName": "mlopscdk-dev-mlflow", "TrackingServerSize": "Medium"},
    )
    ((server_id, _),) = training.find_resources("AWS::SageMaker::MlflowTrackingServer").items()
    output = training.find_outputs("MlflowTrackingUri")["MlflowTrackingUri"]
    assert output["Value"] == {"Fn::GetAtt": [server_id, "TrackingServerArn"]}
    statements = policy_of(template(stacks.cicd), "retrain.yml")
    mlflow = next(st for st in statements if "sagemaker-mlflow:*" in st["Action"])
    assert "sagemaker:CallMlflowAppApi" not in mlflow["Action"]
    assert "TrackingServerArn" in json.dumps(mlflow["Resource"])


def test_mlflow_app_rejects_invalid_arguments():
    app = cdk.App(context=CDK_JSON_CONTEXT)
    stack = cdk.Stack(app, "S")
    with pytest.raises(ConstructValidationError) as raised:
        MlflowApp(
            stack,
            "Mlflow",
            artifacts_bucket=s3.Bucket(stack, "A"),
            app_name="bad_name",
            artifact_prefix="/mlflow",
            weekly_maintenance_window_start="Sunday 3am",
        )
    message = str(raised.value)
    assert "S/Mlflow: app_name = 'bad_name': is not an MLflow App name" in message
    assert "artifact_prefix = '/mlflow': must end with '/'" in message
    assert "weekly_maintenance_window_start = 'Sunday 3am': is not a weekly window start" in message


def test_dev_has_no_training_stack_by_default(synth):
    assert synth("dev").stacks.training is None


def test_sagemaker_target_creates_the_pipeline_the_dispatcher_expects(sagemaker_target):
    settings, stacks, template = sagemaker_target
    t = template(stacks.training)
    name = retrain_pipeline_name(settings.stack_prefix)
    assert name == "mlopscdk-dev-retrain"
    t.has_resource_properties("AWS::SageMaker::Pipeline", {"PipelineName": name})
    t.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup", {"ModelPackageGroupName": f"{name}-models"}
    )
    statements = policy_of(template(stacks.cicd), "retrain.yml")
    start = next(st for st in statements if "sagemaker:StartPipelineExecution" in st["Action"])
    assert f"pipeline/{name}" in json.dumps(start["Resource"])


def rendered_body(t: Template) -> str:
    """The pipeline body with every CloudFormation reference replaced by <ref>."""
    (pipeline,) = t.find_resources("AWS::SageMaker::Pipeline").values()
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    if isinstance(body, str):
        return body
    return "".join(p if isinstance(p, str) else "<ref>" for p in body["Fn::Join"][1])


def test_the_deployed_definition_is_the_committed_one_with_placeholders_filled(sagemaker_target):
    _, stacks, template = sagemaker_target
    body = rendered_body(template(stacks.training))
    assert "__" not in body.replace("__pycache__", "")
    deployed, committed = json.loads(body), json.loads(DEFINITION_PATH.read_text())
    assert [p["Name"] for p in deployed["Parameters"]] == [
        p["Name"] for p in committed["Parameters"]
    ]
    assert {PARAMETER_INPUT_BUCKET, PARAMETER_INPUT_PREFIX} <= {
        p["Name"] for p in deployed["Parameters"]
    }

    def shape(step: dict) -> tuple:
        return step["Name"], step["Type"]

    assert list(map(shape, deployed["Steps"])) == list(map(shape, committed["Steps"]))
    train = next(s for s in deployed["Steps"] if s["Name"] == "Train")
    image = train["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert (
        image == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    preprocess = next(s for s in deployed["Steps"] if s["Name"] == "Preprocess")
    entry = preprocess["Arguments"]["AppSpecification"]["ContainerEntrypoint"][1]
    assert entry.startswith("/opt/ml/processing/input/code/") and entry.endswith(".py")


def test_the_sagemaker_target_templates_pass_cfn_lint(sagemaker_target):
    _, _, template = sagemaker_target
    templates = sorted(str(p) for p in template.outdir.glob("*Training.template.json"))
    templates += sorted(str(p) for p in template.outdir.glob("*Cicd.template.json"))
    result = cfn_lint(templates)
    assert len(templates) == 2
    assert result.returncode == 0, result.stdout + result.stderr


OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_context_keys_import_the_provider_and_name_the_repository_everywhere(tmp_path):
    """Issue 18: -c github_oidc_provider_arn imports (no EntityAlreadyExists); -c
    github_repository reaches both the roles' trust and the dispatcher's environment."""
    s = synthesize(
        tmp_path, env="dev", github_repository="acme/fraud", github_oidc_provider_arn=OIDC_ARN
    )
    cicd = s.template(s.stacks.cicd)
    cicd.resource_count_is("AWS::IAM::OIDCProvider", 0)
    for role in roles_by_description(cicd).values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": OIDC_ARN}
        assert trust_condition(role)["StringEquals"][SUB].startswith("repo:acme/fraud:")
    retraining = s.template(s.stacks.retraining)
    retraining.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"GITHUB_REPOSITORY": "acme/fraud"})}},
    )
    for stack in (s.stacks.cicd, s.stacks.retraining):
        Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("placeholder"))


def test_the_placeholder_repository_and_latest_tag_warn_at_synth(synth):
    s = synth("dev")
    for stack in (s.stacks.cicd, s.stacks.retraining):
        Annotations.from_stack(stack).has_warning(
            "*", Match.string_like_regexp("github_repository = 'example-org/mlops-cdk'")
        )
    Annotations.from_stack(s.stacks.registry).has_warning(
        "*", Match.string_like_regexp("image_tag = 'latest'")
    )


def test_the_provider_helpers_import_it_by_its_deterministic_arn():
    app = cdk.App(context=CDK_JSON_CONTEXT)
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    arn = GitHubOidcProvider.arn_for_account(stack)
    provider = GitHubOidcProvider(
        stack, "Oidc", existing_provider=GitHubOidcProvider.from_arn(stack, "Imported", arn)
    )
    GitHubActionsRole(
        stack,
        "Role",
        provider=provider.provider,
        repository="acme/fraud",
        branch="main",
        description="d",
    )
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::IAM::OIDCProvider", 0)
    (role,) = t.find_resources("AWS::IAM::Role").values()
    federated = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert "oidc-provider/token.actions.githubusercontent.com" in json.dumps(federated)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"repository": "no-slash", "branch": "main"},
            "repository = 'no-slash': is not 'owner/name'",
        ),
        (
            {"repository": "a/b"},
            "branch = None: a branch or a GitHub environment is needed (environment = None)",
        ),
        (
            {"repository": "a/b", "branch": "main", "environment": "dev"},
            "branch = 'main': with environment = 'dev' a branch only names the ref of workflow",
        ),
        (
            {"repository": "a/b", "environment": "dev", "workflow": "deploy.yml"},
            "workflow = 'deploy.yml': binds the workflow at refs/heads/<branch>, but branch = None",
        ),
        (
            {"repository": "a/b", "branch": "main", "workflow": "../deploy.yml"},
            "workflow = '../deploy.yml': is not a workflow file name",
        ),
    ],
)
def test_actions_role_rejects_invalid_arguments(kwargs, fragment):
    app = cdk.App(context=CDK_JSON_CONTEXT)
    stack = cdk.Stack(app, "S")
    provider = GitHubOidcProvider(stack, "Oidc").provider
    with pytest.raises(ConstructValidationError, match=re.escape(f"S/Role: {fragment}")):
        GitHubActionsRole(stack, "Role", provider=provider, description="d", **kwargs)
