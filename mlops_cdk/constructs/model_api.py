"""ModelApi: the public ``POST /v1/models/<model>:predict`` API in front of a SageMaker endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON, skip_checkov
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.versions import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer_arn

HANDLER_DIR = Path(__file__).resolve().parents[1] / "lambdas" / "predict_proxy"

ApiAuth = Literal["iam", "jwt"]

ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"path":"$context.path","routeKey":"$context.routeKey","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
    '"responseLatency":"$context.responseLatency",'
    '"integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage",'
    '"authorizerError":"$context.authorizer.error","principal":"$context.identity.userArn"}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """``IAccessLogSettings`` is an interface in aws-cdk-lib: Python implements it as a class."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return ACCESS_LOG_FORMAT


class ModelApi(Construct):
    """An HTTP API whose URL carries no stage prefix, serving the v1 predict contract.

    ``POST /v1/models/{proxy+}`` and the ``$default`` catch-all both reach a small Lambda
    adapter (``mlops_cdk/lambdas/predict_proxy``) that calls ``InvokeEndpoint``: HTTP APIs have
    no SageMaker service integration. The adapter answers other models and paths with a JSON
    404, bodies above ``max_request_bytes`` with 413, and endpoint failures with 4xx/502/503,
    never 200. Every route requires authentication, the ``$default`` stage throttles and writes
    JSON access logs, and the adapter is traced with X-Ray (HTTP APIs emit no X-Ray segments
    themselves, so traces start at the Lambda and include the InvokeEndpoint call).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        endpoint_name: SageMaker endpoint to invoke; the adapter may invoke only this one.
        model_name: Model name in the URL. Default ``fraud-detection``.
        auth: ``iam`` (default: SigV4-signed requests, callers need ``execute-api:Invoke``) or
            ``jwt`` (an OIDC issuer's tokens, e.g. Cognito or Auth0).
        jwt_issuer: Issuer URL for ``jwt``.
        jwt_audience: Accepted audiences for ``jwt``.
        throttle_rate_limit: Steady-state requests per second. Default 50.
        throttle_burst_limit: Burst. Default 100.
        max_request_bytes: Largest body accepted. Default 64 KiB (the HTTP API allows 10 MB).
        reserved_concurrency: Reserved concurrency of the adapter. Default 20.
        log_retention: Retention of the access and adapter logs. Default one month.
        removal_policy: For the log groups. Default ``RETAIN``.

    Attributes:
        http_api: The HTTP API; stage: its ``$default`` stage.
        api_url: Base URL (no stage prefix); predict_url: the full predict URL.
        function: The adapter Lambda.
        access_log_group, function_log_group: Their log groups.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        model_name: str = "fraud-detection",
        auth: ApiAuth = "iam",
        jwt_issuer: str | None = None,
        jwt_audience: Sequence[str] = (),
        throttle_rate_limit: int = 50,
        throttle_burst_limit: int = 100,
        max_request_bytes: int = 64 * 1024,
        reserved_concurrency: int = 20,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if auth not in ("iam", "jwt"):
            raise ValueError(
                f"ModelApi: auth = {auth!r}; use 'iam' or 'jwt' (HTTP APIs have no API keys)"
            )
        if auth == "jwt" and not (jwt_issuer and jwt_audience):
            raise ValueError("ModelApi: auth = 'jwt' needs jwt_issuer and jwt_audience")
        stack = Stack.of(self)
        self.model_name = model_name

        self.function_log_group = logs.LogGroup(
            self, "FunctionLogs", retention=log_retention, removal_policy=removal_policy
        )
        skip_checkov(self.function_log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"predict adapter: invoke endpoint {endpoint_name}, write own logs",
        )
        self.function_log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"],
                resources=[
                    stack.format_arn(
                        service="sagemaker", resource="endpoint", resource_name=endpoint_name
                    )
                ],
            )
        )
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(stack.region)
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"POST /v1/models/{model_name}:predict -> SageMaker {endpoint_name}",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(
                str(HANDLER_DIR), exclude=["__pycache__", "*.pyc", "__init__.py"]
            ),
            layers=[powertools],
            memory_size=256,
            # The HTTP API gives up after 30 s; the adapter's SageMaker read timeout is 20 s.
            timeout=Duration.seconds(29),
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=self.function_log_group,
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MODEL_NAME": model_name,
                "MAX_REQUEST_BYTES": str(max_request_bytes),
                "POWERTOOLS_SERVICE_NAME": "predict-proxy",
            },
        )
        skip_checkov(
            self.function,
            "CKV_AWS_116",
            "API Gateway invokes the function synchronously and returns its errors to the "
            "client; a dead-letter queue only receives failed asynchronous invocations.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_117",
            "It calls only the SageMaker runtime's public endpoint; a VPC would add NAT cost and "
            "cold-start time and reach nothing private.",
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "Its environment holds the endpoint and model names and a size limit, no secrets.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) support no "
            "resource-level permissions.",
        )

        if auth == "iam":
            authorizer: apigwv2.IHttpRouteAuthorizer = authorizers.HttpIamAuthorizer()
        else:
            assert jwt_issuer is not None
            authorizer = authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", jwt_issuer, jwt_audience=list(jwt_audience)
            )
        integration = integrations.HttpLambdaIntegration(
            "Predict",
            self.function,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description=f"Public predict API of model {model_name} (SageMaker serving)",
            create_default_stage=False,
            default_integration=integration,
            default_authorizer=authorizer,
        )
        self.http_api.add_routes(
            path="/v1/models/{proxy+}", methods=[apigwv2.HttpMethod.POST], integration=integration
        )
        self.access_log_group = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        skip_checkov(self.access_log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group)
            ),
        )
        self.api_url = self.http_api.api_endpoint
        self.predict_url = f"{self.api_url}/v1/models/{model_name}:predict"
