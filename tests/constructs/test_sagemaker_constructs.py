"""SageMakerModelEndpoint and ModelApi used directly: JWT auth and argument validation."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlops_cdk.constructs._nag import flatten_reference
from mlops_cdk.constructs.model_api import ModelApi, SageMakerBackend
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def new_stack():
    return cdk.Stack(cdk.App(), "Consumer", env=ENV)


def test_jwt_auth_puts_a_jwt_authorizer_on_every_route():
    stack = new_stack()
    ModelApi(
        stack,
        "Api",
        backend=SageMakerBackend(endpoint_name="my-endpoint"),
        auth="jwt",
        jwt_issuer="https://idp.example.com/",
        jwt_audience=["predict-clients"],
    )
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "JwtConfiguration": {
                "Issuer": "https://idp.example.com/",
                "Audience": ["predict-clients"],
            },
            "IdentitySource": ["$request.header.Authorization"],
        },
    )
    routes = t.find_resources("AWS::ApiGatewayV2::Route")
    assert len(routes) == 2
    assert {r["Properties"]["AuthorizationType"] for r in routes.values()} == {"JWT"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth": "api_key"}, "auth = 'api_key'; use 'iam' or 'jwt'"),
        ({"auth": "jwt"}, "needs jwt_issuer and jwt_audience"),
    ],
)
def test_model_api_rejects_unsupported_auth(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelApi(new_stack(), "Api", backend=SageMakerBackend(endpoint_name="e"), **kwargs)


def endpoint_kwargs(stack):
    return {
        "endpoint_name": "my-endpoint",
        "repository": ecr.Repository.from_repository_name(stack, "Repo", "model-server"),
        "image_tag": "1.0.0",
        "model_artifacts_bucket": s3.Bucket.from_bucket_name(stack, "Bucket", "artifacts"),
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"variant": "realtime"}, "variant = 'realtime' needs a vpc"),
        (
            {"variant": "serverless", "data_capture_percent": 5},
            "serverless endpoints cannot capture",
        ),
        ({"variant": "gpu"}, "variant = 'gpu'"),
        (
            {"variant": "serverless", "data_capture_percent": 0, "endpoint_name": "bad_name"},
            "endpoint_name = 'bad_name': is not a SageMaker endpoint name",
        ),
        (
            {"variant": "serverless", "data_capture_percent": 0, "data_capture_prefix": "capture"},
            "must end with '/'",
        ),
    ],
)
def test_endpoint_rejects_invalid_arguments(overrides, message):
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        SageMakerModelEndpoint(stack, "Endpoint", **{**endpoint_kwargs(stack), **overrides})


def test_serverless_endpoint_works_with_imported_resources_and_no_vpc():
    stack = new_stack()
    endpoint = SageMakerModelEndpoint(
        stack, "Endpoint", variant="serverless", data_capture_percent=0, **endpoint_kwargs(stack)
    )
    assert endpoint.is_serverless and endpoint.security_group is None
    assert endpoint.scalable_target is None
    Template.from_stack(stack).resource_count_is("AWS::SageMaker::Endpoint", 1)


@pytest.mark.parametrize(
    ("value", "flat"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/*"),
        (
            {"Fn::Join": ["", [{"Fn::ImportValue": "Stack:Export"}, "/data-capture/*"]]},
            "Stack:Export/data-capture/*",
        ),
        (
            {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "ec2"]]},
            "arn:<AWS::Partition>:ec2",
        ),
        ({"Fn::GetAtt": ["Bucket", "Arn"]}, "<Bucket.Arn>"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::x"}, "arn:<AWS::Partition>:s3:::x"),
    ],
)
def test_flatten_reference_names_values_like_cdk_nag(value, flat):
    assert flatten_reference(value) == flat
