"""EksFargateCluster: an EKS cluster whose every pod runs on Fargate."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, DependencyGroup, IDependable

from mlops_cdk.constructs import addons
from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._kms import build_encryption_key
from mlops_cdk.constructs._logs import build_log_group
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs._props import merge_props
from mlops_cdk.constructs.addons.helm_addon import HELM_TIMEOUT
from mlops_cdk.constructs.fargate_container_insights import FargateContainerInsights
from mlops_cdk.versions import ALB_CONTROLLER_VERSION, KUBERNETES_VERSIONS, METRICS_SERVER_ADDON

SYSTEM_NAMESPACE = "kube-system"
CONTROL_PLANE_LOGS = (
    eks.ClusterLoggingTypes.API,
    eks.ClusterLoggingTypes.AUDIT,
    eks.ClusterLoggingTypes.AUTHENTICATOR,
)
ALL_CONTROL_PLANE_LOGS = (
    *CONTROL_PLANE_LOGS,
    eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    eks.ClusterLoggingTypes.SCHEDULER,
)
"""Every control-plane log type: what the kit's nag rule requires of a ``prod`` cluster; pass
``cluster_props={"cluster_logging": list(ALL_CONTROL_PLANE_LOGS)}``."""
ENDPOINT_ACCESS = ("private", "public_and_private")
UNRESTRICTED_CIDRS = ("0.0.0.0/0", "::/0")


def _endpoint(endpoint_access: str, public_access_cidrs: Sequence[str]) -> eks.EndpointAccess:
    """The ``EndpointAccess`` for the settings, or a ``ValueError`` naming the fix."""
    if endpoint_access not in ENDPOINT_ACCESS:
        raise ValueError(
            f"endpoint_access = {endpoint_access!r}; use one of {', '.join(ENDPOINT_ACCESS)}"
        )
    if endpoint_access == "private":
        if public_access_cidrs:
            raise ValueError(
                "public_access_cidrs is set but endpoint_access = 'private' has no public "
                "endpoint; drop the CIDRs or use endpoint_access = 'public_and_private'"
            )
        return eks.EndpointAccess.PRIVATE
    open_cidrs = [cidr for cidr in public_access_cidrs if cidr in UNRESTRICTED_CIDRS]
    if not public_access_cidrs or open_cidrs:
        raise ValueError(
            f"public_access_cidrs = {list(public_access_cidrs)!r}: a public API endpoint must be "
            "restricted to your networks (e.g. ['203.0.113.0/24']), never the whole internet; "
            "or use endpoint_access = 'private'"
        )
    return eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*public_access_cidrs)


class EksFargateCluster(Construct):
    """EKS (``aws_eks_v2``) with no nodes: Fargate profiles, CoreDNS, metrics-server, ALB.

    Access is through EKS access entries only (authentication mode ``API``, no aws-auth
    ConfigMap, and the CloudFormation deployer gets no implicit admin). Kubernetes secrets are
    envelope-encrypted with a rotating KMS key; the api, audit and authenticator control-plane
    logs go to a log group this construct owns, so its retention is set. The kubectl/helm
    handler uses the kubectl layer that ``versions.py`` pairs with ``kubernetes_version``.
    metrics-server (the EKS community add-on, in ``kube-system``) serves the Metrics API, without
    which no HorizontalPodAutoscaler acts.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        vpc: VPC with private subnets with egress (Fargate pods and the kubectl handler run
            there) and public subnets (the internet-facing ALB).
        cluster_name: Physical cluster name; fixed so the log group can be created up front.
        kubernetes_version: A key of ``versions.KUBERNETES_VERSIONS``. Default ``1.36``.
        endpoint_access: ``private`` (default: the API server is reachable only from the VPC)
            or ``public_and_private`` (also from ``public_access_cidrs``). Either way the
            kubectl handler runs in the VPC's private subnets with egress, in the cluster
            security group, and reaches the private endpoint.
        public_access_cidrs: With ``public_and_private``, the CIDRs allowed to reach the public
            endpoint (required, and never ``0.0.0.0/0``).
        admin_principal_arns: IAM roles/users given ``AmazonEKSClusterAdminPolicy`` through
            access entries. Default none: only the kubectl handler can reach the cluster, and
            synthesis warns how to add one.
        log_retention: Control-plane log retention. Default one month.
        removal_policy: For the secrets key and the log group. Default ``RETAIN``.
        existing_secrets_key: Reuse a KMS key for secrets encryption.
        metrics_server: Install the ``metrics-server`` add-on. Default ``True``: autoscaling
            needs it; turn it off only if the cluster gets a Metrics API another way.
        metrics_server_version: Add-on build to pin, e.g. ``v0.8.0-eksbuild.1``. Default
            ``None``: EKS installs the default build for ``kubernetes_version``.
        cluster_props: ``eks.Cluster`` keyword arguments merged over the defaults; ``vpc``,
            ``version``, ``kubectl_provider_options``, ``default_capacity``,
            ``default_capacity_type`` and ``core_dns_compute_type`` stay as set here.

    Attributes:
        cluster: The ``eks.Cluster``.
        cluster_name: Its name.
        pod_execution_role: Role every Fargate profile uses to pull images and ship logs.
        fargate_profiles: Profiles by name; ``fargate_namespaces`` lists what they select.
        secrets_key: Key encrypting Kubernetes secrets.
        log_group: Control-plane log group ``/aws/eks/<name>/cluster``.
        metrics_server: The ``metrics-server`` add-on, or ``None`` when turned off.
        alb_controller: The AWS Load Balancer Controller; see :attr:`services_ready`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster_name: str,
        kubernetes_version: str = "1.36",
        endpoint_access: str = "private",
        public_access_cidrs: Sequence[str] = (),
        admin_principal_arns: Sequence[str] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_secrets_key: kms.IKey | None = None,
        metrics_server: bool = True,
        metrics_server_version: str | None = None,
        cluster_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if kubernetes_version not in KUBERNETES_VERSIONS:
            raise ValueError(
                f"kubernetes_version = {kubernetes_version!r} cannot be created on EKS or has "
                f"no kubectl layer; use one of {', '.join(KUBERNETES_VERSIONS)}"
            )
        endpoint = _endpoint(endpoint_access, public_access_cidrs)
        layer = KUBERNETES_VERSIONS[kubernetes_version]
        self._vpc = vpc
        self.secrets_key: kms.IKey = existing_secrets_key or build_encryption_key(
            self,
            "SecretsKey",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cluster_name}",
            removal_policy=removal_policy,
        )
        self.log_group = build_log_group(
            self,
            "ControlPlaneLogs",
            retention=log_retention,
            removal_policy=removal_policy,
            log_group_name=f"/aws/eks/{cluster_name}/cluster",
        )
        defaults: dict[str, Any] = {
            "cluster_name": cluster_name,
            "endpoint_access": endpoint,
            "secrets_encryption_key": self.secrets_key,
            "cluster_logging": list(CONTROL_PLANE_LOGS),
            "bootstrap_cluster_creator_admin_permissions": False,
            "alb_controller": eks.AlbControllerOptions(version=ALB_CONTROLLER_VERSION),
        }
        required: dict[str, Any] = {
            "vpc": vpc,
            "version": layer.kubernetes_version,
            # Explicit, so the handler reaches the private endpoint and the chart repositories
            # (aws_eks_v2 would also take isolated subnets, from which Helm cannot pull).
            "kubectl_provider_options": eks.KubectlProviderOptions(
                kubectl_layer=layer.layer(self, "KubectlLayer"),
                private_subnets=vpc.select_subnets(
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ).subnets,
            ),
            # No node groups, no Auto Mode: capacity is Fargate profiles only.
            "default_capacity": 0,
            "default_capacity_type": eks.DefaultCapacityType.NODEGROUP,
            "core_dns_compute_type": eks.CoreDnsComputeType.FARGATE,
        }
        self.cluster = eks.Cluster(
            self, "Cluster", **merge_props(self, defaults, cluster_props, required)
        )
        self.cluster.node.add_dependency(self.log_group)
        self.cluster_name = self.cluster.cluster_name

        self.pod_execution_role = self._pod_execution_role()
        self.fargate_profiles: dict[str, eks.FargateProfile] = {}
        self._namespaces: dict[str, tuple[str, ...]] = {}
        self.metrics_server: eks.Addon | None = None
        self._schedule_system(metrics_server, metrics_server_version)
        self._addons: dict[str, Any] = {}
        self._grant_admins(admin_principal_arns)
        self._acknowledge_cdk_handlers()

    def _pod_execution_role(self) -> iam.Role:
        """The role Fargate uses to pull images and register this cluster's pods."""
        role = iam.Role(
            self,
            "PodExecutionRole",
            assumed_by=iam.ServicePrincipal("eks-fargate-pods.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "AmazonEKSFargatePodExecutionRolePolicy"
                )
            ],
            description="Fargate pulls images and registers pods of this cluster",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonEKSFargatePodExecutionRolePolicy]",
            "The AWS-maintained policy Fargate requires for pod execution (ECR pulls); it "
            "tracks the service's needs better than a copy would.",
        )
        return role

    def _schedule_system(self, metrics_server: bool, metrics_server_version: str | None) -> None:
        """The kube-system profile, then CoreDNS, the ALB controller and metrics-server."""
        system = self.add_fargate_namespaces("system", [SYSTEM_NAMESPACE])
        # CoreDNS and the ALB controller can only be scheduled once kube-system has a profile.
        self.alb_controller.node.add_dependency(system)
        # aws-cdk-lib gives its chart the handler's own 15 minutes: a stuck release would end in
        # a Lambda timeout (and a stuck stack) instead of Helm's error.
        alb_chart = self.alb_controller.node.find_child("Resource").node.default_child
        alb_chart.node.default_child.add_property_override(  # type: ignore[union-attr]
            "Timeout", f"{int(HELM_TIMEOUT.to_seconds())}s"
        )
        core_dns_patch = self.cluster.node.try_find_child("CoreDnsComputeTypePatch")
        if core_dns_patch is not None:
            core_dns_patch.node.add_dependency(system)
        if metrics_server:
            # The add-on build listens on 10251 (Fargate reserves the kubelet's 10250), so it
            # runs on Fargate unchanged; its pods need the kube-system profile to schedule.
            self.metrics_server = eks.Addon(
                self,
                "MetricsServer",
                cluster=self.cluster,
                addon_name=METRICS_SERVER_ADDON,
                addon_version=metrics_server_version,
                preserve_on_delete=False,
            )
            self.metrics_server.node.add_dependency(system)

    def _grant_admins(self, admin_principal_arns: Sequence[str]) -> None:
        """One access entry with ``AmazonEKSClusterAdminPolicy`` per principal, or a warning."""
        if not admin_principal_arns:
            Annotations.of(self).add_warning_v2(
                "mlops-cdk:eks-no-admin-principal",
                "No admin principal: only the kubectl handler can reach this cluster, so "
                "kubectl and `aws eks update-kubeconfig` will be denied. Add one with "
                "`-c admin_principal_arns=arn:aws:iam::<account>:role/<name>` or "
                "eks.admin_principal_arns in the config.",
            )
        for index, arn in enumerate(admin_principal_arns):
            self.cluster.grant_access(
                f"Admin{index}",
                arn,
                [
                    eks.AccessPolicy.from_access_policy_name(
                        "AmazonEKSClusterAdminPolicy",
                        access_scope_type=eks.AccessScopeType.CLUSTER,
                    )
                ],
            )

    @property
    def alb_controller(self) -> eks.AlbController:
        """The AWS Load Balancer Controller (always installed by this construct)."""
        controller = self.cluster.alb_controller
        assert controller is not None  # alb_controller is a default the props cannot remove
        return controller

    @property
    def services_ready(self) -> IDependable:
        """Depend on this before applying any Service or Ingress.

        The controller's Service-mutating webhook has ``failurePolicy: Fail`` and registers
        before its pods are ready, so a Service applied earlier is rejected.
        """
        return DependencyGroup(self.alb_controller)

    def add_cert_manager(self) -> addons.CertManagerAddOn:
        """Install cert-manager (once; asking again returns the same add-on)."""
        if "cert-manager" not in self._addons:
            profile = self.add_fargate_namespaces("cert-manager", [addons.cert_manager.NAMESPACE])
            self._addons["cert-manager"] = addons.CertManagerAddOn(
                self,
                "CertManager",
                cluster=self.cluster,
                depends_on=[profile, self.services_ready],
            )
        return self._addons["cert-manager"]

    def add_kserve(self) -> addons.KServeAddOn:
        """Install cert-manager, then KServe (once); depend on the result to apply models.

        Returns:
            The :class:`~mlops_cdk.constructs.addons.KServeAddOn`; its controller chart is
            installed with ``wait=True``, so depending on it waits for the KServe webhook.
        """
        if "kserve" not in self._addons:
            cert_manager = self.add_cert_manager()
            profile = self.add_fargate_namespaces("kserve", [addons.kserve.NAMESPACE])
            self._addons["kserve"] = addons.KServeAddOn(
                self,
                "KServe",
                cluster=self.cluster,
                depends_on=[cert_manager, profile, self.services_ready],
            )
        return self._addons["kserve"]

    def add_container_insights(self, **options: Any) -> FargateContainerInsights:
        """Install the ADOT collector (once) with :class:`FargateContainerInsights` options.

        Raises:
            ValueError: Asked again with different options.
        """
        existing = self._addons.get("container-insights")
        if existing is not None:
            if existing[1] != options:
                raise ValueError(
                    "add_container_insights was already called with other options "
                    f"({existing[1]}); call it once with every option"
                )
            return existing[0]
        insights = FargateContainerInsights(self, "ContainerInsights", cluster=self, **options)
        self._addons["container-insights"] = (insights, options)
        return insights

    @property
    def fargate_namespaces(self) -> list[str]:
        """Every namespace a Fargate profile selects (pods elsewhere would stay Pending)."""
        return [name for names in self._namespaces.values() for name in names]

    def add_fargate_namespaces(self, name: str, namespaces: Sequence[str]) -> eks.FargateProfile:
        """Run every pod of ``namespaces`` (at most five) on Fargate, in private subnets."""
        profile = eks.FargateProfile(
            self,
            f"Profile-{name}",
            cluster=self.cluster,
            fargate_profile_name=name,
            selectors=[eks.Selector(namespace=name) for name in namespaces],
            pod_execution_role=self.pod_execution_role,
            vpc=self._vpc,
            subnet_selection=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self.fargate_profiles[name] = profile
        self._namespaces[name] = tuple(namespaces)
        return profile

    def _acknowledge_cdk_handlers(self) -> None:
        """Acknowledge findings on what ``aws_eks_v2`` creates and exposes no props to shape."""
        acknowledge(
            self.cluster.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy]",
            "The EKS service role must carry the AWS-maintained AmazonEKSClusterPolicy.",
        )
        provider = self.cluster.kubectl_provider
        assert provider is not None  # created above through kubectl_provider_options
        handler = provider.node.find_child("Handler")
        handler_role = handler.node.find_child("ServiceRole")
        on_event_role = (
            provider.node.find_child("Provider")
            .node.find_child("framework-onEvent")
            .node.find_child("ServiceRole")
        )
        lambda_policies = {
            "service-role/AWSLambdaBasicExecutionRole": "write its own logs",
            "service-role/AWSLambdaVPCAccessExecutionRole": "attach to the private subnets",
        }
        for role in (handler_role, on_event_role):
            for policy, why in lambda_policies.items():
                acknowledge(
                    role,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                    f"CDK's kubectl provider Lambda uses this AWS-managed policy to {why}; "
                    "it grants nothing else.",
                )
        acknowledge(
            handler_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonEC2ContainerRegistryReadOnly]",
            "The kubectl handler pulls Helm charts stored as OCI artifacts; read-only ECR.",
        )
        acknowledge(
            handler_role,
            "AwsSolutions-IAM4[Policy::"
            + json.dumps(
                Stack.of(self).resolve(handler_role.node.default_child.managed_policy_arns)[-1],  # type: ignore[union-attr]
                separators=(",", ":"),
            )
            + "]",
            "Read-only ECR Public for OCI Helm charts, attached by CDK only in partitions that "
            "have ECR Public.",
        )
        acknowledge(
            handler.node.default_child,  # type: ignore[arg-type]
            "AwsSolutions-L1",
            "The kubectl handler's runtime is chosen by aws-cdk-lib to match its bundled "
            "kubectl/helm layer; it moves with aws-cdk-lib upgrades, not with this kit.",
        )
        handler_id = Stack.of(self).get_logical_id(handler.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            on_event_role,
            f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
            "The custom-resource framework may invoke any version of its own kubectl handler; "
            "the wildcard is the version qualifier of that one function.",
        )
        self._acknowledge_alb_controller()

    def _acknowledge_alb_controller(self) -> None:
        controller = self.cluster.alb_controller
        if controller is None:
            return
        role = controller.node.find_child("alb-sa").node.find_child("Role")
        reason = (
            "The AWS Load Balancer Controller's upstream IAM policy (shipped by aws-cdk-lib for "
            "this controller version) for load balancers, target groups, listeners and security "
            "groups whose names it cannot know in advance. Creating load balancers and target "
            "groups, and modifying or deleting them and security groups, is conditioned on the "
            "elbv2.k8s.aws/cluster tag; creating security groups, changing ingress, listeners, "
            "listener rules and certificates, registering targets and associating WAF/Shield "
            "are not (the upstream policy grants them on * or on name patterns)."
        )
        for resource in (
            "*",
            "arn:<AWS::Partition>:ec2:*:*:security-group/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/app/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/net/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:targetgroup/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/app/*/*/*",
            "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/net/*/*/*",
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        skip_checkov(role.node.find_child("DefaultPolicy"), "CKV_AWS_111", reason)
