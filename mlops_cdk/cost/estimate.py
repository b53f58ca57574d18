"""Monthly cost estimate of a synthesized environment, read from its CloudFormation templates.

Every resource type the templates contain is either priced by a rule below (``PRICED``) or
listed as free or negligible (``FREE``) with the reason; anything else is reported as
unpriced, so a new resource type cannot slip into the platform without a price. Prices and
traffic assumptions live in ``prices.json`` next to this module.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_cdk.fargate import pod_size, round_to_fargate

PRICES_FILE = Path(__file__).with_name("prices.json")

Resource = dict[str, Any]


@dataclass(frozen=True)
class LineItem:
    """One line of the estimate."""

    item: str
    quantity: str
    monthly_usd: float
    resource_types: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Estimate:
    """The estimate of one environment and serving path."""

    env: str
    serving: str
    region: str
    prices_as_of: str
    line_items: list[LineItem]
    assumptions: dict[str, Any]
    unpriced_resource_types: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_monthly_usd(self) -> float:
        """Sum of the line items, rounded to cents."""
        return round(sum(i.monthly_usd for i in self.line_items), 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``total_monthly_usd``, ``line_items`` and what they rest on."""
        return {
            "env": self.env,
            "serving": self.serving,
            "region": self.region,
            "prices_as_of": self.prices_as_of,
            "total_monthly_usd": self.total_monthly_usd,
            "line_items": [asdict(i) for i in self.line_items],
            "assumptions": self.assumptions,
            "unpriced_resource_types": self.unpriced_resource_types,
            "warnings": self.warnings,
        }


FREE: Mapping[str, str] = {
    "AWS::IAM::Role": "IAM is free",
    "AWS::IAM::Policy": "IAM is free",
    "AWS::IAM::ManagedPolicy": "IAM is free",
    "AWS::IAM::OIDCProvider": "IAM is free",
    "AWS::IAM::InstanceProfile": "IAM is free",
    "AWS::EC2::VPC": "no charge for the VPC itself",
    "AWS::EC2::Subnet": "no charge",
    "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::Route": "no charge",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::InternetGateway": "no charge (data transfer out is not estimated)",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::SecurityGroup": "no charge",
    "AWS::EC2::SecurityGroupIngress": "no charge",
    "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::EC2::LaunchTemplate": "no charge",
    "AWS::EC2::FlowLog": "priced through its log group (vended logs)",
    "AWS::KMS::Alias": "no charge",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::SNS::Topic": "first million publishes free; alarm volume is far below",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::SNS::Subscription": "email deliveries: first 1,000 a month free",
    "AWS::Budgets::Budget": "budgets without actions are free",
    "AWS::Lambda::Permission": "no charge",
    "AWS::Lambda::EventSourceMapping": "no charge (SQS requests priced under SQS)",
    "AWS::Lambda::LayerVersion": "layer storage counts toward the free 75 GB",
    "AWS::Lambda::Url": "no charge beyond the function",
    "AWS::Lambda::EventInvokeConfig": "no charge",
    "AWS::DynamoDB::Table": "on demand; the idempotency table takes a few writes per retraining "
    "batch: well under $0.01 a month",
    "AWS::SSM::Parameter": "standard parameters are free",
    "AWS::SQS::QueuePolicy": "no charge",
    "AWS::Events::Rule": "events from AWS services to rules are free",
    "AWS::Scheduler::Schedule": "first 14 million invocations a month free",
    "AWS::Scheduler::ScheduleGroup": "no charge",
    "AWS::SecretsManager::RotationSchedule": "no charge beyond the secret",
    "AWS::SecretsManager::ResourcePolicy": "no charge",
    "AWS::ApiGatewayV2::Stage": "priced through the API's requests",
    "AWS::ApiGatewayV2::Route": "priced through the API's requests",
    "AWS::ApiGatewayV2::Integration": "priced through the API's requests",
    "AWS::ApiGatewayV2::Authorizer": "priced through the API's requests",
    "AWS::ApiGatewayV2::ApiMapping": "no charge",
    "AWS::ApiGatewayV2::VpcLink": "no charge for HTTP API VPC links",
    "AWS::ApiGatewayV2::DomainName": "no charge (the ACM certificate is free)",
    "AWS::ApiGateway::Account": "no charge",
    "AWS::ApiGateway::UsagePlan": "no charge",
    "AWS::ApiGateway::ApiKey": "no charge",
    "AWS::ApiGateway::UsagePlanKey": "no charge",
    "AWS::ApplicationAutoScaling::ScalableTarget": "no charge",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "no charge (its alarms are AWS-managed)",
    "AWS::SageMaker::Model": "no charge; the endpoint config carries the cost",
    "AWS::SageMaker::Endpoint": "priced through its endpoint config",
    "AWS::SageMaker::Pipeline": "pipelines bill only the jobs they run",
    "AWS::EKS::FargateProfile": "priced through the pods it runs",
    "AWS::EKS::AccessEntry": "no charge",
    "AWS::EKS::Addon": "add-ons run as pods, priced as EKS system pods",
    "AWS::EKS::PodIdentityAssociation": "no charge",
    "AWS::ElasticLoadBalancingV2::Listener": "priced through the load balancer",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "priced through the load balancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "priced through the load balancer",
    "AWS::WAFv2::WebACLAssociation": "priced with the web ACL (optional, not created)",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::CloudFormation::Stack": "nested stacks: their resources are priced",
    "AWS::CloudFormation::WaitConditionHandle": "no charge",
}
"""Resource types that cost nothing, or nothing that moves the estimate, and why."""

CUSTOM_RESOURCE_NOTE = "deploy-time custom resource; its handler Lambda is priced under Lambda"


class Pricer:
    """Turns the templates of one cloud assembly into line items."""

    def __init__(self, resources: list[Resource], prices: Mapping[str, Any]) -> None:
        self.resources = resources
        self.p: Mapping[str, Any] = prices["prices"]
        self.a: Mapping[str, Any] = prices["assumptions"]
        self.hours: float = prices["hours_per_month"]
        self.by_type: dict[str, list[Resource]] = {}
        for r in resources:
            self.by_type.setdefault(r["Type"], []).append(r)
        self.manifests = list(_manifests(resources))

    def of(self, *types: str) -> list[Resource]:
        """Resources of any of ``types``."""
        return [r for t in types for r in self.by_type.get(t, [])]

    def availability_zones(self) -> int:
        """AZs the VPC spans, from the subnets (2 if unknown)."""
        azs = {
            json.dumps(r.get("Properties", {}).get("AvailabilityZone"))
            for r in self.of("AWS::EC2::Subnet")
        }
        return len(azs) or 2

    # -- the rules ---------------------------------------------------------------------------

    def eks(self) -> Iterator[LineItem]:
        clusters = self.of("AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster")
        if not clusters:
            return
        n = len(clusters)
        yield LineItem(
            "EKS control plane",
            f"{n} cluster x {self.hours:g} h",
            n * self.hours * self.p["eks_cluster_hour"],
            ("AWS::EKS::Cluster",),
        )
        pods = [*self._model_pods(), *self._system_pods()]
        vcpu = sum(count * cpu for _, count, cpu, _ in pods)
        gb = sum(count * mem for _, count, _, mem in pods)
        described = ", ".join(f"{name} x{count} ({cpu:g} vCPU/{mem:g} GB)"
                              for name, count, cpu, mem in pods)  # fmt: skip
        yield LineItem(
            "EKS Fargate pods",
            f"{vcpu:g} vCPU + {gb:g} GB x {self.hours:g} h: {described}",
            self.hours * (vcpu * self.p["fargate_vcpu_hour"] + gb * self.p["fargate_gb_hour"]),
            ("AWS::EKS::FargateProfile",),
            "Fargate bills each pod's requests plus 0.25 GB, rounded up to a Fargate size; "
            "model pods at their minimum replicas",
        )
        collectors = sum(1 for m in self.manifests if _runs_image(m, "aws-otel-collector"))
        if collectors:
            metrics = self.a["container_insights_metrics_per_cluster"] * collectors
            yield LineItem(
                "Container Insights metrics",
                f"{metrics} metrics",
                metrics * self.p["cloudwatch_custom_metric_month"],
                ("AWS::EKS::Cluster",),
                "pod, namespace and model-server metrics the ADOT collector publishes (its "
                "log events are priced with the log groups, its pod with the Fargate pods)",
            )
        for group in self.of("AWS::EKS::Nodegroup"):
            props = group.get("Properties", {})
            types = props.get("InstanceTypes") or ["m5.large"]
            size = props.get("ScalingConfig", {}).get("DesiredSize", 2)
            price = self._lookup("ec2_instance_hour", types[0])
            yield LineItem(
                f"EKS node group ({types[0]})",
                f"{size} x {self.hours:g} h",
                size * self.hours * price,
                ("AWS::EKS::Nodegroup",),
            )

    def _model_pods(self) -> Iterator[tuple[str, int, float, float]]:
        hpa_min = {
            m.get("spec", {}).get("scaleTargetRef", {}).get("name"): m["spec"].get("minReplicas", 1)
            for m in self.manifests
            if m.get("kind") == "HorizontalPodAutoscaler"
        }
        for m in self.manifests:
            kind, name = m.get("kind"), m.get("metadata", {}).get("name", "?")
            if kind == "Deployment":
                spec = m.get("spec", {})
                replicas = hpa_min.get(name, spec.get("replicas", 1))
                containers = spec.get("template", {}).get("spec", {}).get("containers", [])
            elif kind == "InferenceService":
                predictor = m.get("spec", {}).get("predictor", {})
                replicas = predictor.get("minReplicas", 1)
                containers = [
                    c for k in ("model", "containers") for c in _as_list(predictor.get(k))
                ]
            else:
                continue
            cpu, mem = pod_size(containers, self.p["fargate_pod_overhead_gb"])
            yield f"{kind} {name}", int(replicas), cpu, mem

    def _system_pods(self) -> Iterator[tuple[str, int, float, float]]:
        for pod in self.a["eks_system_pods"]:
            cpu, mem = round_to_fargate(pod["vcpu"], pod["memory_gb"] + 0.25)
            yield pod["name"], pod["count"], cpu, mem

    def load_balancers(self) -> Iterator[LineItem]:
        explicit = self.of("AWS::ElasticLoadBalancingV2::LoadBalancer")
        ingresses = sum(1 for m in self.manifests if m.get("kind") == "Ingress")
        n = len(explicit) + ingresses
        if not n:
            return
        # Internal load balancers have no public IPv4 addresses.
        public = ingresses + sum(
            1 for r in explicit if r.get("Properties", {}).get("Scheme") != "internal"
        )
        azs = self.availability_zones()
        cost = self.hours * (
            n * (self.p["alb_hour"] + self.a["alb_average_lcu"] * self.p["alb_lcu_hour"])
            + public * azs * self.p["public_ipv4_hour"]
        )
        yield LineItem(
            "Application Load Balancer",
            f"{n} ALB x {self.hours:g} h, {self.a['alb_average_lcu']} LCU, "
            f"{public * azs} public IPv4",
            cost,
            ("AWS::ElasticLoadBalancingV2::LoadBalancer",),
            "ingress ALBs are created by the load balancer controller, counted from the "
            "Ingress manifests"
            if ingresses
            else "",
        )

    def network(self) -> Iterator[LineItem]:
        nats = len(self.of("AWS::EC2::NatGateway"))
        if nats:
            data = self.a["nat_data_processed_gb_per_month"]
            yield LineItem(
                "NAT gateways",
                f"{nats} x {self.hours:g} h + {data} GB processed",
                nats * self.hours * self.p["nat_gateway_hour"] + data * self.p["nat_gateway_gb"],
                ("AWS::EC2::NatGateway",),
            )
        eips = len(self.of("AWS::EC2::EIP"))
        if eips:
            yield LineItem(
                "Elastic IPs (public IPv4)",
                f"{eips} x {self.hours:g} h",
                eips * self.hours * self.p["public_ipv4_hour"],
                ("AWS::EC2::EIP",),
            )
        endpoints = self.of("AWS::EC2::VPCEndpoint")
        interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
        if interface:
            az_hours = sum(len(e["Properties"].get("SubnetIds", [])) or 1 for e in interface)
            data = self.a["interface_endpoint_data_gb_per_month"]
            yield LineItem(
                "Interface VPC endpoints",
                f"{len(interface)} endpoints, {az_hours} endpoint-AZs x {self.hours:g} h",
                az_hours * self.hours * self.p["interface_endpoint_az_hour"]
                + data * self.p["interface_endpoint_gb"],
                ("AWS::EC2::VPCEndpoint",),
                "gateway endpoints (S3) are free",
            )
        elif endpoints:
            yield LineItem("Gateway VPC endpoints", f"{len(endpoints)}", 0.0,
                           ("AWS::EC2::VPCEndpoint",), "free")  # fmt: skip

    def sagemaker(self) -> Iterator[LineItem]:
        requests = self.a["requests_per_month"]
        for config in self.of("AWS::SageMaker::EndpointConfig"):
            for variant in config["Properties"].get("ProductionVariants", []):
                serverless = variant.get("ServerlessConfig")
                if serverless:
                    gb = serverless["MemorySizeInMB"] / 1024
                    seconds = requests * self.a["serverless_inference_duration_ms"] / 1000
                    data_gb = requests * self.a["request_payload_kb"] / 1024 / 1024
                    yield LineItem(
                        "SageMaker serverless inference",
                        f"{requests:,} requests x {self.a['serverless_inference_duration_ms']}"
                        f" ms x {gb:g} GB",
                        seconds * gb * self.p["sagemaker_serverless_gb_second"]
                        + data_gb * self.p["sagemaker_data_processed_gb"],
                        ("AWS::SageMaker::EndpointConfig",),
                        "billed per use; no idle cost",
                    )
                    continue
                itype = variant.get("InstanceType", "?")
                count = variant.get("InitialInstanceCount", 1)
                yield LineItem(
                    f"SageMaker real-time {itype}",
                    f"{count} x {self.hours:g} h",
                    count * self.hours * self._lookup("sagemaker_instance_hour", itype),
                    ("AWS::SageMaker::EndpointConfig",),
                    "at the initial/minimum instance count; autoscaling adds to it",
                )
        for server in self.of("AWS::SageMaker::MlflowTrackingServer"):
            size = server["Properties"].get("TrackingServerSize", "Small")
            yield LineItem(
                f"SageMaker MLflow tracking server ({size})",
                f"1 x {self.hours:g} h",
                self.hours * self._lookup("sagemaker_mlflow_hour", size),
                ("AWS::SageMaker::MlflowTrackingServer",),
                "billed while it exists",
            )

    def apis(self) -> Iterator[LineItem]:
        requests = self.a["requests_per_month"]
        http = self.of("AWS::ApiGatewayV2::Api")
        if http:
            yield LineItem(
                "API Gateway HTTP API",
                f"{len(http)} API, {requests:,} requests",
                len(http) * requests / 1e6 * self.p["http_api_million_requests"],
                ("AWS::ApiGatewayV2::Api",),
            )
        rest = self.of("AWS::ApiGateway::RestApi")
        if rest:
            yield LineItem(
                "API Gateway REST API",
                f"{len(rest)} API, {requests:,} requests",
                len(rest) * requests / 1e6 * self.p["rest_api_million_requests"],
                ("AWS::ApiGateway::RestApi",),
            )

    def compute_and_storage(self) -> Iterator[LineItem]:
        functions = self.of("AWS::Lambda::Function")
        if functions:
            invocations = self.a["lambda_invocations_per_function_per_month"]
            seconds = invocations * self.a["lambda_average_duration_ms"] / 1000
            cost = 0.0
            for fn in functions:
                props = fn.get("Properties", {})
                arch = (props.get("Architectures") or ["x86_64"])[0]
                gb = props.get("MemorySize", 128) / 1024
                cost += invocations / 1e6 * self.p["lambda_million_requests"]
                cost += seconds * gb * self.p[f"lambda_gb_second_{arch}"]
            yield LineItem(
                "Lambda",
                f"{len(functions)} functions x {invocations:,} invocations",
                cost,
                ("AWS::Lambda::Function",),
                "custom-resource handlers run only at deploy; counted anyway",
            )
        buckets = self.of("AWS::S3::Bucket")
        if buckets:
            gb = self.a["s3_gb_per_bucket"]
            req = self.a["s3_requests_per_bucket_per_month"]
            yield LineItem(
                "S3",
                f"{len(buckets)} buckets x {gb} GB + {req:,} requests",
                len(buckets) * (gb * self.p["s3_standard_gb_month"]
                                + req / 1000 * self.p["s3_thousand_requests"]),
                ("AWS::S3::Bucket",),
            )  # fmt: skip
        repos = self.of("AWS::ECR::Repository")
        if repos:
            gb = self.a["ecr_gb_per_repository"]
            yield LineItem(
                "ECR",
                f"{len(repos)} repositories x {gb} GB",
                len(repos) * gb * self.p["ecr_gb_month"],
                ("AWS::ECR::Repository",),
            )
        queues = self.of("AWS::SQS::Queue")
        if queues:
            req = self.a["sqs_requests_per_queue_per_month"]
            yield LineItem("SQS", f"{len(queues)} queues x {req:,} requests",
                           len(queues) * req / 1e6 * self.p["sqs_million_requests"],
                           ("AWS::SQS::Queue",))  # fmt: skip

    def security(self) -> Iterator[LineItem]:
        keys = self.of("AWS::KMS::Key")
        if keys:
            req = self.a["kms_requests_per_key_per_month"]
            yield LineItem(
                "KMS keys",
                f"{len(keys)} keys + {req:,} requests each",
                len(keys) * (self.p["kms_key_month"] + req / 1e4 * self.p["kms_10k_requests"]),
                ("AWS::KMS::Key",),
            )
        secrets = self.of("AWS::SecretsManager::Secret")
        if secrets:
            yield LineItem("Secrets Manager", f"{len(secrets)} secrets",
                           len(secrets) * self.p["secret_month"],
                           ("AWS::SecretsManager::Secret",))  # fmt: skip

    def monitoring(self) -> Iterator[LineItem]:
        groups = self.of("AWS::Logs::LogGroup")
        if groups:
            gb = self.a["logs_ingested_gb_per_log_group_per_month"]
            flow = self.a["flow_logs_gb_per_month"] if self.of("AWS::EC2::FlowLog") else 0
            yield LineItem(
                "CloudWatch Logs",
                f"{len(groups)} log groups x {gb} GB + {flow} GB flow logs ingested",
                len(groups) * gb * self.p["logs_ingested_gb"]
                + flow * self.p["vended_logs_ingested_gb"],
                ("AWS::Logs::LogGroup",),
                "storage after ingestion is cents at these volumes",
            )
        alarms = self.of("AWS::CloudWatch::Alarm")
        if alarms:
            metrics = sum(_alarm_metrics(a) for a in alarms)
            yield LineItem(
                "CloudWatch alarms",
                f"{len(alarms)} alarms, {metrics} metrics",
                metrics * self.p["cloudwatch_alarm_metric_month"],
                ("AWS::CloudWatch::Alarm",),
            )
        dashboards = self.of("AWS::CloudWatch::Dashboard")
        if dashboards:
            yield LineItem("CloudWatch dashboards", f"{len(dashboards)}",
                           len(dashboards) * self.p["cloudwatch_dashboard_month"],
                           ("AWS::CloudWatch::Dashboard",))  # fmt: skip

    RULES: tuple[Callable[[Pricer], Iterator[LineItem]], ...] = (
        eks, load_balancers, network, sagemaker, apis, compute_and_storage, security, monitoring,
    )  # fmt: skip

    def line_items(self) -> list[LineItem]:
        """Every line, rounded to cents."""
        return [
            LineItem(i.item, i.quantity, round(i.monthly_usd, 2), i.resource_types, i.note)
            for rule in self.RULES
            for i in rule(self)
        ]

    def _lookup(self, table: str, key: str) -> float:
        try:
            return float(self.p[table][key])
        except KeyError:
            raise UnpricedError(
                f"{table} has no price for {key!r}; add it to prices.json"
            ) from None


PRICED: frozenset[str] = frozenset({
    "AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster", "AWS::EKS::Nodegroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::EC2::NatGateway", "AWS::EC2::EIP",
    "AWS::EC2::VPCEndpoint", "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::MlflowTrackingServer", "AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi",
    "AWS::Lambda::Function", "AWS::S3::Bucket", "AWS::ECR::Repository", "AWS::SQS::Queue",
    "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard",
})  # fmt: skip
"""Resource types a rule of :class:`Pricer` prices."""


SERVING_RESOURCES: Mapping[str, tuple[str, ...]] = {
    "eks": ("AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster"),
    "sagemaker": ("AWS::SageMaker::EndpointConfig",),
}
"""What each serving path must contribute to the templates for its cost to be estimated."""


class UnpricedError(KeyError):
    """A size or instance type the price table does not list."""


def classify(resource_type: str) -> str:
    """``priced``, ``free`` (with a reason in ``FREE``), ``custom`` or ``unpriced``."""
    if resource_type in PRICED:
        return "priced"
    if resource_type in FREE:
        return "free"
    if resource_type.startswith("Custom::"):
        return "custom"
    return "unpriced"


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    """The price table, with its date, region, assumptions and reference design."""
    return json.loads(path.read_text())


def read_assembly(outdir: Path) -> tuple[dict[str, str], list[Resource]]:
    """Stack tags and every resource of every stack in a cloud assembly directory."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    tags: dict[str, str] = {}
    resources: list[Resource] = []
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        tags = props.get("tags", tags)
        template = json.loads((outdir / props["templateFile"]).read_text())
        resources.extend(template.get("Resources", {}).values())
    return tags, resources


def estimate(
    resources: list[Resource],
    prices: Mapping[str, Any] | None = None,
    *,
    env: str = "?",
    serving: str = "?",
) -> Estimate:
    """Price ``resources`` (CloudFormation resource dicts) with ``prices``."""
    prices = prices or load_prices()
    types = Counter(r["Type"] for r in resources)
    warnings = [
        f"serving = {serving}, but the templates hold no {', '.join(wanted)}: the serving "
        "stack is not part of this app, so the serving path is not in the total"
        for path, wanted in SERVING_RESOURCES.items()
        if serving == path and not any(types[t] for t in wanted)
    ]
    return Estimate(
        env=env,
        serving=serving,
        region=prices["region"],
        prices_as_of=prices["as_of"],
        line_items=Pricer(resources, prices).line_items(),
        assumptions=dict(prices["assumptions"]),
        unpriced_resource_types=sorted(t for t in types if classify(t) == "unpriced"),
        warnings=warnings,
    )


def estimate_assembly(outdir: Path, prices: Mapping[str, Any] | None = None) -> Estimate:
    """Estimate the environment synthesized into ``outdir``."""
    tags, resources = read_assembly(outdir)
    return estimate(
        resources,
        prices,
        env=tags.get("mlops-cdk:env", "?"),
        serving=tags.get("mlops-cdk:serving", "?"),
    )


def reference_design(prices: Mapping[str, Any] | None = None) -> tuple[str, float]:
    """The comparison design's description and monthly cost from the same price table."""
    prices = prices or load_prices()
    design = prices["reference_design"]
    total = 0.0
    for item in design["items"]:
        price: Any = prices["prices"]
        table, _, key = item["price"].partition(".")
        price = price[table][key] if key else price[table]
        total += item["count"] * item["hours"] * price
    return design["description"], round(total, 2)


def render_text(e: Estimate) -> str:
    """A readable table with the total, assumptions and price date."""
    width = max(len(i.item) for i in e.line_items) if e.line_items else 10
    lines = [
        f"Monthly estimate for env={e.env} serving={e.serving} "
        f"({e.region} on-demand prices as of {e.prices_as_of})",
        "",
        f"{'item':<{width}}  {'USD/month':>10}  quantity",
    ]
    for i in e.line_items:
        lines.append(f"{i.item:<{width}}  {i.monthly_usd:>10.2f}  {i.quantity}")
    lines += [f"{'total':<{width}}  {e.total_monthly_usd:>10.2f}", ""]
    description, reference = reference_design()
    lines.append(f"Reference: {description}: {reference:.2f} USD/month")
    a = e.assumptions
    lines.append(
        f"Assumptions: {a['requests_per_month']:,} requests/month, 730 h/month, "
        f"{a['nat_data_processed_gb_per_month']} GB through NAT; see mlops_cdk/cost/prices.json"
    )
    lines += [f"WARNING: {w}" for w in e.warnings]
    if e.unpriced_resource_types:
        lines.append("UNPRICED resource types: " + ", ".join(e.unpriced_resource_types))
    return "\n".join(lines)


# -- template helpers ----------------------------------------------------------------------


def _manifests(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    """Kubernetes objects inside ``Custom::AWSCDK-EKS-KubernetesResource`` manifests."""
    for r in resources:
        if r["Type"] != "Custom::AWSCDK-EKS-KubernetesResource":
            continue
        text = _flatten(r.get("Properties", {}).get("Manifest"))
        try:
            objects = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            continue
        yield from (o for o in _as_list(objects) if isinstance(o, dict))


def _runs_image(manifest: Mapping[str, Any], image: str) -> bool:
    """Whether a Deployment runs a container whose image name contains ``image``."""
    if manifest.get("kind") != "Deployment":
        return False
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return any(image in str(c.get("image", "")) for c in pod.get("containers", []))


def _flatten(value: Any) -> str:
    """A template string with intrinsics (``Fn::Join``, ``Ref``...) replaced by placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_flatten(p) for p in parts)
    return "TOKEN"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _alarm_metrics(alarm: Resource) -> int:
    """Metrics an alarm is billed for: each metric or Metrics Insights query it reads."""
    metrics = alarm.get("Properties", {}).get("Metrics")
    if not metrics:
        return 1
    counted = sum(
        1 for m in metrics if "MetricStat" in m or "SELECT" in json.dumps(m.get("Expression", ""))
    )
    return max(counted, 1)


__all__ = [
    "FREE",
    "PRICED",
    "Estimate",
    "LineItem",
    "classify",
    "estimate",
    "estimate_assembly",
    "load_prices",
    "reference_design",
    "render_text",
]
