"""The settings schema: one strict, frozen pydantic model per section.

Bounds are field constraints; rules that read several fields are each section's ``_problems``,
which the shared base runs after the fields validate, reporting every problem of the section
together.
"""

from __future__ import annotations

import ipaddress
import re
import typing
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from mlops_cdk.canary import canary_problems
from mlops_cdk.config.environments import ENVIRONMENTS
from mlops_cdk.config.errors import RULES_ERROR, problem
from mlops_cdk.config.types import (
    ALARM_PERIOD_MINUTES,
    LOG_RETENTION_DAYS,
    RESERVED_NAMESPACES,
    SERVERLESS_MEMORY_MB,
    ApiAuth,
    BucketEncryption,
    EndpointAccess,
    FrontDoor,
    MlflowKind,
    MlflowSize,
    RetrainingTarget,
    SageMakerVariant,
    ServingEngine,
    ServingPath,
)
from mlops_cdk.drift.rules import drift_check_problems
from mlops_cdk.fargate import FARGATE_CPU, MAX_POD_MEMORY_MIB, MIN_POD_MEMORY_MIB
from mlops_cdk.front_door import FRONT_DOOR_FIELDS, front_door_problem
from mlops_cdk.s3_keys import KEY_PREFIX_PROBLEM, is_key_prefix
from mlops_cdk.versions import DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS

__all__ = [
    "ApiSettings",
    "CicdSettings",
    "DriftSettings",
    "EksSettings",
    "MlflowSettings",
    "NetworkSettings",
    "ObservabilitySettings",
    "RegistrySettings",
    "RetrainingSettings",
    "SageMakerSettings",
    "Settings",
    "StorageSettings",
]

_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:")
_ZONE_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_DOMAIN_NAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _check(test: Callable[[Any], bool], message: str) -> AfterValidator:
    """A validator raising ``message`` ("what is wrong; fix") when ``test(value)`` is false."""

    def validate(value: Any) -> Any:
        if not test(value):
            raise ValueError(message)
        return value

    return AfterValidator(validate)


def _one_of(choices: Collection[Any], problem: str) -> AfterValidator:
    """A validator accepting only ``choices``; the message is ``problem`` and the choices."""
    return _check(
        lambda value: value in choices, problem + ", ".join(str(choice) for choice in choices)
    )


def _matches(pattern: str, message: str) -> AfterValidator:
    return _check(lambda value: re.match(pattern, value) is not None, message)


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        return False
    return True


def _mebibytes(quantity: str) -> int:
    match = re.match(r"^([1-9]\d*)(Mi|Gi)$", quantity)
    return int(match[1]) * (1024 if match[2] == "Gi" else 1) if match else 0


def _is_vpc_cidr(value: str) -> bool:
    return (
        _is_cidr(value)
        and ipaddress.ip_network(value).version == 4
        and (16 <= ipaddress.ip_network(value).prefixlen <= 24)
    )


def _fix(text: str) -> dict[str, str]:
    """Field metadata: the fix quoted when a constraint fails."""
    return {"fix": text}


Cidr = Annotated[str, _check(_is_cidr, "not a valid CIDR; use e.g. 203.0.113.0/24")]
Arn = Annotated[str, _matches(_ARN_RE.pattern, "not an ARN; use arn:aws:<service>:...")]
IamArn = Annotated[
    str,
    _matches(_ARN_RE.pattern, "not an IAM ARN; use e.g. arn:aws:iam::123456789012:role/Admin"),
]
DomainName = Annotated[
    str,
    _matches(
        _DOMAIN_NAME_RE.pattern,
        "not a DNS name; use e.g. model.example.com (no scheme, no path)",
    ),
]
HttpsUrl = Annotated[
    str,
    _check(lambda value: value.startswith("https://"), "must be an https URL; use https://<host>"),
]
RetentionDays = Annotated[
    int,
    _one_of(LOG_RETENTION_DAYS, "not a CloudWatch Logs retention; use one of "),
]


def _tuple_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if typing.get_origin(info.annotation) is tuple
    }


class _Strict(BaseModel):
    """Strict, frozen, no unknown keys; JSON arrays are read as tuples.

    A section states its cross-field rules in ``_problems``; they all run, and one error lists
    every problem found.
    """

    model_config = ConfigDict(
        strict=True, frozen=True, extra="forbid", use_attribute_docstrings=True
    )

    @model_validator(mode="before")
    @classmethod
    def _arrays_as_tuples(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {
            key: tuple(value) if isinstance(value, list) and key in _tuple_fields(cls) else value
            for key, value in data.items()
        }

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Self:
        problems = list(self._problems(info.context or {}))
        if problems:
            raise PydanticCustomError(RULES_ERROR, "{problems}", {"problems": "\n".join(problems)})
        return self

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        """The section's cross-field problems; ``context`` holds ``env_name`` and ``region``."""
        yield from ()


class NetworkSettings(_Strict):
    """VPC layout."""

    cidr: Annotated[
        str,
        _check(_is_cidr, "not a valid CIDR; use e.g. 10.0.0.0/16"),
        _check(_is_vpc_cidr, "must be an IPv4 CIDR from /16 to /24; e.g. 10.0.0.0/16"),
    ] = "10.0.0.0/16"
    """IPv4 CIDR of the VPC."""
    max_azs: int = Field(
        2, ge=2, le=6, json_schema_extra=_fix("EKS and SageMaker need subnets in at least 2 AZs")
    )
    """How many of ``availability_zones`` the VPC spans (at least 2)."""
    nat_gateways: int = Field(1, ge=1, le=6, json_schema_extra=_fix("1 in dev, one per AZ in prod"))
    """NAT gateways; 1 saves money in dev, one per AZ survives an AZ outage."""
    interface_endpoints: bool = False
    """Create interface endpoints (ECR, STS, Secrets Manager, Logs, SageMaker runtime) so private
    traffic bypasses NAT; about $7/month per endpoint per AZ."""
    flow_logs_retention_days: RetentionDays = 30
    """Retention of the VPC flow log group."""


class StorageSettings(_Strict):
    """Data and model-artifact buckets."""

    encryption: BucketEncryption = "kms"
    """``kms`` (customer-managed key with rotation) or ``s3`` (SSE-S3)."""
    incoming_expiration_days: int = Field(365, ge=1)
    """Days before raw files under ``incoming/`` expire."""
    noncurrent_version_expiration_days: int = Field(90, ge=1)
    """Days before old object versions expire."""
    access_logs_expiration_days: int = Field(365, ge=1)
    """Days before server access logs expire."""


ECR_REPOSITORY_NAME_RE = re.compile(
    r"^(?=.{2,256}\Z)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\Z"
)
IMAGE_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")


class RegistrySettings(_Strict):
    """The ECR repository of the model-server image, one per account, shared by its environments.

    Retraining pushes one image; every environment of the account serves it from this one
    repository, so the digest gated in retraining is the digest dev, staging and prod run.
    """

    repository_name: Annotated[
        str,
        _matches(
            ECR_REPOSITORY_NAME_RE.pattern,
            "is not an ECR repository name (2-256 lowercase letters, digits, '.', '_', '-', "
            "'/'); e.g. mlops-cdk/model-server",
        ),
    ] = "mlops-cdk/model-server"
    """Name of the account's shared repository (the GitHub variable ``ECR_REPOSITORY``)."""
    create: bool = True
    """Create the repository in this environment (the first one deployed in the account: dev);
    ``false`` imports it by name. The created repository is always retained, since other
    environments serve from it."""
    keep_last_images: int = Field(20, ge=1)
    """Lifecycle rule keeps this many most recent images (applies where ``create`` is true)."""


class EksSettings(_Strict):
    """EKS/KServe serving path."""

    kubernetes_version: Annotated[
        str,
        _one_of(
            KUBERNETES_VERSIONS,
            "cannot be created on EKS or has no kubectl layer here; use one of ",
        ),
    ] = DEFAULT_KUBERNETES_VERSION
    """Cluster version; its kubectl layer comes from ``versions.py``."""
    serving_engine: ServingEngine = "deployment"
    """``deployment`` (Deployment/Service/HPA) or ``kserve`` (InferenceService)."""
    front_door: FrontDoor = "api"
    """How clients reach the model: ``api`` (the HTTP API, as on SageMaker) or ``public_alb``
    (the internet-facing ALB; needs ``certificate_arn`` and ``domain_name``)."""
    endpoint_access: EndpointAccess = "private"
    """API server endpoint: ``private`` (reachable only from the VPC) or ``public_and_private``
    (also from ``public_access_cidrs``)."""
    public_access_cidrs: tuple[Cidr, ...] = ()
    """CIDRs allowed to reach a public API-server endpoint (``public_and_private`` only)."""
    admin_principal_arns: tuple[IamArn, ...] = ()
    """IAM principals granted cluster admin through access entries."""
    namespace: Annotated[
        str,
        _matches(
            r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
            "not a Kubernetes namespace name (lowercase letters, digits, '-'); e.g. model-serving",
        ),
        _check(
            lambda name: name not in RESERVED_NAMESPACES,
            "belongs to the cluster or its controllers; choose another name (not "
            + ", ".join(RESERVED_NAMESPACES)
            + ")",
        ),
    ] = "model-serving"
    """Namespace of the model server."""
    min_replicas: int = Field(1, ge=1)
    """HPA minimum (and PodDisruptionBudget basis)."""
    max_replicas: int = Field(3, ge=1)
    """HPA maximum."""
    cpu: Annotated[
        str,
        _one_of(FARGATE_CPU, "not a Fargate vCPU size; use one of "),
    ] = "500m"
    """CPU request and limit per pod, one of ``FARGATE_CPU``."""
    memory: Annotated[
        str,
        _check(
            lambda quantity: MIN_POD_MEMORY_MIB <= _mebibytes(quantity) <= MAX_POD_MEMORY_MIB,
            f"must be a quantity from {MIN_POD_MEMORY_MIB}Mi to {MAX_POD_MEMORY_MIB // 1024}Gi "
            "in Mi or Gi; e.g. 1Gi (Fargate rounds up to its next size)",
        ),
    ] = "1Gi"
    """Memory request and limit per pod (512Mi-120Gi); Fargate adds 256 MiB for its agents and
    rounds up to the next size for the chosen CPU."""
    certificate_arn: Arn | None = None
    """ACM certificate for an HTTPS listener with HTTP redirect."""
    domain_name: DomainName | None = None
    """DNS name you point at the ALB (a record you manage); ``ApiUrl`` and ``PredictUrl`` use
    it. Required with ``certificate_arn``: no certificate can cover the ALB's own
    ``*.elb.amazonaws.com`` name, so HTTPS to it never verifies."""
    waf_acl_arn: Arn | None = None
    """WAFv2 web ACL attached to the ALB."""
    inbound_cidrs: tuple[Cidr, ...] = ("0.0.0.0/0",)
    """CIDRs allowed to reach the ALB."""
    container_insights: bool = True
    """Run the ADOT collector (one 0.25 vCPU Fargate pod) that publishes Container Insights pod
    metrics and the model server's Prometheus metrics to CloudWatch. It costs custom metrics (8
    per pod in 3 dimension sets, plus a few per model route and status code, $0.30 each a month)
    and the EMF log events behind them (about 1-2 GB a month ingested for a small cluster)."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.min_replicas > self.max_replicas:
            yield (
                f"min_replicas = {self.min_replicas} and max_replicas = {self.max_replicas}: "
                "need 1 <= min_replicas <= max_replicas; raise max_replicas"
            )
        # With front_door = public_alb the front-door rule names the missing domain_name.
        if self.certificate_arn and not self.domain_name and self.front_door != "public_alb":
            yield problem(
                "certificate_arn",
                self.certificate_arn,
                "is set but domain_name is not",
                "HTTPS to the ALB's own hostname never verifies, so set domain_name to the "
                "name the certificate covers (and point its DNS record at the ALB)",
            )
        yield from self._endpoint_problems()
        front_door_error = front_door_problem(
            **{name: getattr(self, name) for name in FRONT_DOOR_FIELDS},
            production=context.get("env_name") == "prod",
            field_prefix="",
        )
        if front_door_error:
            yield front_door_error

    def _endpoint_problems(self) -> list[str]:
        if self.endpoint_access == "public_and_private" and not self.public_access_cidrs:
            return [
                "endpoint_access = 'public_and_private': needs public_access_cidrs, or the API "
                "server is open to the internet; list your office/VPN CIDRs in "
                "public_access_cidrs, or use endpoint_access = 'private'"
            ]
        if self.endpoint_access == "private" and self.public_access_cidrs:
            return [
                problem(
                    "public_access_cidrs",
                    self.public_access_cidrs,
                    "only applies to a public endpoint, but endpoint_access = 'private'",
                    "remove public_access_cidrs or set endpoint_access = 'public_and_private'",
                )
            ]
        return []


class SageMakerSettings(_Strict):
    """SageMaker serving path."""

    variant: SageMakerVariant = "serverless"
    """``realtime`` (instances, autoscaling, blue/green) or ``serverless``."""
    instance_type: Annotated[
        str,
        _matches(r"^ml\.", "not a SageMaker instance type; use e.g. ml.m5.large"),
    ] = "ml.m5.large"
    """Real-time instance type."""
    initial_instance_count: int = Field(1, ge=1)
    """Real-time instances at creation."""
    min_capacity: int = Field(1, ge=1)
    """Autoscaling minimum instances."""
    max_capacity: int = Field(2, ge=1)
    """Autoscaling maximum instances."""
    invocations_per_instance: int = Field(1000, ge=1)
    """Target-tracking target (invocations per instance per minute)."""
    serverless_memory_mb: Annotated[
        int,
        _one_of(SERVERLESS_MEMORY_MB, "must be one of "),
    ] = 2048
    """Serverless memory (1024-6144, step 1024)."""
    serverless_max_concurrency: int = Field(5, ge=1, le=200)
    """Serverless maximum concurrency (1-200)."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.min_capacity > self.max_capacity:
            yield (
                f"min_capacity = {self.min_capacity} and max_capacity = {self.max_capacity}: "
                "need 1 <= min_capacity <= max_capacity; raise max_capacity"
            )
        elif not self.min_capacity <= self.initial_instance_count <= self.max_capacity:
            yield (
                f"initial_instance_count = {self.initial_instance_count}: must lie between "
                f"min_capacity {self.min_capacity} and max_capacity {self.max_capacity}; "
                "change one of the three"
            )


def _not_api_key(auth: str) -> bool:
    return auth != "api_key"


class ApiSettings(_Strict):
    """The public HTTP API in front of either serving path."""

    auth: Annotated[
        ApiAuth,
        _check(
            _not_api_key,
            "is not supported: the HTTP API (whose $default stage keeps the URL free of a stage "
            "prefix) has no API keys or usage plans; use auth = 'iam' or 'jwt'",
        ),
    ] = "iam"
    """Authentication: ``iam`` or ``jwt`` (``api_key`` is rejected: the HTTP API that keeps the
    URL free of a stage prefix has no API keys or usage plans)."""
    jwt_issuer: HttpsUrl | None = None
    """Issuer URL for ``jwt`` auth."""
    jwt_audience: tuple[str, ...] = ()
    """Audiences for ``jwt`` auth."""
    throttle_rate_limit: int = Field(50, ge=1)
    """Steady-state requests per second for the API."""
    throttle_burst_limit: int = Field(100, ge=1)
    """Burst requests for the API (at least ``throttle_rate_limit``)."""
    model_name: Annotated[
        str,
        _matches(
            r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$",
            "must be 1-40 lowercase letters, digits or '-'; e.g. fraud-detection",
        ),
    ] = "fraud-detection"
    """Model name in the public URL (``/v1/models/<model_name>:predict``)."""
    max_request_kb: int = Field(
        64, ge=1, le=4096, json_schema_extra=_fix("serverless endpoints accept at most 4 MB")
    )
    """Largest request body the API accepts; larger ones get 413."""
    reserved_concurrency: int | None = Field(None, ge=1, le=1000)
    """Reserved concurrency of the API's Lambda adapter; ``None`` reserves none (reserving fails
    on new accounts with a low concurrency quota). Caps what the API can spend."""
    domain_name: DomainName | None = None
    """Custom domain of the API (with ``certificate_arn``); you point its DNS record at it."""
    certificate_arn: Arn | None = None
    """ACM certificate for ``domain_name``, in the configured region."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.auth == "jwt" and not (self.jwt_issuer and self.jwt_audience):
            yield "auth = 'jwt': needs jwt_issuer and jwt_audience; set both or use auth = 'iam'"
        if self.throttle_burst_limit < self.throttle_rate_limit:
            yield (
                f"throttle_burst_limit = {self.throttle_burst_limit}: is below "
                f"throttle_rate_limit = {self.throttle_rate_limit}; set burst >= rate"
            )
        if bool(self.domain_name) != bool(self.certificate_arn):
            yield (
                f"domain_name = {self.domain_name!r} and certificate_arn = "
                f"{self.certificate_arn!r}: a custom domain needs both; set both or neither"
            )
        region = context.get("region")
        if self.certificate_arn and region and f":acm:{region}:" not in self.certificate_arn:
            yield problem(
                "certificate_arn",
                self.certificate_arn,
                f"is not an ACM certificate in {region}",
                f"request or import the certificate in {region} (arn:aws:acm:{region}:...)",
            )


class RetrainingSettings(_Strict):
    """New-data trigger and schedule for retraining."""

    target: RetrainingTarget = "github"
    """``github`` (repository_dispatch) or ``sagemaker`` (pipeline execution)."""
    github_repository: Annotated[
        str,
        _matches(
            r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
            "is not 'owner/name'; set it to the repository that runs retrain.yml "
            "(-c github_repository=owner/name)",
        ),
    ] = "example-org/mlops-cdk"
    """``owner/name`` receiving the dispatch; the CI/CD roles trust the same repository."""
    github_api_url: HttpsUrl = "https://api.github.com"
    """GitHub API base URL (GitHub Enterprise overrides it)."""
    event_type: str = "new-data-arrived"
    """repository_dispatch event type."""
    data_prefix: Annotated[
        str,
        _check(is_key_prefix, f"{KEY_PREFIX_PROBLEM}; e.g. incoming/"),
    ] = "incoming/"
    """Prefix of new training data in the data bucket."""
    sagemaker_pipeline_name: (
        Annotated[
            str,
            _matches(
                r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$",
                "is not a SageMaker pipeline name (letters, digits and '-', at most 256); "
                "e.g. fraud-retrain",
            ),
        ]
        | None
    ) = None
    """SageMaker pipeline started when ``target`` is ``sagemaker``; ``None`` means the convention
    ``Settings.retraining_pipeline_name`` (``mlopscdk-<env>-retrain``), the name the CI/CD stack
    gives the pipeline."""
    schedule: Annotated[
        str,
        _check(
            lambda expression: expression.startswith(("cron(", "rate(")),
            "is not an EventBridge Scheduler expression; use e.g. cron(0 2 * * ? *)",
        ),
    ] = "cron(0 2 * * ? *)"
    """EventBridge Scheduler cron expression (UTC)."""
    batching_window_seconds: int = Field(
        60, ge=0, le=300, json_schema_extra=_fix("300 is the SQS event source maximum")
    )
    """SQS batching window that debounces uploads."""
    batch_size: int = Field(10000, ge=1, le=10000)
    """SQS batch size. 10000 (the maximum) so one upload of thousands of files reaches the
    function in a few batches; Lambda also cuts a batch at 6 MB of payload."""
    max_receive_count: int = Field(5, ge=1, le=1000)
    """Receives before a message moves to the dead-letter queue."""
    reserved_concurrency: int | None = Field(None, ge=1, le=1000)
    """Reserved concurrency of the dispatcher Lambda; ``None`` reserves none (reserving fails on
    new accounts with a low concurrency quota)."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.batch_size > 10 and self.batching_window_seconds < 1:
            yield (
                f"batch_size = {self.batch_size}: needs batching_window_seconds >= 1 (SQS "
                "allows batches above 10 only with a batching window); set "
                "batching_window_seconds >= 1 or batch_size <= 10"
            )


class DriftSettings(_Strict):
    """Capture of live requests and the scheduled data-drift check (``docs/drift.md``).

    ``threshold``, ``min_rows``, ``window_hours`` and ``schedule`` are checked by the rules the
    ``DriftMonitor`` construct applies (``mlops_cdk.drift.rules``).
    """

    enabled: bool = True
    """Deploy the ``DriftMonitor``: the scheduled check, its metrics, alarm and retraining."""
    threshold: float = 0.2
    """PSI above which a feature has drifted, in (0, 10); 0.1-0.2 is a moderate shift."""
    min_rows: int = 200
    """Captured rows a window needs before drift starts retraining (>= 1); fewer still publish
    the metric."""
    schedule: str = "cron(10 * * * ? *)"
    """EventBridge Scheduler expression (UTC) of the check; ten past the hour lets the capture
    buffers deliver the previous hour."""
    window_hours: int = 1
    """Whole hours each check reads (1-24); match it to ``schedule``."""
    capture_percent: int = Field(
        20, ge=0, le=100, json_schema_extra=_fix("0 turns capture off; 20 is the default")
    )
    """Share of requests captured on either serving path (0 disables): SageMaker data capture, or
    the EKS model server's capture lines routed to S3. Serverless SageMaker endpoints cannot
    capture, so they need 0."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        yield from drift_check_problems(
            threshold=self.threshold,
            min_rows=self.min_rows,
            window_hours=self.window_hours,
            schedule=self.schedule,
        )


# The trust policies use StringEquals: a wildcard would be taken literally and never match.
_EXACT = "(no wildcards, spaces or leading/trailing '/')"


class CicdSettings(_Strict):
    """GitHub OIDC roles for the workflows in ``.github/workflows``."""

    enabled: bool = True
    """Create the OIDC provider (or reuse one) and the roles."""
    existing_oidc_provider_arn: (
        Annotated[
            str,
            _matches(
                r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$",
                "not an ARN of a GitHub OIDC provider; use arn:aws:iam::<account>:oidc-provider/"
                "token.actions.githubusercontent.com (-c github_oidc_provider_arn=...)",
            ),
        ]
        | None
    ) = None
    """Reuse an account's GitHub OIDC provider. An account holds one provider per URL, so the
    second environment deployed into the same account must set this to the first one's
    ``GitHubOidcProviderArn`` output."""
    deploy_environment: Annotated[
        str,
        _matches(
            r"^[A-Za-z0-9._-]{1,255}$",
            f"is not an exact GitHub deploy environment name {_EXACT}; use e.g. 'prod'",
        ),
    ] = "dev"
    """GitHub environment allowed to assume the deploy role: deploy-environment.yml runs in the
    environment named like the mlops-cdk environment, so keep them equal; another mlops-cdk
    environment's name is refused (prod's role must never trust dev's reviewer-less jobs)."""
    branch: Annotated[
        str,
        _matches(
            r"^(?!/)(?!.*/$)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$",
            f"is not an exact GitHub branch name {_EXACT}; use e.g. 'main'",
        ),
    ] = "main"
    """Branch whose retrain.yml may assume the retrain role (and, with ``bind_workflow``, whose
    deploy-environment.yml may assume the deploy role)."""
    bind_workflow: bool = False
    """Bind each role's subject to its workflow file (``job_workflow_ref``): the deploy role to
    ``deploy-environment.yml@refs/heads/<branch>``, the retrain role to
    ``retrain.yml@refs/heads/<branch>``. Needs the repository's OIDC subject customization
    (``include_claim_keys: repo, context, job_workflow_ref``; see docs/cicd.md) set first, so
    the default is off: a fresh repository's tokens carry the default subject."""
    bootstrap_qualifier: Annotated[
        str,
        _matches(
            r"^[a-z0-9]{1,10}$",
            "is not a cdk bootstrap qualifier (1-10 lowercase letters and digits); use e.g. "
            "'mlopsdev' (CDK's own default is 'hnb659fds')",
        ),
    ] = "hnb659fds"
    """``cdk bootstrap --qualifier`` of this environment (``make bootstrap`` uses it). Every
    stack's synthesizer and the deploy role use it, so each environment has its own bootstrap
    roles; ``ENVIRONMENTS`` sets ``mlops<env>`` (``mlopsdev``, ``mlopsstg``, ``mlopsprod``)."""
    permissions_boundary: bool = True
    """Attach the bootstrap's permissions boundary ``cdk-<qualifier>-role-boundary`` (created by
    ``make bootstrap``) to every IAM role the app creates. Turn off only for an account
    bootstrapped without it."""
    max_session_minutes: int = Field(
        60, ge=60, le=720, json_schema_extra=_fix("the IAM role session limits")
    )
    """Maximum session of every role (60-720); one hour covers a retrain or a deploy, and a
    leaked token expires soon."""


class MlflowSettings(_Strict):
    """SageMaker managed MLflow: a serverless MLflow App or an instance-based tracking server."""

    enabled: bool = False
    """Create the managed MLflow the retrain workflow logs to."""
    kind: MlflowKind = "serverless"
    """``serverless`` (an ``AWS::SageMaker::MlflowApp``: no instance, no hourly charge) or
    ``tracking_server`` (an ``AWS::SageMaker::MlflowTrackingServer``, billed per hour by size
    while it exists)."""
    size: MlflowSize = "Small"
    """Tracking-server size: ``Small``, ``Medium`` or ``Large``. Only with ``kind =
    'tracking_server'``: a serverless app has no size, so setting one there is an error."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.kind == "serverless" and "size" in self.model_fields_set:
            yield problem(
                "size",
                self.size,
                "only sizes a tracking server, but kind = 'serverless' (a serverless "
                "MLflow App has no size)",
                "remove size, or set kind = 'tracking_server' to run a tracking server "
                "of that size",
            )


def _budget_percents_valid(percents: tuple[int, ...]) -> bool:
    return 1 <= len(percents) <= 4 and all(0 < percent <= 1000 for percent in percents)


class ObservabilitySettings(_Strict):
    """Dashboard, alarms and budget."""

    alarm_emails: tuple[
        Annotated[str, _check(lambda email: "@" in email, "not an email address")], ...
    ] = ()
    """Email addresses subscribed to the alarm topic."""
    monthly_budget_usd: int = Field(200, gt=0)
    """AWS Budgets monthly limit."""
    budget_alert_percents: Annotated[
        tuple[int, ...],
        _check(
            _budget_percents_valid,
            "needs 1 to 4 percentages (Budgets allows 5 notifications; one is the forecast), "
            "each in (0, 1000]; e.g. [80, 100]",
        ),
    ] = (80, 100)
    """Percentages of the budget at which actual spend notifies the alarm topic (forecasted
    spend notifies at 100%)."""
    error_rate_percent: float = Field(5.0, gt=0, le=100)
    """5xx rate that raises the error alarm."""
    p99_latency_ms: int = Field(500, gt=0)
    """p99 latency that raises the latency alarm."""
    alarm_period_minutes: Annotated[
        int,
        _check(
            lambda minutes: minutes in ALARM_PERIOD_MINUTES,
            "is not a period alarms support here; use one of "
            + ", ".join(str(minutes) for minutes in ALARM_PERIOD_MINUTES),
        ),
    ] = 5
    """Period over which each alarm aggregates its metric."""
    alarm_evaluation_periods: int = Field(3, ge=1)
    """Periods an alarm looks back over."""
    alarm_datapoints_to_alarm: int = Field(2, ge=1)
    """Breaching periods among those that raise the alarm."""

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        if self.alarm_datapoints_to_alarm > self.alarm_evaluation_periods:
            yield (
                f"alarm_datapoints_to_alarm = {self.alarm_datapoints_to_alarm} and "
                f"alarm_evaluation_periods = {self.alarm_evaluation_periods}: need "
                "1 <= alarm_datapoints_to_alarm <= alarm_evaluation_periods; lower the first"
            )
        window = self.alarm_period_minutes * self.alarm_evaluation_periods
        if window > 24 * 60:
            yield (
                f"alarm_period_minutes x alarm_evaluation_periods = {window} minutes: exceeds "
                "the one-day alarm evaluation range; lower either value"
            )


ImageTag = Annotated[
    str,
    _matches(
        r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        "is not a valid image tag; use letters, digits, '_', '.', '-' (max 128), e.g. "
        "-c image_tag=1.4.0",
    ),
]


class Settings(_Strict):
    """Everything one environment deploys."""

    env_name: str
    """``dev``, ``staging`` or ``prod``."""
    account: Annotated[
        str,
        _matches(
            r"^\d{12}$",
            "is not a 12-digit AWS account id; set -c account=<12 digits> or CDK_DEFAULT_ACCOUNT",
        ),
    ]
    """AWS account id."""
    region: Annotated[
        str,
        _matches(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "is not an AWS region name; use e.g. us-east-1"),
    ]
    """AWS region."""
    availability_zones: tuple[str, ...] = Field(
        min_length=2,
        json_schema_extra=_fix("list at least 2 zones of the region, e.g. us-east-1a,us-east-1b"),
    )
    """AZs pinned so synth never looks them up."""
    serving: ServingPath
    """``eks`` or ``sagemaker``."""
    image_tag: ImageTag = "latest"
    """Model-server image tag in the ECR repository (the stable one when a canary runs)."""
    canary_image_tag: ImageTag | None = None
    """EKS only: image tag of a canary workload served beside the stable one, with
    ``canary_percent``; ``None`` (default) runs no canary."""
    canary_percent: int | None = None
    """EKS only: share of requests (0-100) the listener forwards to the canary; the stable
    workload gets the rest. Required with ``canary_image_tag``."""
    image_digest: (
        Annotated[
            str,
            _matches(
                IMAGE_DIGEST_RE.pattern,
                "is not an image digest; use sha256:<64 lowercase hex digits>, as printed by "
                "make image-digest IMAGE_TAG=<tag>",
            ),
        ]
        | None
    ) = None
    """Digest of the image to serve; when set, every template references
    ``<repository>@<digest>`` (the tag stays a label), so every environment runs the same bytes."""
    retain_data: bool = False
    """Keep buckets, keys, repositories and logs when a stack is deleted."""
    log_retention_days: RetentionDays = 30
    """Retention of the platform's log groups."""
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    """VPC layout."""
    storage: StorageSettings = Field(default_factory=StorageSettings)
    """Data and model-artifact buckets."""
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    """ECR repository of the model-server image."""
    eks: EksSettings = Field(default_factory=EksSettings)
    """EKS serving path."""
    sagemaker: SageMakerSettings = Field(default_factory=SageMakerSettings)
    """SageMaker serving path."""
    api: ApiSettings = Field(default_factory=ApiSettings)
    """Public HTTP API in front of either serving path."""
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    """New-data trigger and schedule."""
    cicd: CicdSettings = Field(default_factory=CicdSettings)
    """GitHub OIDC roles."""
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
    """Managed MLflow: serverless app (default) or tracking server."""
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    """Dashboard, alarms and budget."""
    drift: DriftSettings = Field(default_factory=DriftSettings)
    """Capture and the data-drift check."""

    @property
    def stack_prefix(self) -> str:
        """Prefix of every stack name, so environments coexist in one account."""
        return f"MlopsCdk-{self.env_name}"

    @property
    def retraining_pipeline_name(self) -> str:
        """SageMaker pipeline the retraining trigger starts (``retraining.target = sagemaker``).

        ``retraining.sagemaker_pipeline_name`` if set, else ``mlopscdk-<env>-retrain``: the
        convention shared with the stack that creates the pipeline.
        """
        return self.retraining.sagemaker_pipeline_name or f"{self.stack_prefix}-retrain".lower()

    def _problems(self, context: Mapping[str, Any]) -> Iterator[str]:
        for zone in self.availability_zones:
            if not (_ZONE_RE.match(zone) and zone.startswith(self.region)):
                yield problem(
                    "availability_zones",
                    zone,
                    f"is not an availability zone of {self.region}",
                    f"use names like {self.region}a",
                )
        zones = len(self.availability_zones)
        if self.network.max_azs > zones:
            yield (
                f"network.max_azs = {self.network.max_azs}: but only {zones} availability zones "
                f"are configured; set max_azs <= {zones} or add zones"
            )
        spanned = min(self.network.max_azs, zones)
        if self.network.nat_gateways > spanned:
            yield (
                f"network.nat_gateways = {self.network.nat_gateways}: but the VPC spans {spanned} "
                f"availability zones; set nat_gateways between 1 and {spanned}"
            )
        sagemaker = self.sagemaker
        if (
            self.serving == "sagemaker"
            and sagemaker.variant == "serverless"
            and self.drift.capture_percent > 0
        ):
            yield (
                f"drift.capture_percent = {self.drift.capture_percent}: serverless SageMaker "
                "endpoints cannot capture data; set drift.capture_percent = 0 (the drift check "
                "then has nothing to read) or sagemaker.variant = 'realtime'"
            )
        deploy_environment = self.cicd.deploy_environment
        if deploy_environment != self.env_name and deploy_environment in ENVIRONMENTS:
            yield problem(
                "cicd.deploy_environment",
                deploy_environment,
                "names another mlops-cdk environment's GitHub environment, so jobs gated by "
                f"its protection rules instead of {self.env_name}'s could deploy "
                f"{self.env_name}",
                f"use {self.env_name!r}, the environment deploy-environment.yml runs in",
            )
        yield from self._canary_problems()

    def _canary_problems(self) -> list[str]:
        canary_set = self.canary_image_tag is not None or self.canary_percent is not None
        if canary_set and self.serving == "sagemaker":
            return [
                problem(
                    "canary_image_tag" if self.canary_image_tag else "canary_percent",
                    self.canary_image_tag or self.canary_percent,
                    "a canary is for serving = 'eks'; SageMaker already deploys blue/green "
                    "with canary traffic and alarm rollback itself",
                    "remove canary_image_tag and canary_percent (deploy the new image_tag), or "
                    "use serving = 'eks'",
                )
            ]
        return canary_problems(
            image_tag=self.image_tag,
            canary_image_tag=self.canary_image_tag,
            canary_percent=self.canary_percent,
        )
