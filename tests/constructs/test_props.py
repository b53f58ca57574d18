"""The props convention shared by the constructs: merge, reuse-or-adjust, one error format."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from mlops_cdk.constructs import (
    AlarmTopic,
    MlflowTrackingServer,
    ModelImageRepository,
    MonthlyBudget,
    PlatformStorage,
    PlatformVpc,
    SageMakerModelEndpoint,
)
from mlops_cdk.constructs._props import (
    ConstructValidationError,
    ConstructValidator,
    check_existing_or_props,
    merge_props,
)
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.constructs.mlflow_tracking_server import MLFLOW_VERSION
from tests.conftest import CDK_JSON_CONTEXT, ROOT


def new_stack() -> cdk.Stack:
    app = cdk.App(context=CDK_JSON_CONTEXT)
    return cdk.Stack(app, "Lib", env=cdk.Environment(account="111122223333", region="eu-west-1"))


def test_deep_merge_keeps_nested_defaults_and_required_wins():
    stack = new_stack()
    merged = merge_props(
        stack,
        {"tags": {"team": "ml", "cost": "a"}, "size": 1},
        {"tags": {"cost": "b"}, "size": 2},
        {"tags": {"owner": "platform"}},
    )
    assert merged == {"tags": {"team": "ml", "cost": "b", "owner": "platform"}, "size": 2}


def test_overriding_a_security_relevant_default_warns_and_others_do_not():
    stack = new_stack()
    sns.Topic(stack, "Something")  # a template needs a resource
    merge_props(
        stack,
        {"versioned": True, "description": "x"},
        {"versioned": False, "description": "y"},
        security_keys=("versioned",),
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    texts = [str(w.entry.data) for w in warnings]
    assert any("versioned override secure defaults" in t for t in texts), texts
    assert not any("description" in t for t in texts)


def test_a_bucket_props_override_of_encryption_warns_on_the_storage_construct():
    stack = new_stack()
    PlatformStorage(stack, "Storage", data_bucket_props={"versioned": False})
    Annotations.from_stack(stack).has_warning(
        "/Lib/Storage", Match.string_like_regexp("versioned override secure defaults")
    )


def test_ignored_required_props_still_warn():
    stack = new_stack()
    ModelImageRepository(
        stack, "Repo", repository_props={"image_tag_mutability": ecr.TagMutability.MUTABLE}
    )
    Annotations.from_stack(stack).has_warning(
        "/Lib/Repo", Match.string_like_regexp("image_tag_mutability are set by the construct")
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::Repository", {"ImageTagMutability": "IMMUTABLE"}
    )


def existing_and_props(stack: cdk.Stack) -> dict[str, tuple]:
    bucket = s3.Bucket.from_bucket_name(stack, "Mine", "mine")
    return {
        "data_bucket": (
            lambda: PlatformStorage(
                stack, "S1", existing_data_bucket=bucket, data_bucket_props={"versioned": False}
            ),
            "existing_data_bucket and data_bucket_props",
        ),
        "artifacts_bucket": (
            lambda: PlatformStorage(
                stack, "S2", existing_artifacts_bucket=bucket, artifacts_bucket_props={"a": 1}
            ),
            "existing_artifacts_bucket and artifacts_bucket_props",
        ),
        "topic": (
            lambda: AlarmTopic(
                stack,
                "T",
                existing_topic=sns.Topic.from_topic_arn(
                    stack, "Topic", "arn:aws:sns:eu-west-1:111122223333:t"
                ),
                topic_props={"display_name": "x"},
            ),
            "existing_topic and topic_props",
        ),
        "repository": (
            lambda: ModelImageRepository(
                stack,
                "R",
                existing_repository=ecr.Repository.from_repository_name(stack, "Repo", "r"),
                repository_props={"repository_name": "x"},
            ),
            "existing_repository and repository_props",
        ),
        "vpc": (
            lambda: PlatformVpc(
                stack,
                "V",
                existing_vpc=ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0),
                vpc_props={"max_azs": 2},
            ),
            "existing_vpc and vpc_props",
        ),
        "secret": (
            lambda: GitHubTokenSecret(
                stack,
                "G",
                existing_secret=GitHubTokenSecret(stack, "Other").secret,
                secret_props={"description": "x"},
            ),
            "existing_secret and secret_props",
        ),
        "security_group": (
            lambda: SageMakerModelEndpoint(
                stack,
                "E",
                endpoint_name="e",
                repository=ecr.Repository.from_repository_name(stack, "Image", "i"),
                image_tag="1",
                model_artifacts_bucket=bucket,
                variant="serverless",
                data_capture_percent=0,
                existing_security_group=ec2.SecurityGroup.from_security_group_id(
                    stack, "Sg", "sg-1"
                ),
                security_group_props={"description": "x"},
            ),
            "existing_security_group and security_group_props",
        ),
    }


@pytest.mark.parametrize(
    "resource",
    ["data_bucket", "artifacts_bucket", "topic", "repository", "vpc", "secret", "security_group"],
)
def test_existing_with_props_raises_naming_both(resource):
    build, names = existing_and_props(new_stack())[resource]
    with pytest.raises(ConstructValidationError, match=names):
        build()


def test_check_existing_or_props_accepts_either_alone():
    stack = new_stack()
    check_existing_or_props(stack, "existing_x", object(), "x_props", None)
    check_existing_or_props(stack, "existing_x", None, "x_props", {"a": 1})


def test_existing_with_props_is_reported_with_the_other_problems():
    stack = new_stack()
    existing = ecr.Repository.from_repository_name(stack, "Repo", "r")
    with pytest.raises(ConstructValidationError) as info:
        ModelImageRepository(
            stack,
            "R",
            keep_last=0,
            existing_repository=existing,
            repository_props={"repository_name": "x"},
        )
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Lib/R: existing_repository and repository_props are both set")
    assert lines[1] == "Lib/R: keep_last = 0: out of range; keep 1-10000 images"


def test_an_existing_vpc_skips_the_checks_of_a_vpc_to_create():
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Mine", max_azs=1, nat_gateways=0)
    platform_vpc = PlatformVpc(stack, "Vpc", existing_vpc=vpc, nat_gateways=5)
    assert platform_vpc.vpc is vpc and platform_vpc.flow_log_group is None


def test_validator_collects_every_problem_in_one_format():
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as info:
        MonthlyBudget(
            stack,
            "Budget",
            limit_usd=0,
            topic=sns.Topic(stack, "T"),
            alert_percents=(),
        )
    lines = str(info.value).splitlines()
    assert lines == [
        "Lib/Budget: limit_usd = 0: must be > 0; e.g. 100",
        "Lib/Budget: alert_percents = (): needs 1 to 4 percentages (Budgets allows 5 "
        "notifications per budget, one is the forecast); e.g. (80, 100)",
    ]
    assert all(re.match(r"^\S+: \w+ = .+: .+; .+$", line) for line in lines)


def test_token_valued_arguments_pass_construct_validation():
    stack = new_stack()
    limit = cdk.CfnParameter(stack, "Limit", type="Number").value_as_number
    prefix = cdk.CfnParameter(stack, "Prefix").value_as_string
    MonthlyBudget(stack, "Budget", limit_usd=limit, topic=sns.Topic(stack, "T"))
    PlatformStorage(stack, "Storage", data_prefix=prefix)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Budgets::Budget",
        {"Budget": Match.object_like({"BudgetLimit": {"Amount": {"Ref": "Limit"}, "Unit": "USD"}})},
    )


def test_the_validator_skips_tokens_but_add_always_records():
    stack = new_stack()
    check = ConstructValidator(stack)
    check.check("name", cdk.Aws.STACK_NAME, False, "never checked", "nothing")
    check.raise_if_any()
    check.add("name", "x", "is wrong", "fix it")
    with pytest.raises(ConstructValidationError, match="Lib: name = 'x': is wrong; fix it"):
        check.raise_if_any()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"availability_zones": ()}, "availability_zones = (): is empty"),
        (
            {"availability_zones": ("eu-west-1a",), "nat_gateways": 2},
            "nat_gateways = 2: exceeds the 1 availability zones",
        ),
    ],
)
def test_vpc_rejects_invalid_arguments(kwargs, fragment):
    with pytest.raises(ConstructValidationError, match=re.escape(f"Lib/Vpc: {fragment}")):
        PlatformVpc(new_stack(), "Vpc", **kwargs)


def test_storage_rejects_an_unknown_encryption_and_a_bad_prefix_together():
    with pytest.raises(ConstructValidationError) as info:
        PlatformStorage(new_stack(), "Storage", encryption="aes", data_prefix="/in")
    assert "encryption = 'aes': unknown; use 'kms' or 's3'" in str(info.value)
    assert "data_prefix = '/in': must end with '/' and not start with one" in str(info.value)


def tracking_server_stack(**kwargs) -> cdk.Stack:
    """A stack holding an :class:`MlflowTrackingServer` named ``t`` built with ``kwargs``."""
    stack = new_stack()
    bucket = s3.Bucket(stack, "A")
    MlflowTrackingServer(
        stack, "Mlflow", artifacts_bucket=bucket, tracking_server_name="t", **kwargs
    )
    return stack


def test_mlflow_server_version_is_the_client_pin_and_the_plugin_is_pinned():
    requirements = (ROOT / "model" / "requirements.txt").read_text().splitlines()
    assert f"mlflow=={MLFLOW_VERSION}" in requirements
    assert any(re.fullmatch(r"sagemaker-mlflow==\d+\.\d+\.\d+", line) for line in requirements)
    Template.from_stack(tracking_server_stack()).has_resource_properties(
        "AWS::SageMaker::MlflowTrackingServer", {"MlflowVersion": MLFLOW_VERSION}
    )


def test_mlflow_server_rejects_an_unknown_size():
    with pytest.raises(ConstructValidationError, match="size = 'Huge': unknown size"):
        tracking_server_stack(size="Huge")
