"""Pricing rules: one small function per resource family, each turning resources into line items.

A rule takes the assembly's :class:`~mlops_cdk.cost.assembly.Inventory` and the
:class:`PriceTable` and yields :class:`LineItem` s; resources billed a fixed amount each are
:class:`PerUnit` entries, the rest small functions. ``RULES`` fixes the order of the estimate's
lines; ``PRICED`` lists every resource type a rule prices.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cdk.cost.assembly import Inventory, Resource, as_list, properties, runs_image
from mlops_cdk.fargate import pod_size, round_to_fargate

PRICES_FILE = Path(__file__).with_name("prices.json")

EKS_CLUSTER_TYPES = ("AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster")
LOAD_BALANCER_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
INGRESS_SCHEME_ANNOTATION = "alb.ingress.kubernetes.io/scheme"
INGRESS_GROUP_ANNOTATION = "alb.ingress.kubernetes.io/group.name"


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of the estimate."""

    item: str
    """What is billed, e.g. ``NAT gateways``."""
    quantity: str
    """How much of it, in words: ``2 x 730 h + 50 GB processed``."""
    monthly_usd: float
    resource_types: tuple[str, ...] = ()
    note: str = ""


class UnpricedError(KeyError):
    """A size or instance type the price table does not list."""


class PriceTable:
    """``prices.json``: unit prices, usage assumptions and hours per month."""

    def __init__(self, prices: Mapping[str, Any]) -> None:
        self.price: Mapping[str, Any] = prices["prices"]
        self.assumption: Mapping[str, Any] = prices["assumptions"]
        self.hours: float = prices["hours_per_month"]

    def lookup(self, table: str, key: str) -> float:
        """The price of ``key`` in a sized table such as ``sagemaker_instance_hour``."""
        try:
            return float(self.price[table][key])
        except KeyError:
            raise UnpricedError(
                f"{table} has no price for {key!r}; add it to prices.json"
            ) from None


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    """The price table, with its date, region, assumptions and reference design."""
    return json.loads(path.read_text())


def reference_design(prices: Mapping[str, Any] | None = None) -> tuple[str, float]:
    """The comparison design's description and monthly cost from the same price table."""
    prices = prices or load_prices()
    design = prices["reference_design"]
    total = 0.0
    for item in design["items"]:
        table, _, key = item["price"].partition(".")
        price = prices["prices"][table][key] if key else prices["prices"][table]
        total += item["count"] * item["hours"] * price
    return design["description"], round(total, 2)


Rule = Callable[[Inventory, PriceTable], Iterator[LineItem]]


@dataclass(frozen=True)
class PerUnit:
    """A rule for resources billed per unit: one line of ``count x monthly_usd(table)``."""

    resource_types: tuple[str, ...]
    """Counted together; the line names the first (the others are variants of it)."""
    item: str
    quantity: str
    """Format string with ``{count}``, ``{hours}`` and every assumption by name."""
    monthly_usd: Callable[[PriceTable], float]
    """The monthly price of one unit."""
    note: str = ""

    @classmethod
    def monthly(
        cls, resource_type: str, item: str, price: str, quantity: str, note: str = ""
    ) -> PerUnit:
        """A flat monthly ``price`` (a key of ``prices.json``) per resource."""
        return cls((resource_type,), item, quantity, lambda table: table.price[price], note)

    def __call__(self, inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
        """The line, if the templates hold any of ``resource_types``."""
        count = inventory.count(*self.resource_types)
        if count:
            quantity = self.quantity.format(count=count, hours=table.hours, **table.assumption)
            usd = count * self.monthly_usd(table)
            yield LineItem(self.item, quantity, usd, self.resource_types[:1], self.note)


# -- EKS -------------------------------------------------------------------------------------


EKS_CONTROL_PLANE = PerUnit(
    EKS_CLUSTER_TYPES,
    "EKS control plane",
    "{count} cluster x {hours:g} h",
    lambda table: table.hours * table.price["eks_cluster_hour"],
)


def fargate_pods(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Model pods (at their minimum replicas) and EKS system pods on Fargate."""
    if not inventory.count(*EKS_CLUSTER_TYPES):
        return
    pods = [*_model_pods(inventory, table), *_system_pods(table)]
    vcpu = sum(count * cpu for _, count, cpu, _ in pods)
    memory_gb = sum(count * memory for _, count, _, memory in pods)
    described = ", ".join(
        f"{name} x{count} ({cpu:g} vCPU/{memory:g} GB)" for name, count, cpu, memory in pods
    )
    yield LineItem(
        "EKS Fargate pods",
        f"{vcpu:g} vCPU + {memory_gb:g} GB x {table.hours:g} h: {described}",
        table.hours
        * (vcpu * table.price["fargate_vcpu_hour"] + memory_gb * table.price["fargate_gb_hour"]),
        ("AWS::EKS::FargateProfile",),
        "Fargate bills each pod's requests plus 0.25 GB, rounded up to a Fargate size; "
        "model pods at their minimum replicas",
    )


PodLine = tuple[str, int, float, float]
"""A pod group: name, replicas, vCPU and GB per pod."""


def _model_pods(inventory: Inventory, table: PriceTable) -> Iterator[PodLine]:
    """Deployments (at their autoscaler's minimum) and KServe InferenceServices."""
    autoscaler_minimum = {
        hpa.get("spec", {}).get("scaleTargetRef", {}).get("name"): hpa["spec"].get("minReplicas", 1)
        for hpa in inventory.kubernetes_kind("HorizontalPodAutoscaler")
    }
    for manifest in inventory.kubernetes_objects:
        kind, name = manifest.get("kind"), manifest.get("metadata", {}).get("name", "?")
        spec = manifest.get("spec", {})
        if kind == "Deployment":
            replicas = autoscaler_minimum.get(name, spec.get("replicas", 1))
            containers = spec.get("template", {}).get("spec", {}).get("containers", [])
        elif kind == "InferenceService":
            predictor = spec.get("predictor", {})
            replicas = predictor.get("minReplicas", 1)
            containers = [
                container
                for key in ("model", "containers")
                for container in as_list(predictor.get(key))
            ]
        else:
            continue
        cpu, memory = pod_size(containers, table.price["fargate_pod_overhead_gb"])
        yield f"{kind} {name}", int(replicas), cpu, memory


def _system_pods(table: PriceTable) -> Iterator[PodLine]:
    """CoreDNS, the load balancer controller and other add-on pods from the assumptions."""
    for pod in table.assumption["eks_system_pods"]:
        cpu, memory = round_to_fargate(pod["vcpu"], pod["memory_gb"] + 0.25)
        yield pod["name"], pod["count"], cpu, memory


def container_insights(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Metrics the ADOT collector publishes, when the manifests run it."""
    if not inventory.count(*EKS_CLUSTER_TYPES):
        return
    collectors = sum(
        1 for manifest in inventory.kubernetes_objects if runs_image(manifest, "aws-otel-collector")
    )
    if collectors:
        metrics = table.assumption["container_insights_metrics_per_cluster"] * collectors
        yield LineItem(
            "Container Insights metrics",
            f"{metrics} metrics",
            metrics * table.price["cloudwatch_custom_metric_month"],
            ("AWS::EKS::Cluster",),
            "pod, namespace and model-server metrics the ADOT collector publishes (its "
            "log events are priced with the log groups, its pod with the Fargate pods)",
        )


def node_groups(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """EC2 managed node groups at their desired size."""
    if not inventory.count(*EKS_CLUSTER_TYPES):
        return
    for group in inventory.of("AWS::EKS::Nodegroup"):
        group_properties = properties(group)
        instance_type = (group_properties.get("InstanceTypes") or ["m5.large"])[0]
        size = group_properties.get("ScalingConfig", {}).get("DesiredSize", 2)
        yield LineItem(
            f"EKS node group ({instance_type})",
            f"{size} x {table.hours:g} h",
            size * table.hours * table.lookup("ec2_instance_hour", instance_type),
            ("AWS::EKS::Nodegroup",),
        )


# -- network ---------------------------------------------------------------------------------


def load_balancers(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """ALBs created in the templates (CDK-owned) and by the controller for Ingresses.

    Each ALB bills its hour, the assumed LCUs and, when internet-facing, one public IPv4
    address per subnet it spans.
    """
    owned = list(_template_alb_addresses(inventory))
    ingress = list(_ingress_alb_addresses(inventory))
    balancers = owned + ingress
    if not balancers:
        return
    lcu = table.assumption["alb_average_lcu"]
    notes = []
    if ingress:
        notes.append(
            "ingress ALBs are created by the load balancer controller, counted from the "
            "Ingress manifests"
        )
    if 0 in balancers:
        notes.append("internal ALBs hold no public IPv4 addresses")
    yield LineItem(
        "Application Load Balancer",
        f"{len(balancers)} ALB x {table.hours:g} h, {lcu} LCU, {sum(balancers)} public IPv4",
        sum(
            table.hours
            * (
                table.price["alb_hour"]
                + lcu * table.price["alb_lcu_hour"]
                + public_addresses * table.price["public_ipv4_hour"]
            )
            for public_addresses in balancers
        ),
        (LOAD_BALANCER_TYPE,),
        "; ".join(notes),
    )


def _template_alb_addresses(inventory: Inventory) -> Iterator[int]:
    """Public IPv4 addresses of each load balancer in the templates (0 when internal)."""
    for balancer in inventory.of(LOAD_BALANCER_TYPE):
        balancer_properties = properties(balancer)
        balancer_type = balancer_properties.get("Type", "application")
        if balancer_type != "application":
            raise UnpricedError(
                f"{LOAD_BALANCER_TYPE} of Type {balancer_type!r} has no price rule; "
                "add one to mlops_cdk/cost/pricing.py"
            )
        if balancer_properties.get("Scheme", "internet-facing") == "internal":
            yield 0
            continue
        subnets = balancer_properties.get("Subnets") or balancer_properties.get("SubnetMappings")
        yield len(subnets) if isinstance(subnets, list) else inventory.availability_zones()


def _ingress_alb_addresses(inventory: Inventory) -> Iterator[int]:
    """Public IPv4 addresses of each controller-created ALB: one per Ingress or IngressGroup.

    An Ingress counts as internet-facing unless it says ``scheme: internal``: the estimate
    errs high rather than low.
    """
    groups: set[str] = set()
    for ingress in inventory.kubernetes_kind("Ingress"):
        annotations = ingress.get("metadata", {}).get("annotations", {})
        group = annotations.get(INGRESS_GROUP_ANNOTATION)
        if group in groups:
            continue
        if group:
            groups.add(group)
        internal = annotations.get(INGRESS_SCHEME_ANNOTATION) == "internal"
        yield 0 if internal else inventory.availability_zones()


def nat_gateways(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """NAT gateway hours and the data they process."""
    gateways = inventory.count("AWS::EC2::NatGateway")
    data_gb = table.assumption["nat_data_processed_gb_per_month"]
    if gateways:
        yield LineItem(
            "NAT gateways",
            f"{gateways} x {table.hours:g} h + {data_gb} GB processed",
            _priced(table, nat_gateway_hour=gateways * table.hours, nat_gateway_gb=data_gb),
            ("AWS::EC2::NatGateway",),
        )


def _priced(table: PriceTable, **quantities: float) -> float:
    """The sum of each quantity times its price, named by its key in ``prices.json``."""
    return sum(quantity * table.price[price] for price, quantity in quantities.items())


ELASTIC_IPS = PerUnit(
    ("AWS::EC2::EIP",),
    "Elastic IPs (public IPv4)",
    "{count} x {hours:g} h",
    lambda table: table.hours * table.price["public_ipv4_hour"],
)


def vpc_endpoints(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Interface endpoints per endpoint-AZ hour and GB; gateway endpoints are free."""
    endpoints = inventory.of("AWS::EC2::VPCEndpoint")
    interface = [
        endpoint
        for endpoint in endpoints
        if properties(endpoint).get("VpcEndpointType") == "Interface"
    ]
    if interface:
        az_hours = sum(
            len(properties(endpoint).get("SubnetIds", [])) or 1 for endpoint in interface
        )
        data_gb = table.assumption["interface_endpoint_data_gb_per_month"]
        yield LineItem(
            "Interface VPC endpoints",
            f"{len(interface)} endpoints, {az_hours} endpoint-AZs x {table.hours:g} h",
            _priced(
                table,
                interface_endpoint_az_hour=az_hours * table.hours,
                interface_endpoint_gb=data_gb,
            ),
            ("AWS::EC2::VPCEndpoint",),
            "gateway endpoints (S3) are free",
        )
    elif endpoints:
        yield LineItem(
            "Gateway VPC endpoints", f"{len(endpoints)}", 0.0, ("AWS::EC2::VPCEndpoint",), "free"
        )


# -- SageMaker -------------------------------------------------------------------------------


def sagemaker_endpoints(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Each production variant: serverless per use, real-time per instance hour."""
    for config in inventory.of("AWS::SageMaker::EndpointConfig"):
        for variant in properties(config).get("ProductionVariants", []):
            serverless = variant.get("ServerlessConfig")
            if serverless:
                yield _serverless_variant(serverless, table)
            else:
                yield _real_time_variant(variant, table)


def _serverless_variant(serverless: Mapping[str, Any], table: PriceTable) -> LineItem:
    requests = table.assumption["requests_per_month"]
    duration_ms = table.assumption["serverless_inference_duration_ms"]
    memory_gb = serverless["MemorySizeInMB"] / 1024
    seconds = requests * duration_ms / 1000
    data_gb = requests * table.assumption["request_payload_kb"] / 1024 / 1024
    return LineItem(
        "SageMaker serverless inference",
        f"{requests:,} requests x {duration_ms} ms x {memory_gb:g} GB",
        _priced(
            table,
            sagemaker_serverless_gb_second=seconds * memory_gb,
            sagemaker_data_processed_gb=data_gb,
        ),
        ("AWS::SageMaker::EndpointConfig",),
        "billed per use; no idle cost",
    )


def _real_time_variant(variant: Mapping[str, Any], table: PriceTable) -> LineItem:
    instance_type = variant.get("InstanceType", "?")
    count = variant.get("InitialInstanceCount", 1)
    return LineItem(
        f"SageMaker real-time {instance_type}",
        f"{count} x {table.hours:g} h",
        count * table.hours * table.lookup("sagemaker_instance_hour", instance_type),
        ("AWS::SageMaker::EndpointConfig",),
        "at the initial/minimum instance count; autoscaling adds to it",
    )


def mlflow_tracking_servers(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Managed MLflow tracking servers, billed per hour by size while they exist."""
    for server in inventory.of("AWS::SageMaker::MlflowTrackingServer"):
        size = properties(server).get("TrackingServerSize", "Small")
        yield LineItem(
            f"SageMaker MLflow tracking server ({size})",
            f"1 x {table.hours:g} h",
            table.hours * table.lookup("sagemaker_mlflow_hour", size),
            ("AWS::SageMaker::MlflowTrackingServer",),
            "billed while it exists",
        )


MLFLOW_APPS = PerUnit.monthly(
    "AWS::SageMaker::MlflowApp",
    "SageMaker MLflow App (serverless)",
    "sagemaker_mlflow_app_month",
    "{count} app",
    "no charge of its own (AWS launch post); artifacts are priced under S3 (prices.json notes)",
)


# -- APIs, compute and storage: priced per unit of an assumed usage --------------------------


def _requests(table: PriceTable, million_price: str) -> float:
    """The assumed monthly requests at a price per million."""
    return table.assumption["requests_per_month"] / 1e6 * table.price[million_price]


HTTP_APIS = PerUnit(
    ("AWS::ApiGatewayV2::Api",),
    "API Gateway HTTP API",
    "{count} API, {requests_per_month:,} requests",
    lambda table: _requests(table, "http_api_million_requests"),
)
REST_APIS = PerUnit(
    ("AWS::ApiGateway::RestApi",),
    "API Gateway REST API",
    "{count} API, {requests_per_month:,} requests",
    lambda table: _requests(table, "rest_api_million_requests"),
)


def lambda_functions(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Requests and GB-seconds per function at the assumed invocations."""
    functions = inventory.of("AWS::Lambda::Function")
    if not functions:
        return
    invocations = table.assumption["lambda_invocations_per_function_per_month"]
    seconds = invocations * table.assumption["lambda_average_duration_ms"] / 1000
    cost = 0.0
    for function in functions:
        function_properties = properties(function)
        architecture = (function_properties.get("Architectures") or ["x86_64"])[0]
        memory_gb = function_properties.get("MemorySize", 128) / 1024
        cost += invocations / 1e6 * table.price["lambda_million_requests"]
        cost += seconds * memory_gb * table.price[f"lambda_gb_second_{architecture}"]
    yield LineItem(
        "Lambda",
        f"{len(functions)} functions x {invocations:,} invocations",
        cost,
        ("AWS::Lambda::Function",),
        "custom-resource handlers run only at deploy; counted anyway",
    )


S3_BUCKETS = PerUnit(
    ("AWS::S3::Bucket",),
    "S3",
    "{count} buckets x {s3_gb_per_bucket} GB + {s3_requests_per_bucket_per_month:,} requests",
    lambda table: (
        table.assumption["s3_gb_per_bucket"] * table.price["s3_standard_gb_month"]
        + table.assumption["s3_requests_per_bucket_per_month"]
        / 1000
        * table.price["s3_thousand_requests"]
    ),
)
ECR_REPOSITORIES = PerUnit(
    ("AWS::ECR::Repository",),
    "ECR",
    "{count} repositories x {ecr_gb_per_repository} GB",
    lambda table: table.assumption["ecr_gb_per_repository"] * table.price["ecr_gb_month"],
)
SQS_QUEUES = PerUnit(
    ("AWS::SQS::Queue",),
    "SQS",
    "{count} queues x {sqs_requests_per_queue_per_month:,} requests",
    lambda table: (
        table.assumption["sqs_requests_per_queue_per_month"]
        / 1e6
        * table.price["sqs_million_requests"]
    ),
)
KMS_KEYS = PerUnit(
    ("AWS::KMS::Key",),
    "KMS keys",
    "{count} keys + {kms_requests_per_key_per_month:,} requests each",
    lambda table: (
        table.price["kms_key_month"]
        + table.assumption["kms_requests_per_key_per_month"] / 1e4 * table.price["kms_10k_requests"]
    ),
)
SECRETS = PerUnit.monthly(
    "AWS::SecretsManager::Secret", "Secrets Manager", "secret_month", "{count} secrets"
)


# -- monitoring ------------------------------------------------------------------------------


def log_groups(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Log ingestion per log group, plus VPC flow logs (vended) when there is a flow log."""
    groups = inventory.count("AWS::Logs::LogGroup")
    if groups:
        gb_each = table.assumption["logs_ingested_gb_per_log_group_per_month"]
        flow_gb = (
            table.assumption["flow_logs_gb_per_month"]
            if inventory.count("AWS::EC2::FlowLog")
            else 0
        )
        yield LineItem(
            "CloudWatch Logs",
            f"{groups} log groups x {gb_each} GB + {flow_gb} GB flow logs ingested",
            _priced(table, logs_ingested_gb=groups * gb_each, vended_logs_ingested_gb=flow_gb),
            ("AWS::Logs::LogGroup",),
            "storage after ingestion is cents at these volumes",
        )


def alarms(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Alarms per metric they read (Metrics Insights queries count, metric math does not)."""
    alarm_resources = inventory.of("AWS::CloudWatch::Alarm")
    if alarm_resources:
        metrics = sum(_alarm_metrics(alarm) for alarm in alarm_resources)
        yield LineItem(
            "CloudWatch alarms",
            f"{len(alarm_resources)} alarms, {metrics} metrics",
            metrics * table.price["cloudwatch_alarm_metric_month"],
            ("AWS::CloudWatch::Alarm",),
        )


def _alarm_metrics(alarm: Resource) -> int:
    """Metrics an alarm is billed for: each metric or Metrics Insights query it reads."""
    metrics = properties(alarm).get("Metrics")
    if not metrics:
        return 1
    counted = sum(
        1
        for metric in metrics
        if "MetricStat" in metric or "SELECT" in json.dumps(metric.get("Expression", ""))
    )
    return max(counted, 1)


DASHBOARDS = PerUnit.monthly(
    "AWS::CloudWatch::Dashboard", "CloudWatch dashboards", "cloudwatch_dashboard_month", "{count}"
)


def custom_metrics(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Custom metrics: one per metric-filter transformation, and what Powertools functions emit."""
    from_filters = sum(
        len(as_list(properties(metric_filter).get("MetricTransformations")))
        for metric_filter in inventory.of("AWS::Logs::MetricFilter")
    )
    powertools_functions = sum(
        1
        for function in inventory.of("AWS::Lambda::Function")
        if "POWERTOOLS_METRICS_NAMESPACE"
        in properties(function).get("Environment", {}).get("Variables", {})
    )
    per_function = table.assumption["powertools_metrics_per_function"]
    metrics = from_filters + powertools_functions * per_function
    if metrics:
        yield LineItem(
            "CloudWatch custom metrics",
            f"{from_filters} from metric filters + {powertools_functions} Powertools "
            f"functions x {per_function} metrics",
            metrics * table.price["cloudwatch_custom_metric_month"],
            ("AWS::Logs::MetricFilter", "AWS::Lambda::Function"),
            "billed per metric-month; Container Insights metrics are a line of their own",
        )


def firehose_streams(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """Data Firehose ingestion per GB, each record rounded up to a multiple of 5 KB."""
    billed_kb = math.ceil(table.assumption["firehose_record_kb"] / 5) * 5
    records = table.assumption["firehose_records_per_stream_per_month"]
    yield from PerUnit(
        ("AWS::KinesisFirehose::DeliveryStream",),
        "Data Firehose",
        f"{{count}} streams x {records:,} records x {billed_kb} KB billed",
        lambda _: records * billed_kb / 1024 / 1024 * table.price["firehose_ingested_gb"],
        "Direct PUT ingestion; format conversion, dynamic partitioning and VPC delivery "
        "are not priced",
    )(inventory, table)


def schedules(inventory: Inventory, table: PriceTable) -> Iterator[LineItem]:
    """EventBridge Scheduler invocations beyond the monthly free tier."""
    schedule_resources = inventory.of("AWS::Scheduler::Schedule")
    if not schedule_resources:
        return
    invocations = sum(
        schedule_invocations(properties(schedule).get("ScheduleExpression"), table.hours)
        for schedule in schedule_resources
    )
    free = table.price["scheduler_free_invocations_month"]
    yield LineItem(
        "EventBridge Scheduler",
        f"{len(schedule_resources)} schedules, {invocations:,.0f} invocations "
        f"({free:,} a month free)",
        max(0.0, invocations - free) / 1e6 * table.price["scheduler_million_invocations"],
        ("AWS::Scheduler::Schedule",),
        "the free tier is per account; other schedules in it share it",
    )


def schedule_invocations(expression: Any, hours: float) -> float:
    """Invocations a month of ``rate(...)``, ``cron(...)`` or ``at(...)``.

    Unreadable expressions (tokens) count as once a minute, the most cron allows.
    """
    minutes = hours * 60
    text = expression if isinstance(expression, str) else ""
    if text.startswith("at("):
        return 1.0
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", text)
    if rate:
        return minutes / (int(rate[1]) * {"minute": 1, "hour": 60, "day": 1440}[rate[2]])
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: \S+)?\)", text)
    if not cron:
        return minutes
    minute, hour, day_of_month, month, day_of_week = cron.groups()
    days = hours / 24
    if day_of_month not in ("*", "?"):
        days = _cron_values(day_of_month, 31) * 12 / 365 * days
    elif day_of_week not in ("*", "?"):
        days = _cron_values(day_of_week, 7) / 7 * days
    share_of_year = _cron_values(month, 12) / 12
    return _cron_values(minute, 60) * _cron_values(hour, 24) * days * share_of_year


def _cron_values(field: str, size: int) -> int:
    """How many values a cron field matches, erring high.

    A single name, ``L``, ``W`` or ``#`` entry counts once; a range of names counts as the whole
    field.
    """
    count = 0
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?"):
            width = size
        elif re.fullmatch(r"\d+-\d+", span):
            low, high = (int(bound) for bound in span.split("-"))
            width = high - low + 1
        elif "-" in span:
            width = size
        else:
            width = 1 if not step else size
        count += math.ceil(width / int(step)) if step.isdigit() else width
    return min(count, size)


RULES: tuple[Rule, ...] = (
    EKS_CONTROL_PLANE,
    fargate_pods,
    container_insights,
    node_groups,
    load_balancers,
    nat_gateways,
    ELASTIC_IPS,
    vpc_endpoints,
    sagemaker_endpoints,
    mlflow_tracking_servers,
    MLFLOW_APPS,
    HTTP_APIS,
    REST_APIS,
    lambda_functions,
    S3_BUCKETS,
    ECR_REPOSITORIES,
    SQS_QUEUES,
    KMS_KEYS,
    SECRETS,
    log_groups,
    alarms,
    DASHBOARDS,
    custom_metrics,
    firehose_streams,
    schedules,
)
"""Every rule, in the order of the estimate's lines."""

PRICED: frozenset[str] = frozenset(
    {
        *EKS_CLUSTER_TYPES,
        "AWS::EKS::Nodegroup",
        LOAD_BALANCER_TYPE,
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::VPCEndpoint",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::MlflowTrackingServer",
        "AWS::SageMaker::MlflowApp",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGateway::RestApi",
        "AWS::Lambda::Function",
        "AWS::S3::Bucket",
        "AWS::ECR::Repository",
        "AWS::SQS::Queue",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Logs::MetricFilter",
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::Scheduler::Schedule",
    }
)
"""Resource types a rule in ``RULES`` prices."""


def line_items(inventory: Inventory, table: PriceTable) -> list[LineItem]:
    """Every rule's lines, in ``RULES`` order, rounded to cents."""
    return [
        LineItem(
            line.item, line.quantity, round(line.monthly_usd, 2), line.resource_types, line.note
        )
        for rule in RULES
        for line in rule(inventory, table)
    ]
