"""SageMakerServingStack: the SageMaker endpoint and its public predict API."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.model_api import ModelApi
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint
from mlops_cdk.stacks._common import removal_policy, retention

EXAMPLE_BODY = json.dumps({"instances": [1000, 45, 0.67]})


class SageMakerServingStack(Stack):
    """Composes :class:`SageMakerModelEndpoint` and :class:`ModelApi` for ``serving=sagemaker``.

    Attributes (for observability and other consumers):
        endpoint_name, variant_name, is_serverless: The endpoint and its variant.
        http_api: The HTTP API; api_url: its base URL; predict_url: the predict URL.
        function: The predict adapter Lambda.
        model_endpoint, model_api: The two constructs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        vpc: ec2.IVpc,
        artifacts_bucket: s3.IBucket,
        repository: ecr.IRepository,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        m = settings.sagemaker
        policy = removal_policy(settings)
        logs_retention = retention(settings.log_retention_days)
        self.model_endpoint = SageMakerModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=f"{settings.stack_prefix}-{m.model_name}".lower(),
            repository=repository,
            image_tag=settings.image_tag,
            model_artifacts_bucket=artifacts_bucket,
            vpc=vpc,
            variant=m.variant,
            instance_type=m.instance_type,
            initial_instance_count=m.initial_instance_count,
            min_capacity=m.min_capacity,
            max_capacity=m.max_capacity,
            invocations_per_instance=m.invocations_per_instance,
            serverless_memory_mb=m.serverless_memory_mb,
            serverless_max_concurrency=m.serverless_max_concurrency,
            data_capture_percent=m.data_capture_percent,
            latency_alarm_threshold=Duration.millis(settings.observability.p99_latency_ms),
            log_retention=logs_retention,
            removal_policy=policy,
        )
        self.model_api = ModelApi(
            self,
            "Api",
            endpoint_name=self.model_endpoint.endpoint_name,
            model_name=m.model_name,
            auth="jwt" if m.api_auth == "jwt" else "iam",
            jwt_issuer=m.jwt_issuer,
            jwt_audience=m.jwt_audience,
            throttle_rate_limit=m.throttle_rate_limit,
            throttle_burst_limit=m.throttle_burst_limit,
            max_request_bytes=m.max_request_kb * 1024,
            reserved_concurrency=m.adapter_reserved_concurrency,
            log_retention=logs_retention,
            removal_policy=policy,
        )
        self.endpoint_name: str = self.model_endpoint.endpoint_name
        self.variant_name: str = self.model_endpoint.variant_name
        self.is_serverless: bool = self.model_endpoint.is_serverless
        self.http_api: apigwv2.HttpApi = self.model_api.http_api
        self.api_url: str = self.model_api.api_url
        self.predict_url: str = self.model_api.predict_url
        self.function: lambda_.Function = self.model_api.function

        CfnOutput(self, "EndpointName", value=self.endpoint_name, description="SageMaker endpoint")
        CfnOutput(self, "ApiUrl", value=self.api_url, description="Public API base URL")
        CfnOutput(self, "PredictUrl", value=self.predict_url, description="Predict URL")
        if m.api_auth == "jwt":
            example = (
                f'curl -X POST -H "Authorization: Bearer $TOKEN" -H "content-type: '
                f"application/json\" -d '{EXAMPLE_BODY}' {self.predict_url}"
            )
        else:
            example = (
                f"awscurl --service execute-api --region {settings.region} -X POST "
                f"-H 'content-type: application/json' -d '{EXAMPLE_BODY}' {self.predict_url}"
            )
        CfnOutput(self, "ExampleRequest", value=example, description="Call the model")
