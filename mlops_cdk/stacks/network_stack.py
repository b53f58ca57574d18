"""NetworkStack: the platform VPC."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.network import PlatformVpc
from mlops_cdk.stacks._common import removal_policy, retention


class NetworkStack(Stack):
    """Holds :class:`PlatformVpc`; ``vpc`` is passed to the serving and retraining stacks."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network = settings.network
        self.platform_vpc = PlatformVpc(
            self,
            "Network",
            availability_zones=settings.availability_zones[: network.max_azs],
            cidr=network.cidr,
            nat_gateways=network.nat_gateways,
            interface_endpoints=network.interface_endpoints,
            flow_logs_retention=retention(network.flow_logs_retention_days),
            removal_policy=removal_policy(settings),
        )
        self.vpc: ec2.IVpc = self.platform_vpc.vpc
