"""SageMakerServingStack: the SageMaker endpoint and its public predict API."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.model_api import ModelApi, SageMakerBackend
from mlops_cdk.constructs.sagemaker_endpoint import SageMakerModelEndpoint
from mlops_cdk.stacks._common import (
    add_request_outputs,
    api_props,
    capture_prefix,
    removal_policy,
    retention,
)


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
        endpoint_settings, api = settings.sagemaker, settings.api
        self.model_endpoint = SageMakerModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=f"{settings.stack_prefix}-{api.model_name}".lower(),
            repository=repository,
            image_tag=settings.image_tag,
            image_digest=settings.image_digest,
            model_artifacts_bucket=artifacts_bucket,
            vpc=vpc,
            variant=endpoint_settings.variant,
            instance_type=endpoint_settings.instance_type,
            initial_instance_count=endpoint_settings.initial_instance_count,
            min_capacity=endpoint_settings.min_capacity,
            max_capacity=endpoint_settings.max_capacity,
            invocations_per_instance=endpoint_settings.invocations_per_instance,
            serverless_memory_mb=endpoint_settings.serverless_memory_mb,
            serverless_max_concurrency=endpoint_settings.serverless_max_concurrency,
            data_capture_percent=settings.drift.capture_percent,
            data_capture_prefix=capture_prefix(settings),
            latency_alarm_threshold=Duration.millis(settings.observability.p99_latency_ms),
            log_retention=retention(settings.log_retention_days),
            removal_policy=removal_policy(settings),
        )
        self.model_api = ModelApi(
            self,
            "Api",
            backend=SageMakerBackend(
                endpoint_name=self.model_endpoint.endpoint_name,
                max_request_bytes=api.max_request_kb * 1024,
                reserved_concurrency=api.reserved_concurrency,
            ),
            model_name=api.model_name,
            **api_props(settings),
        )
        self.endpoint_name: str = self.model_endpoint.endpoint_name
        self.variant_name: str = self.model_endpoint.variant_name
        self.is_serverless: bool = self.model_endpoint.is_serverless
        self.http_api: apigwv2.HttpApi = self.model_api.http_api
        self.api_url: str = self.model_api.api_url
        self.predict_url: str = self.model_api.predict_url
        assert self.model_api.function is not None  # the SageMaker backend's adapter
        self.function: lambda_.Function = self.model_api.function

        CfnOutput(self, "EndpointName", value=self.endpoint_name, description="SageMaker endpoint")
        add_request_outputs(self, api_url=self.api_url, predict_url=self.predict_url, auth=api.auth)
