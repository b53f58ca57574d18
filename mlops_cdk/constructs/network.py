"""PlatformVpc: the VPC every serving path and Lambda runs in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlops_cdk.constructs._kms import build_logs_encryption_key
from mlops_cdk.constructs._logs import build_log_group
from mlops_cdk.constructs._props import ConstructValidator, merge_props

INTERFACE_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
}
"""Interface endpoints created when ``interface_endpoints=True``: what pulls images, reads
secrets, writes logs and calls the endpoint from private subnets."""


class PlatformVpc(Construct):
    """A VPC over pinned availability zones with flow logs and private endpoints.

    Subnets: ``public`` (ALB, NAT), ``private`` (with egress: EKS Fargate pods, SageMaker,
    Lambdas) and ``isolated`` (databases). An S3 gateway endpoint is always created (free);
    interface endpoints are optional because each costs about $7/month per AZ.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        availability_zones: AZ names, pinned so synth never looks them up.
        cidr: VPC IPv4 CIDR. Default ``10.0.0.0/16``.
        nat_gateways: NAT gateways. Default 1 (cheap); use one per AZ in production so an AZ
            outage does not cut egress for the others.
        interface_endpoints: Create :data:`INTERFACE_ENDPOINTS`. Default ``False``.
        flow_logs_retention: Retention of the encrypted flow-log group. Default one month.
        removal_policy: For the flow-log group and its key. Default ``RETAIN``.
        existing_vpc: Use this VPC instead of creating one (no flow logs or endpoints are
            added to it: the owner of that VPC manages them).
        vpc_props: ``ec2.Vpc`` keyword arguments merged over the defaults; ``availability_zones``
            and ``subnet_configuration`` stay as given here.

    Attributes:
        vpc: The VPC.
        flow_log_group: Flow-log group, or ``None`` for an existing VPC.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str] = (),
        cidr: str = "10.0.0.0/16",
        nat_gateways: int = 1,
        interface_endpoints: bool = False,
        flow_logs_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_vpc: ec2.IVpc | None = None,
        vpc_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._validate(availability_zones, nat_gateways, existing_vpc, vpc_props)
        self.flow_log_group: logs.LogGroup | None = None
        if existing_vpc is not None:
            self.vpc: ec2.IVpc = existing_vpc
            return
        self.flow_log_group = build_log_group(
            self,
            "FlowLogs",
            retention=flow_logs_retention,
            removal_policy=removal_policy,
            encryption_key=build_logs_encryption_key(
                self,
                "FlowLogsKey",
                description="Encrypts the VPC flow-log group",
                removal_policy=removal_policy,
            ),
        )
        defaults: dict[str, Any] = {
            "ip_addresses": ec2.IpAddresses.cidr(cidr),
            "nat_gateways": nat_gateways,
            "restrict_default_security_group": True,
            "gateway_endpoints": {
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            "flow_logs": {
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        }
        required: dict[str, Any] = {
            "availability_zones": list(availability_zones),
            "subnet_configuration": [
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        }
        vpc = ec2.Vpc(
            self,
            "Vpc",
            **merge_props(
                self,
                defaults,
                vpc_props,
                required,
                security_keys=("restrict_default_security_group", "flow_logs"),
            ),
        )
        self.vpc = vpc
        if interface_endpoints:
            self._add_interface_endpoints(vpc, cidr)

    def _add_interface_endpoints(self, vpc: ec2.Vpc, cidr: str) -> None:
        """Add :data:`INTERFACE_ENDPOINTS` to the private subnets, HTTPS-reachable from ``cidr``."""
        endpoints_sg = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=vpc,
            description="HTTPS from inside the VPC to its interface endpoints",
            allow_all_outbound=False,
        )
        endpoints_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from VPC")
        for name, service in INTERFACE_ENDPOINTS.items():
            vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[endpoints_sg],
                subnets=self.private_subnets,
            )

    def _validate(
        self,
        availability_zones: Sequence[str],
        nat_gateways: int,
        existing_vpc: ec2.IVpc | None,
        vpc_props: Mapping[str, Any] | None,
    ) -> None:
        """The zones and NAT gateways of a VPC to create; an existing one is its owner's."""
        check = ConstructValidator(self)
        check.check_existing_or_props("existing_vpc", existing_vpc, "vpc_props", vpc_props)
        if existing_vpc is None:
            check.check(
                "availability_zones",
                tuple(availability_zones),
                bool(availability_zones),
                "is empty",
                "pin the zones (synth never looks them up), or pass existing_vpc",
            )
            check.check(
                "nat_gateways",
                nat_gateways,
                0 <= nat_gateways <= max(len(availability_zones), 1),
                f"exceeds the {len(availability_zones)} availability zones",
                f"use 0-{len(availability_zones)} (one per zone at most)",
            )
        check.raise_if_any()

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        """Selection of the private subnets with egress (where workloads run)."""
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
