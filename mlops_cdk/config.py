"""Typed, validated settings for every environment.

The three environments live in ``ENVIRONMENTS`` below: one readable place where ``dev``,
``staging`` and ``prod`` differ. ``load_settings`` applies the CDK context keys that scripts rely
on (``env``, ``serving``, ``image_tag``, ``serving_engine``, ``account``, ``region``,
``availability_zones``), validates everything and raises :class:`ConfigError` listing every
problem at once, each naming the field, the bad value and the fix.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, get_args

from mlops_cdk.fargate import FARGATE_CPU
from mlops_cdk.versions import DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS

ServingPath = Literal["eks", "sagemaker"]
ServingEngine = Literal["deployment", "kserve"]
RetrainingTarget = Literal["github", "sagemaker"]
EndpointAccess = Literal["public_and_private", "private"]
SageMakerVariant = Literal["realtime", "serverless"]
ApiAuth = Literal["iam", "api_key", "jwt"]
BucketEncryption = Literal["kms", "s3"]
MlflowSize = Literal["Small", "Medium", "Large"]

OFFLINE_ACCOUNT = "123456789012"
"""Placeholder account used when neither context nor ``CDK_DEFAULT_ACCOUNT`` names one.

It lets ``make synth`` run with no AWS credentials. ``cdk deploy`` runs with credentials, so the
CLI sets ``CDK_DEFAULT_ACCOUNT`` and the placeholder is never deployed.
"""

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease",
                       "cert-manager", "kserve")  # fmt: skip
"""Namespaces the model server may not use: Kubernetes' own and the kit's controllers'."""

# Alarm periods (minutes) offered: CloudWatch takes 10, 30 or any multiple of 60 seconds; these
# are the ones that make sense for a serving platform.
ALARM_PERIOD_MINUTES = (1, 5, 10, 15, 30, 60)

_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_AZ_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_IMAGE_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:")
_PIPELINE_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_OIDC_PROVIDER_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
_GIT_REF_RE = re.compile(r"^(?!/)(?!.*/$)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
_GITHUB_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_BOOTSTRAP_QUALIFIER_RE = re.compile(r"^[a-z0-9]{1,10}$")
_DOMAIN_NAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """Invalid configuration; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(
            "Invalid mlops-cdk configuration:\n" + "\n".join(f"  - {e}" for e in errors)
        )


@dataclass(frozen=True)
class NetworkSettings:
    """VPC layout.

    Attributes:
        cidr: IPv4 CIDR of the VPC.
        max_azs: How many of ``availability_zones`` the VPC spans (at least 2).
        nat_gateways: NAT gateways; 1 saves money in dev, one per AZ survives an AZ outage.
        interface_endpoints: Create interface endpoints (ECR, STS, Secrets Manager, Logs,
            SageMaker runtime) so private traffic bypasses NAT; about $7/month per endpoint per AZ.
        flow_logs_retention_days: Retention of the VPC flow log group.
    """

    cidr: str = "10.0.0.0/16"
    max_azs: int = 2
    nat_gateways: int = 1
    interface_endpoints: bool = False
    flow_logs_retention_days: int = 30


@dataclass(frozen=True)
class StorageSettings:
    """Data and model-artifact buckets.

    Attributes:
        encryption: ``kms`` (customer-managed key with rotation) or ``s3`` (SSE-S3).
        incoming_expiration_days: Days before raw files under ``incoming/`` expire.
        noncurrent_version_expiration_days: Days before old object versions expire.
        access_logs_expiration_days: Days before server access logs expire.
    """

    encryption: BucketEncryption = "kms"
    incoming_expiration_days: int = 365
    noncurrent_version_expiration_days: int = 90
    access_logs_expiration_days: int = 365


@dataclass(frozen=True)
class RegistrySettings:
    """ECR repository for the model-server image.

    Attributes:
        keep_last_images: Lifecycle rule keeps this many most recent images.
    """

    keep_last_images: int = 20


@dataclass(frozen=True)
class EksSettings:
    """EKS/KServe serving path.

    Attributes:
        kubernetes_version: Cluster version; its kubectl layer comes from ``versions.py``.
        serving_engine: ``deployment`` (Deployment/Service/HPA) or ``kserve`` (InferenceService).
        endpoint_access: API server endpoint: ``public_and_private`` or ``private``.
        admin_principal_arns: IAM principals granted cluster admin through access entries.
        namespace: Namespace of the model server.
        min_replicas: HPA minimum (and PodDisruptionBudget basis).
        max_replicas: HPA maximum.
        cpu: CPU request and limit per pod, one of ``FARGATE_CPU``.
        memory: Memory request and limit per pod (512Mi-120Gi); Fargate adds 256 MiB for
            its agents and rounds up to the next size for the chosen CPU.
        certificate_arn: ACM certificate for an HTTPS listener with HTTP redirect.
        domain_name: DNS name you point at the ALB (a record you manage); ``ApiUrl`` and
            ``PredictUrl`` use it. Required with ``certificate_arn``: no certificate can cover
            the ALB's own ``*.elb.amazonaws.com`` name, so HTTPS to it never verifies.
        waf_acl_arn: WAFv2 web ACL attached to the ALB.
        inbound_cidrs: CIDRs allowed to reach the ALB.
        container_insights: Run the ADOT collector (one 0.25 vCPU Fargate pod) that publishes
            Container Insights pod metrics and the model server's Prometheus metrics to
            CloudWatch. It costs custom metrics (8 per pod in 3 dimension sets, plus a few per
            model route and status code, $0.30 each a month) and the EMF log events behind
            them (about 1-2 GB a month ingested for a small cluster).
    """

    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    serving_engine: ServingEngine = "deployment"
    endpoint_access: EndpointAccess = "private"
    public_access_cidrs: tuple[str, ...] = ()
    admin_principal_arns: tuple[str, ...] = ()
    namespace: str = "model-serving"
    min_replicas: int = 1
    max_replicas: int = 3
    cpu: str = "500m"
    memory: str = "1Gi"
    certificate_arn: str | None = None
    domain_name: str | None = None
    waf_acl_arn: str | None = None
    inbound_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    container_insights: bool = True


@dataclass(frozen=True)
class SageMakerSettings:
    """SageMaker serving path and its public API.

    Attributes:
        variant: ``realtime`` (instances, autoscaling, blue/green) or ``serverless``.
        instance_type: Real-time instance type.
        initial_instance_count: Real-time instances at creation.
        min_capacity: Autoscaling minimum instances.
        max_capacity: Autoscaling maximum instances.
        invocations_per_instance: Target-tracking target (invocations per instance per minute).
        serverless_memory_mb: Serverless memory (1024-6144, step 1024).
        serverless_max_concurrency: Serverless maximum concurrency (1-200).
        data_capture_percent: Share of requests captured to the artifacts bucket (real-time
            only: serverless endpoints cannot capture data, so they need 0).
        api_auth: Public API authentication: ``iam`` or ``jwt`` (``api_key`` is rejected: the
            HTTP API that keeps the URL free of a stage prefix has no API keys or usage plans).
        jwt_issuer: Issuer URL for ``jwt`` auth.
        jwt_audience: Audiences for ``jwt`` auth.
        throttle_rate_limit: Steady-state requests per second for the API.
        throttle_burst_limit: Burst requests for the API.
        model_name: Model name in the public URL (``/v1/models/<model_name>:predict``).
        model_data_key: Key of ``model.tar.gz`` in the artifacts bucket.
        max_request_kb: Largest request body the API accepts; larger ones get 413.
        adapter_reserved_concurrency: Reserved concurrency of the API's Lambda adapter: caps
            what the API can spend and keeps the rest of the account's concurrency free.
    """

    variant: SageMakerVariant = "serverless"
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    min_capacity: int = 1
    max_capacity: int = 2
    invocations_per_instance: int = 1000
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    data_capture_percent: int = 20
    api_auth: ApiAuth = "iam"
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    throttle_rate_limit: int = 50
    throttle_burst_limit: int = 100
    model_name: str = "fraud-detection"
    model_data_key: str = "models/fraud-detection/model.tar.gz"
    max_request_kb: int = 64
    adapter_reserved_concurrency: int = 20


@dataclass(frozen=True)
class RetrainingSettings:
    """New-data trigger and schedule for retraining.

    Attributes:
        target: ``github`` (repository_dispatch) or ``sagemaker`` (pipeline execution).
        github_repository: ``owner/name`` receiving the dispatch.
        github_api_url: GitHub API base URL (GitHub Enterprise overrides it).
        event_type: repository_dispatch event type.
        data_prefix: Prefix of new training data in the data bucket.
        sagemaker_pipeline_name: SageMaker pipeline started when ``target`` is ``sagemaker``;
            ``None`` means the convention ``Settings.retraining_pipeline_name``
            (``mlopscdk-<env>-retrain``), the name the CI/CD stack gives the pipeline.
        schedule: EventBridge Scheduler cron expression (UTC).
        batching_window_seconds: SQS batching window that debounces uploads.
        batch_size: SQS batch size. 10000 (the maximum) so one upload of thousands of files
            reaches the function in a few batches; Lambda also cuts a batch at 6 MB of payload.
        max_receive_count: Receives before a message moves to the dead-letter queue.
    """

    target: RetrainingTarget = "github"
    github_repository: str = "example-org/mlops-cdk"
    github_api_url: str = "https://api.github.com"
    event_type: str = "new-data-arrived"
    data_prefix: str = "incoming/"
    sagemaker_pipeline_name: str | None = None
    schedule: str = "cron(0 2 * * ? *)"
    batching_window_seconds: int = 60
    batch_size: int = 10000
    max_receive_count: int = 5


@dataclass(frozen=True)
class CicdSettings:
    """GitHub OIDC roles for the workflows in ``.github/workflows``.

    Attributes:
        enabled: Create the OIDC provider (or reuse one) and the roles.
        existing_oidc_provider_arn: Reuse an account's GitHub OIDC provider. An account holds
            one provider per URL, so the second environment deployed into the same account
            must set this to the first one's ``GitHubOidcProviderArn`` output.
        deploy_environment: GitHub environment allowed to assume the deploy role.
        branch: Branch allowed to assume the ci and retrain roles.
        bootstrap_qualifier: ``cdk bootstrap --qualifier`` of the target account; the deploy
            role may assume only that bootstrap's roles.
        max_session_minutes: Maximum session of every role (60-720); one hour covers a
            retrain or a deploy, and a leaked token expires soon.
    """

    enabled: bool = True
    existing_oidc_provider_arn: str | None = None
    deploy_environment: str = "dev"
    branch: str = "main"
    bootstrap_qualifier: str = "hnb659fds"
    max_session_minutes: int = 60


@dataclass(frozen=True)
class MlflowSettings:
    """SageMaker managed MLflow tracking server.

    Attributes:
        enabled: Create the tracking server (billed per hour while it exists).
        size: ``Small``, ``Medium`` or ``Large``.
    """

    enabled: bool = False
    size: MlflowSize = "Small"


@dataclass(frozen=True)
class ObservabilitySettings:
    """Dashboard, alarms and budget.

    Attributes:
        alarm_emails: Email addresses subscribed to the alarm topic.
        monthly_budget_usd: AWS Budgets monthly limit.
        budget_alert_percents: Percentages of the budget at which actual spend notifies the
            alarm topic (forecasted spend notifies at 100%).
        error_rate_percent: 5xx rate that raises the error alarm.
        p99_latency_ms: p99 latency that raises the latency alarm.
        average_latency_ms: Average latency that raises the EKS latency alarm, where the
            load balancer is found by a Metrics Insights query (no percentiles there).
        alarm_period_minutes: Period over which each alarm aggregates its metric.
        alarm_evaluation_periods: Periods an alarm looks back over.
        alarm_datapoints_to_alarm: Breaching periods among those that raise the alarm.
    """

    alarm_emails: tuple[str, ...] = ()
    monthly_budget_usd: int = 200
    budget_alert_percents: tuple[int, ...] = (80, 100)
    error_rate_percent: float = 5.0
    p99_latency_ms: int = 500
    average_latency_ms: int = 250
    alarm_period_minutes: int = 5
    alarm_evaluation_periods: int = 3
    alarm_datapoints_to_alarm: int = 2


@dataclass(frozen=True)
class Settings:
    """Everything one environment deploys.

    Attributes:
        env_name: ``dev``, ``staging`` or ``prod``.
        account: AWS account id.
        region: AWS region.
        availability_zones: AZs pinned so synth never looks them up.
        serving: ``eks`` or ``sagemaker``.
        image_tag: Model-server image tag in the ECR repository.
        retain_data: Keep buckets, keys, repositories and logs when a stack is deleted.
        log_retention_days: Retention of the platform's log groups.
    """

    env_name: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    serving: ServingPath
    image_tag: str = "latest"
    retain_data: bool = False
    log_retention_days: int = 30
    network: NetworkSettings = field(default_factory=NetworkSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    eks: EksSettings = field(default_factory=EksSettings)
    sagemaker: SageMakerSettings = field(default_factory=SageMakerSettings)
    retraining: RetrainingSettings = field(default_factory=RetrainingSettings)
    cicd: CicdSettings = field(default_factory=CicdSettings)
    mlflow: MlflowSettings = field(default_factory=MlflowSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)

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


# The environments: every per-environment difference lives here.
ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "dev": {
        "region": "us-east-1",
        "availability_zones": ("us-east-1a", "us-east-1b"),
        "serving": "sagemaker",
        "retain_data": False,
        "log_retention_days": 30,
        "network": {"max_azs": 2, "nat_gateways": 1, "interface_endpoints": False},
        "sagemaker": {"variant": "serverless", "data_capture_percent": 0},
        "eks": {"min_replicas": 1, "max_replicas": 2},
        "retraining": {"batching_window_seconds": 60},
        "observability": {"monthly_budget_usd": 150},
    },
    "staging": {
        "region": "us-east-1",
        "availability_zones": ("us-east-1a", "us-east-1b"),
        "serving": "eks",
        "retain_data": False,
        "log_retention_days": 90,
        "network": {"max_azs": 2, "nat_gateways": 1, "interface_endpoints": True},
        "sagemaker": {"variant": "realtime", "instance_type": "ml.m5.large"},
        "eks": {"min_replicas": 2, "max_replicas": 4},
        "retraining": {"batching_window_seconds": 120},
        "cicd": {"deploy_environment": "staging"},
        "observability": {"monthly_budget_usd": 400},
    },
    "prod": {
        "region": "us-east-1",
        "availability_zones": ("us-east-1a", "us-east-1b", "us-east-1c"),
        "serving": "eks",
        "retain_data": True,
        "log_retention_days": 365,
        "network": {
            "max_azs": 3,
            "nat_gateways": 3,
            "interface_endpoints": True,
            "flow_logs_retention_days": 365,
        },
        "sagemaker": {
            "variant": "realtime",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 2,
            "min_capacity": 2,
            "max_capacity": 6,
        },
        "eks": {"endpoint_access": "private", "min_replicas": 2, "max_replicas": 10},
        "retraining": {"batching_window_seconds": 300},
        "cicd": {"deploy_environment": "prod"},
        "mlflow": {"enabled": True},
        "observability": {"monthly_budget_usd": 1000},
    },
}

DEFAULT_ENV = "dev"


def load_settings(
    context: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings from CDK context and the process environment.

    Args:
        context: CDK context values (``app.node.try_get_context``), e.g. ``{"env": "prod"}``.
        environ: Environment variables; defaults to ``os.environ``. ``CDK_DEFAULT_ACCOUNT`` and
            ``CDK_DEFAULT_REGION`` are used when context names no account or region.
        overrides: Values deep-merged over the environment's defaults, e.g.
            ``{"network": {"nat_gateways": 2}}``; for library users and tests.

    Raises:
        ConfigError: Listing every invalid field with its value and the fix.
    """
    environ = os.environ if environ is None else environ
    env_name = str(context.get("env") or DEFAULT_ENV)
    if env_name not in ENVIRONMENTS:
        raise ConfigError(
            [
                f"env = {env_name!r} is not a known environment; use -c env=<one of "
                f"{', '.join(ENVIRONMENTS)}>"
            ]
        )
    values = _deep_merge(copy.deepcopy(ENVIRONMENTS[env_name]), overrides or {})
    values["env_name"] = env_name
    region = context.get("region") or environ.get("CDK_DEFAULT_REGION") or values["region"]
    if region != values["region"] and not context.get("availability_zones"):
        count = len(values["availability_zones"])
        values["availability_zones"] = tuple(f"{region}{s}" for s in "abcdef"[:count])
    values["region"] = region
    values["account"] = str(
        context.get("account") or environ.get("CDK_DEFAULT_ACCOUNT") or OFFLINE_ACCOUNT
    )
    if context.get("availability_zones"):
        values["availability_zones"] = _as_tuple(context["availability_zones"])
    for key in ("serving", "image_tag"):
        if context.get(key):
            values[key] = str(context[key])
    if context.get("serving_engine"):
        values.setdefault("eks", {})["serving_engine"] = str(context["serving_engine"])
    return settings_from_dict(values)


def settings_from_dict(values: Mapping[str, Any]) -> Settings:
    """Build and validate :class:`Settings` from plain values (unknown keys are errors)."""
    errors: list[str] = []
    env_name = values.get("env_name", "?")
    settings = _build(Settings, values, env_name, errors)
    if not errors:
        errors.extend(_validate(settings))
    if errors:
        raise ConfigError(errors)
    return settings


def _build(cls: type, values: Mapping[str, Any], path: str, errors: list[str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            errors.append(
                f"{path}.{key} is not a setting; valid keys are {', '.join(sorted(known))}"
            )
            continue
        default = known[key].default_factory  # type: ignore[misc]
        if callable(default) and is_dataclass(default):
            if not isinstance(value, Mapping):
                errors.append(f"{path}.{key} must be a mapping of {default.__name__} fields")
                continue
            kwargs[key] = _build(default, value, f"{path}.{key}", errors)
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        errors.append(f"{path}: {exc}")
        return None


def _validate(s: Settings) -> list[str]:
    """Every cross-field and format rule, as messages naming field, value and fix."""
    e: list[str] = []
    p = s.env_name
    e += _check_literals(s, p)
    if not _ACCOUNT_RE.match(s.account):
        e.append(
            f"{p}.account = {s.account!r} is not a 12-digit AWS account id; "
            "set -c account=<12 digits> or CDK_DEFAULT_ACCOUNT"
        )
    if not _REGION_RE.match(s.region):
        e.append(f"{p}.region = {s.region!r} is not an AWS region name; use e.g. us-east-1")
    for az in s.availability_zones:
        if not _AZ_RE.match(az) or not az.startswith(s.region):
            e.append(
                f"{p}.availability_zones contains {az!r}, which is not an availability "
                f"zone of {s.region}; use names like {s.region}a"
            )
    n = s.network
    try:
        net = ipaddress.ip_network(n.cidr)
        if net.version != 4 or not 16 <= net.prefixlen <= 24:
            e.append(
                f"{p}.network.cidr = {n.cidr!r} must be an IPv4 CIDR from /16 to /24, "
                "e.g. 10.0.0.0/16"
            )
    except ValueError:
        e.append(f"{p}.network.cidr = {n.cidr!r} is not a valid CIDR; use e.g. 10.0.0.0/16")
    if n.max_azs < 2:
        e.append(
            f"{p}.network.max_azs = {n.max_azs}, but EKS and SageMaker need subnets in at "
            "least 2 availability zones; set max_azs >= 2"
        )
    if n.max_azs > len(s.availability_zones):
        e.append(
            f"{p}.network.max_azs = {n.max_azs}, but only {len(s.availability_zones)} "
            f"availability zones are configured; set max_azs <= "
            f"{len(s.availability_zones)} or add zones"
        )
    if not 1 <= n.nat_gateways <= min(n.max_azs, len(s.availability_zones)):
        e.append(
            f"{p}.network.nat_gateways = {n.nat_gateways}, but the VPC spans "
            f"{min(n.max_azs, len(s.availability_zones))} availability zones; set "
            f"nat_gateways between 1 and {min(n.max_azs, len(s.availability_zones))}"
        )
    for name, days in (
        ("log_retention_days", s.log_retention_days),
        ("network.flow_logs_retention_days", n.flow_logs_retention_days),
    ):
        if days not in LOG_RETENTION_DAYS:
            e.append(
                f"{p}.{name} = {days} is not a CloudWatch Logs retention; use one of "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
    if not _IMAGE_TAG_RE.match(s.image_tag):
        e.append(
            f"{p}.image_tag = {s.image_tag!r} is not a valid image tag; use letters, "
            "digits, '_', '.', '-' (max 128), e.g. -c image_tag=1.4.0"
        )
    for name, value in (
        ("storage.incoming_expiration_days", s.storage.incoming_expiration_days),
        ("storage.noncurrent_version_expiration_days",
         s.storage.noncurrent_version_expiration_days),
        ("storage.access_logs_expiration_days", s.storage.access_logs_expiration_days),
        ("registry.keep_last_images", s.registry.keep_last_images),
    ):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            e.append(f"{p}.{name} = {value!r} must be a positive whole number")
    e += _validate_eks(s.eks, f"{p}.eks")
    e += _validate_sagemaker(s.sagemaker, f"{p}.sagemaker")
    r = s.retraining
    if not _REPOSITORY_RE.match(r.github_repository):
        e.append(
            f"{p}.retraining.github_repository = {r.github_repository!r} is not "
            "'owner/name'; set it to the repository that runs retrain.yml"
        )
    if not r.github_api_url.startswith("https://"):
        e.append(f"{p}.retraining.github_api_url = {r.github_api_url!r} must be an https URL")
    if not r.data_prefix.endswith("/") or r.data_prefix.startswith("/"):
        e.append(
            f"{p}.retraining.data_prefix = {r.data_prefix!r} must end with '/' and not "
            "start with one, e.g. incoming/"
        )
    if r.sagemaker_pipeline_name is not None and not _PIPELINE_NAME_RE.match(
        r.sagemaker_pipeline_name
    ):
        e.append(
            f"{p}.retraining.sagemaker_pipeline_name = {r.sagemaker_pipeline_name!r} is not a "
            "SageMaker pipeline name (letters, digits and '-', at most 256); e.g. fraud-retrain"
        )
    if not (r.schedule.startswith("cron(") or r.schedule.startswith("rate(")):
        e.append(
            f"{p}.retraining.schedule = {r.schedule!r} is not an EventBridge Scheduler "
            "expression; use e.g. cron(0 2 * * ? *)"
        )
    if not 0 <= r.batching_window_seconds <= 300:
        e.append(
            f"{p}.retraining.batching_window_seconds = {r.batching_window_seconds} must be "
            "0-300 (the SQS event source maximum)"
        )
    if not 1 <= r.batch_size <= 10000:
        e.append(f"{p}.retraining.batch_size = {r.batch_size} must be 1-10000")
    if r.batch_size > 10 and r.batching_window_seconds < 1:
        e.append(
            f"{p}.retraining.batch_size = {r.batch_size} needs batching_window_seconds >= 1 "
            "(SQS allows batches above 10 only with a batching window)"
        )
    if not 1 <= r.max_receive_count <= 1000:
        e.append(f"{p}.retraining.max_receive_count = {r.max_receive_count} must be 1-1000")
    c = s.cicd
    if c.existing_oidc_provider_arn and not _OIDC_PROVIDER_ARN_RE.match(
        c.existing_oidc_provider_arn
    ):
        e.append(
            f"{p}.cicd.existing_oidc_provider_arn = {c.existing_oidc_provider_arn!r} is not an ARN "
            "of a GitHub OIDC provider; use arn:aws:iam::<account>:oidc-provider/"
            "token.actions.githubusercontent.com"
        )
    # The trust policies use StringEquals: a wildcard would be taken literally and never match.
    for name, value, pattern, example in (
        ("branch", c.branch, _GIT_REF_RE, "main"),
        ("deploy_environment", c.deploy_environment, _GITHUB_ENVIRONMENT_RE, "prod"),
    ):
        if not pattern.match(value):
            e.append(
                f"{p}.cicd.{name} = {value!r} is not an exact GitHub {name.replace('_', ' ')} "
                f"name (no wildcards, spaces or leading/trailing '/'); use e.g. {example!r}"
            )
    if not _BOOTSTRAP_QUALIFIER_RE.match(c.bootstrap_qualifier):
        e.append(
            f"{p}.cicd.bootstrap_qualifier = {c.bootstrap_qualifier!r} is not a cdk bootstrap "
            "qualifier (1-10 lowercase letters and digits); the default is 'hnb659fds'"
        )
    if not 60 <= c.max_session_minutes <= 720:
        e.append(
            f"{p}.cicd.max_session_minutes = {c.max_session_minutes} must be 60-720 "
            "(the IAM role session limits)"
        )
    o = s.observability
    for email in o.alarm_emails:
        if "@" not in email:
            e.append(f"{p}.observability.alarm_emails contains {email!r}, not an email address")
    if o.monthly_budget_usd <= 0:
        e.append(f"{p}.observability.monthly_budget_usd = {o.monthly_budget_usd} must be > 0")
    if not 0 < o.error_rate_percent <= 100:
        e.append(
            f"{p}.observability.error_rate_percent = {o.error_rate_percent} must be in (0, 100]"
        )
    for name in ("p99_latency_ms", "average_latency_ms"):
        if getattr(o, name) <= 0:
            e.append(f"{p}.observability.{name} = {getattr(o, name)} must be > 0")
    percents = o.budget_alert_percents
    if not 1 <= len(percents) <= 4 or any(not 0 < v <= 1000 for v in percents):
        e.append(
            f"{p}.observability.budget_alert_percents = {percents} needs 1 to 4 percentages "
            "(Budgets allows 5 notifications; one is the forecast), each in (0, 1000], "
            "e.g. (80, 100)"
        )
    if o.alarm_period_minutes not in ALARM_PERIOD_MINUTES:
        e.append(
            f"{p}.observability.alarm_period_minutes = {o.alarm_period_minutes} is not a "
            f"period alarms support here; use one of {', '.join(map(str, ALARM_PERIOD_MINUTES))}"
        )
    if not 1 <= o.alarm_datapoints_to_alarm <= o.alarm_evaluation_periods:
        e.append(
            f"{p}.observability.alarm_datapoints_to_alarm = {o.alarm_datapoints_to_alarm} and "
            f"alarm_evaluation_periods = {o.alarm_evaluation_periods} need "
            "1 <= alarm_datapoints_to_alarm <= alarm_evaluation_periods"
        )
    if o.alarm_period_minutes * o.alarm_evaluation_periods > 24 * 60:
        e.append(
            f"{p}.observability.alarm_period_minutes x alarm_evaluation_periods = "
            f"{o.alarm_period_minutes * o.alarm_evaluation_periods} minutes exceeds the "
            "one-day alarm evaluation range; lower either value"
        )
    return e


def _validate_eks(k: EksSettings, p: str) -> list[str]:
    e: list[str] = []
    if k.kubernetes_version not in KUBERNETES_VERSIONS:
        e.append(
            f"{p}.kubernetes_version = {k.kubernetes_version!r} cannot be created on EKS "
            "or has no kubectl layer here; use one of "
            f"{', '.join(KUBERNETES_VERSIONS)}"
        )
    if not 1 <= k.min_replicas <= k.max_replicas:
        e.append(
            f"{p}.min_replicas = {k.min_replicas} and max_replicas = {k.max_replicas} need "
            "1 <= min_replicas <= max_replicas"
        )
    for arn in k.admin_principal_arns:
        if not _ARN_RE.match(arn):
            e.append(f"{p}.admin_principal_arns contains {arn!r}, which is not an IAM ARN")
    for name in ("certificate_arn", "waf_acl_arn"):
        value = getattr(k, name)
        if value is not None and not _ARN_RE.match(value):
            e.append(f"{p}.{name} = {value!r} is not an ARN")
    if k.domain_name is not None and not _DOMAIN_NAME_RE.match(k.domain_name):
        e.append(
            f"{p}.domain_name = {k.domain_name!r} is not a DNS name; use e.g. "
            "model.example.com (no scheme, no path)"
        )
    if k.certificate_arn and not k.domain_name:
        e.append(
            f"{p}.certificate_arn is set but domain_name is not; HTTPS to the ALB's own "
            "hostname never verifies, so set domain_name to the name the certificate covers "
            "(and point its DNS record at the ALB)"
        )
    if not isinstance(k.container_insights, bool):
        e.append(f"{p}.container_insights = {k.container_insights!r} must be true or false")
    for cidr in k.inbound_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            e.append(f"{p}.inbound_cidrs contains {cidr!r}, not a valid CIDR; e.g. 203.0.113.0/24")
    if k.namespace in RESERVED_NAMESPACES:
        e.append(
            f"{p}.namespace = {k.namespace!r} belongs to the cluster or its controllers; "
            f"choose another name (not {', '.join(RESERVED_NAMESPACES)})"
        )
    if k.cpu not in FARGATE_CPU:
        e.append(
            f"{p}.cpu = {k.cpu!r} is not a Fargate vCPU size; use one of {', '.join(FARGATE_CPU)}"
        )
    memory = re.match(r"^([1-9]\d*)(Mi|Gi)$", k.memory)
    mebibytes = int(memory[1]) * (1024 if memory[2] == "Gi" else 1) if memory else 0
    if not 512 <= mebibytes <= 120 * 1024:
        e.append(
            f"{p}.memory = {k.memory!r} must be a quantity from 512Mi to 120Gi in Mi or Gi, "
            "e.g. 1Gi (Fargate rounds up to its next size)"
        )
    if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", k.namespace):
        e.append(
            f"{p}.namespace = {k.namespace!r} is not a Kubernetes namespace name "
            "(lowercase letters, digits, '-')"
        )
    return e


def _validate_sagemaker(m: SageMakerSettings, p: str) -> list[str]:
    e: list[str] = []
    if not m.instance_type.startswith("ml."):
        e.append(
            f"{p}.instance_type = {m.instance_type!r} is not a SageMaker instance type; "
            "use e.g. ml.m5.large"
        )
    if not 1 <= m.min_capacity <= m.max_capacity:
        e.append(
            f"{p}.min_capacity = {m.min_capacity} and max_capacity = {m.max_capacity} need "
            "1 <= min_capacity <= max_capacity"
        )
    if not m.min_capacity <= m.initial_instance_count <= m.max_capacity:
        e.append(
            f"{p}.initial_instance_count = {m.initial_instance_count} must lie between "
            f"min_capacity {m.min_capacity} and max_capacity {m.max_capacity}"
        )
    if m.serverless_memory_mb not in (1024, 2048, 3072, 4096, 5120, 6144):
        e.append(
            f"{p}.serverless_memory_mb = {m.serverless_memory_mb} must be one of 1024, "
            "2048, 3072, 4096, 5120, 6144"
        )
    if not 1 <= m.serverless_max_concurrency <= 200:
        e.append(f"{p}.serverless_max_concurrency = {m.serverless_max_concurrency} must be 1-200")
    if not 0 <= m.data_capture_percent <= 100:
        e.append(f"{p}.data_capture_percent = {m.data_capture_percent} must be 0-100")
    if m.api_auth == "jwt" and not (m.jwt_issuer and m.jwt_audience):
        e.append(
            f"{p}.api_auth = 'jwt' needs jwt_issuer and jwt_audience; set both or use "
            "api_auth = 'iam'"
        )
    if m.throttle_rate_limit < 1 or m.throttle_burst_limit < 1:
        e.append(f"{p}.throttle_rate_limit and throttle_burst_limit must be >= 1")
    if m.api_auth == "api_key":
        e.append(
            f"{p}.api_auth = 'api_key' is not supported: the HTTP API (whose $default stage "
            "keeps the URL free of a stage prefix) has no API keys or usage plans; use "
            "api_auth = 'iam' or 'jwt'"
        )
    if m.jwt_issuer is not None and not m.jwt_issuer.startswith("https://"):
        e.append(f"{p}.jwt_issuer = {m.jwt_issuer!r} must be an https URL")
    if m.variant == "serverless" and m.data_capture_percent > 0:
        e.append(
            f"{p}.data_capture_percent = {m.data_capture_percent}, but serverless endpoints "
            "cannot capture data; set data_capture_percent = 0 or variant = 'realtime'"
        )
    if not re.match(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$", m.model_name):
        e.append(
            f"{p}.model_name = {m.model_name!r} must be 1-40 lowercase letters, digits or '-', "
            "e.g. fraud-detection"
        )
    if m.model_data_key.startswith("/") or not m.model_data_key.endswith(".tar.gz"):
        e.append(
            f"{p}.model_data_key = {m.model_data_key!r} must be a key of a .tar.gz in the "
            "artifacts bucket, e.g. models/fraud-detection/model.tar.gz"
        )
    if not 1 <= m.max_request_kb <= 4096:
        e.append(
            f"{p}.max_request_kb = {m.max_request_kb} must be 1-4096 (serverless endpoints "
            "accept at most 4 MB)"
        )
    if not 1 <= m.adapter_reserved_concurrency <= 1000:
        e.append(
            f"{p}.adapter_reserved_concurrency = {m.adapter_reserved_concurrency} must be 1-1000"
        )
    return e


def _check_literals(obj: Any, path: str) -> list[str]:
    """Check every ``Literal`` field (recursively) against its allowed values."""
    errors: list[str] = []
    hints = {f.name: f.type for f in fields(obj)}
    for name, hint in hints.items():
        value = getattr(obj, name)
        if is_dataclass(value):
            errors += _check_literals(value, f"{path}.{name}")
            continue
        choices = _LITERALS.get(hint)
        if choices is not None and value not in choices:
            flag = f" (or -c {name}=...)" if name in ("serving", "serving_engine") else ""
            errors.append(
                f"{path}.{name} = {value!r} is not valid{flag}; choose one of {', '.join(choices)}"
            )
    return errors


_LITERALS: dict[str, tuple[str, ...]] = {
    alias: get_args(globals()[alias])
    for alias in (
        "ServingPath", "ServingEngine", "RetrainingTarget", "EndpointAccess", "SageMakerVariant",
        "ApiAuth", "BucketEncryption", "MlflowSize",
    )
}  # fmt: skip


def _deep_merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            merged[key] = _deep_merge(dict(merged.get(key, {})), value)
        else:
            merged[key] = value
    return merged


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)
