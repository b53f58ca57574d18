"""ModelApi: the one authenticated ``POST /v1/models/<model>:predict`` front door of either path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._logs import build_log_group
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


@dataclass(frozen=True)
class SageMakerBackend:
    """Backend: a Lambda adapter calling ``InvokeEndpoint`` (no HTTP API SageMaker integration).

    Attributes:
        endpoint_name: SageMaker endpoint to invoke; the adapter may invoke only this one.
        max_request_bytes: Largest body the adapter accepts (413 above). Default 64 KiB.
        reserved_concurrency: Reserved concurrency of the adapter. Default ``None``: no
            reservation (a reservation is subtracted from the account's pool, which is only 10
            in a new account).
    """

    endpoint_name: str
    max_request_bytes: int = 64 * 1024
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class LoadBalancerBackend:
    """Backend: a private integration through ``vpc_link`` to an internal ALB ``listener``.

    The model server behind it answers 404, 413 and 4xx itself, with the same bodies as the
    SageMaker adapter.
    """

    listener: elbv2.IApplicationListener
    vpc_link: apigwv2.IVpcLink


ModelApiBackend = SageMakerBackend | LoadBalancerBackend


class ModelApi(Construct):
    """An HTTP API whose URL carries no stage prefix, serving the v1 predict contract.

    ``POST /v1/models/{proxy+}`` and the ``$default`` catch-all both reach ``backend``: a
    :class:`SageMakerBackend` (a small Lambda adapter, ``mlops_cdk/lambdas/predict_proxy``,
    traced with X-Ray) or a :class:`LoadBalancerBackend` (a VPC link to the EKS path's internal
    ALB). Either way other models and paths get a JSON 404 and oversized bodies 413. Every route
    requires the same authorizer, and the ``$default`` stage throttles and writes JSON access
    logs. With ``domain_name`` and ``certificate_arn`` the API answers on that name (TLS 1.2)
    and its execute-api URL is turned off, so there is one URL.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        backend: What serves the requests.
        model_name: Model name in the URL. Default ``fraud-detection``.
        auth: ``iam`` (default: SigV4-signed requests, callers need ``execute-api:Invoke``) or
            ``jwt`` (an OIDC issuer's tokens, e.g. Cognito or Auth0).
        jwt_issuer: Issuer URL for ``jwt``.
        jwt_audience: Accepted audiences for ``jwt``.
        throttle_rate_limit: Steady-state requests per second. Default 50.
        throttle_burst_limit: Burst. Default 100.
        domain_name: Custom domain. Default none (the execute-api URL).
        certificate_arn: ACM certificate for ``domain_name`` in the API's region.
        log_retention: Retention of the access and adapter logs. Default one month.
        removal_policy: For the log groups. Default ``RETAIN``.

    Attributes:
        http_api: The HTTP API; stage: its ``$default`` stage.
        api_url: Base URL (no stage prefix); predict_url: the full predict URL.
        model_name: The model in the URL.
        function: The adapter Lambda (``None`` with a :class:`LoadBalancerBackend`).
        domain: The custom domain, or ``None``.
        access_log_group, function_log_group: Their log groups (the latter ``None`` without
            the adapter).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        backend: ModelApiBackend,
        model_name: str = "fraud-detection",
        auth: ApiAuth = "iam",
        jwt_issuer: str | None = None,
        jwt_audience: Sequence[str] = (),
        throttle_rate_limit: int = 50,
        throttle_burst_limit: int = 100,
        domain_name: str | None = None,
        certificate_arn: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        errors = []
        if auth not in ("iam", "jwt"):
            errors.append(f"auth = {auth!r}; use 'iam' or 'jwt' (HTTP APIs have no API keys)")
        if auth == "jwt" and not (jwt_issuer and jwt_audience):
            errors.append("auth = 'jwt' needs jwt_issuer and jwt_audience")
        if bool(domain_name) != bool(certificate_arn):
            errors.append("domain_name and certificate_arn go together; set both or neither")
        if errors:
            raise ValueError("ModelApi: " + "; ".join(errors))
        self.model_name = model_name
        self._log_retention, self._removal_policy = log_retention, removal_policy
        self.function: lambda_.Function | None = None
        self.function_log_group: logs.LogGroup | None = None
        if isinstance(backend, SageMakerBackend):
            self.function = self._predict_adapter(backend)
            integration: apigwv2.HttpRouteIntegration = integrations.HttpLambdaIntegration(
                "Predict",
                self.function,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
            target = f"SageMaker endpoint {backend.endpoint_name}"
        else:
            integration = integrations.HttpAlbIntegration(
                "Predict", backend.listener, vpc_link=backend.vpc_link
            )
            target = "the EKS path's internal load balancer"
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description=f"Predict API of model {model_name} ({target})",
            create_default_stage=False,
            default_integration=integration,
            default_authorizer=_authorizer(auth, jwt_issuer, jwt_audience),
            disable_execute_api_endpoint=bool(domain_name),
        )
        self.http_api.add_routes(
            path="/v1/models/{proxy+}", methods=[apigwv2.HttpMethod.POST], integration=integration
        )
        self.stage = self._default_stage(throttle_rate_limit, throttle_burst_limit)
        self.domain: apigwv2.DomainName | None = None
        if domain_name and certificate_arn:
            self.domain = apigwv2.DomainName(
                self,
                "DomainName",
                domain_name=domain_name,
                certificate=acm.Certificate.from_certificate_arn(
                    self, "Certificate", certificate_arn
                ),
                security_policy=apigwv2.SecurityPolicy.TLS_1_2,
            )
            apigwv2.ApiMapping(
                self, "ApiMapping", api=self.http_api, domain_name=self.domain, stage=self.stage
            )
            self.api_url = f"https://{domain_name}"
        else:
            self.api_url = self.http_api.api_endpoint
        self.predict_url = f"{self.api_url}/v1/models/{model_name}:predict"

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        """A log group with the API's retention and removal policy."""
        return build_log_group(
            self, construct_id, retention=self._log_retention, removal_policy=self._removal_policy
        )

    def _default_stage(self, rate_limit: int, burst_limit: int) -> apigwv2.HttpStage:
        self.access_log_group = self._log_group("AccessLogs")
        return apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group)
            ),
        )

    def _predict_adapter(self, backend: SageMakerBackend) -> lambda_.Function:
        """The Lambda adapter: may invoke only ``backend.endpoint_name`` and write its logs."""
        stack = Stack.of(self)
        endpoint_name, model_name = backend.endpoint_name, self.model_name
        self.function_log_group = self._log_group("FunctionLogs")
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
        function = lambda_.Function(
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
            reserved_concurrent_executions=backend.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=self.function_log_group,
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MODEL_NAME": model_name,
                "MAX_REQUEST_BYTES": str(backend.max_request_bytes),
                "POWERTOOLS_SERVICE_NAME": "predict-proxy",
            },
        )
        self._explain_adapter(function, role)
        if backend.reserved_concurrency is None:
            skip_checkov(
                function,
                "CKV_AWS_115",
                "Reserved concurrency is opt-in (api.reserved_concurrency): a reservation is "
                "taken from the account's pool, 10 in a new account; the stage throttle caps load.",
            )
        return function

    def _explain_adapter(self, function: lambda_.Function, role: iam.Role) -> None:
        skip_checkov(
            function,
            "CKV_AWS_116",
            "API Gateway invokes the function synchronously and returns its errors to the "
            "client; a dead-letter queue only receives failed asynchronous invocations.",
        )
        skip_checkov(
            function,
            "CKV_AWS_117",
            "It calls only the SageMaker runtime's public endpoint; a VPC would add NAT cost and "
            "cold-start time and reach nothing private.",
        )
        skip_checkov(
            function,
            "CKV_AWS_173",
            "Its environment holds the endpoint and model names and a size limit, no secrets.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) support no "
            "resource-level permissions.",
        )


def _authorizer(
    auth: ApiAuth, jwt_issuer: str | None, jwt_audience: Sequence[str]
) -> apigwv2.IHttpRouteAuthorizer:
    """The one authorizer every route uses: IAM (SigV4) or JWT."""
    if auth == "iam":
        return authorizers.HttpIamAuthorizer()
    assert jwt_issuer is not None
    return authorizers.HttpJwtAuthorizer(
        "JwtAuthorizer", jwt_issuer, jwt_audience=list(jwt_audience)
    )
