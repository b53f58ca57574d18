"""EksModelServing: a model on an EksFargateCluster behind a CDK-owned ALB and the HTTP API."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from mlops_cdk.canary import canary_problems, canary_weights
from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._image import image_uri
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.constructs.model_api import LoadBalancerBackend, ModelApi
from mlops_cdk.front_door import FrontDoor, front_door_problem
from mlops_cdk.k8s import manifests as k8s

SERVICE_ACCOUNT_NAME = "model-server"
TLS_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS
"""``ELBSecurityPolicy-TLS13-1-2-2021-06``: TLS 1.3 and 1.2 only."""
NOT_FOUND_BODY = '{"error": "not found"}'


def default_load_balancer_name(env_name: str) -> str:
    """Deterministic ALB name, e.g. ``mlops-prod-model`` (ALB names allow 32 characters)."""
    name = f"mlops-{env_name}-model"
    if len(name) > 32:
        raise ValueError(f"load balancer name {name!r} is longer than 32 characters")
    return name


class EksModelServing(Construct):
    """Serves a model on Fargate at ``POST /v1/models/<model_name>:predict`` behind one door.

    Creates the serving namespace (and its Fargate profile), the workload for ``engine``, and in
    CDK an ALB, its listener and an ``ip`` target group whose health check is the model's
    readiness path. A ``TargetGroupBinding`` lets the AWS Load Balancer Controller register the
    pods of the model's Service (KServe's ``<model>-predictor`` Service with ``kserve``) in that
    target group; only the ALB's security group may reach the pods' port. The listener
    forwards ``/v1/models/<model_name>*`` and answers everything else with a JSON 404, so
    ``/metrics`` and health stay in the cluster.

    With ``front_door="api"`` (default) the ALB is internal, in the private subnets, reachable
    only from a VPC link of a :class:`ModelApi` (IAM or JWT auth, throttling, access logs,
    optional custom domain): the same front door as the SageMaker path. ``"public_alb"`` puts
    the ALB in the public subnets instead, HTTPS only (HTTP redirects), with an optional WAF web
    ACL and ``inbound_cidrs``; it needs ``certificate_arn`` and ``domain_name`` (and, with
    ``production``, a WAF or restricted CIDRs), see :func:`front_door_problem`.

    The pods run under a service account with no IAM role: the model is baked into the image
    and the server calls no AWS API; Fargate pulls the image with its pod execution role.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The :class:`EksFargateCluster` to deploy into.
        env_name: Environment name, used in the ALB name and labels.
        repository: ECR repository of the model-server image.
        image_tag: Image tag to run. Default ``latest``.
        image_digest: ``sha256:...`` of that image; when given the pods run it by digest (the
            tag is then a label). Default none.
        model_name: Model name in the URL and the Kubernetes object names.
            Default ``fraud-detection``.
        engine: ``deployment`` (default: Deployment, Service, HPA, PDB) or ``kserve``
            (cert-manager + KServe charts and an ``InferenceService``).
        namespace: Serving namespace. Default ``model-serving``.
        min_replicas: Autoscaling minimum. Default 1.
        max_replicas: Autoscaling maximum. Default 3.
        cpu: CPU request/limit, a Fargate size. Default ``500m``.
        memory: Memory request/limit. Default ``1Gi``.
        max_request_bytes: Largest body the model server accepts (413 above). Default 64 KiB.
        capture_percent: Share of requests the model server prints as capture lines
            (``CAPTURE_PERCENT``; route them with :class:`CaptureLogRouting`). Default 0: off.
        front_door: ``api`` (default) or ``public_alb``.
        api_props: Keyword arguments of :class:`ModelApi` (``auth``, ``jwt_issuer``,
            ``throttle_rate_limit``, ``domain_name``, ...); ``backend`` and ``model_name`` are
            set here. Ignored with ``public_alb``.
        certificate_arn: ``public_alb`` only: ACM certificate of the HTTPS listener.
        domain_name: ``public_alb`` only: the DNS name you point at the ALB; the URLs use it.
        waf_acl_arn: ``public_alb`` only: WAFv2 web ACL associated with the ALB.
        inbound_cidrs: ``public_alb`` only: CIDRs allowed to reach the ALB. Default everyone.
        production: Apply the production rule of ``public_alb`` (WAF or restricted CIDRs).
        access_logs_bucket: SSE-S3 bucket for the ALB's access logs (prefix
            ``alb/<load_balancer_name>``). Default none: with ``api`` the HTTP API's access
            log records every request; ``public_alb`` without it fails cdk-nag (ELB2).
        load_balancer_name: ALB name. Default ``mlops-<env_name>-model``.
        canary_image_tag: Image tag of a canary: a second workload (``<model_name>-canary``,
            same engine and sizes) bound to its own ``ip`` target group. Default none.
        canary_percent: With ``canary_image_tag``: share of requests (0-100) the listener
            forwards to the canary target group; the stable one gets the rest. Default none.

    Attributes:
        namespace: The serving namespace.
        model_name: The model served.
        load_balancer: The ALB; listener: the listener that forwards to the model
            (HTTPS with ``public_alb``); target_group: the pods' ``ip`` target group.
        canary_target_group: The canary pods' target group (``None`` without a canary).
        load_balancer_name: The ALB's name.
        api: The :class:`ModelApi` in front (``None`` with ``public_alb``).
        manifests: The rendered manifests applied to the cluster; canary_manifests: the
            canary's (empty without one).
        namespace_manifest: Applies the namespace and service account; depend on it to put
            more objects into the namespace.
        api_url: The base URL; predict_url: ``<api_url>/v1/models/<model_name>:predict``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: EksFargateCluster,
        env_name: str,
        repository: ecr.IRepository,
        image_tag: str = "latest",
        image_digest: str | None = None,
        model_name: str = "fraud-detection",
        engine: k8s.Engine = "deployment",
        namespace: str = "model-serving",
        min_replicas: int = 1,
        max_replicas: int = 3,
        cpu: str = "500m",
        memory: str = "1Gi",
        max_request_bytes: int = 64 * 1024,
        capture_percent: int = 0,
        front_door: FrontDoor = "api",
        api_props: Mapping[str, Any] | None = None,
        certificate_arn: str | None = None,
        domain_name: str | None = None,
        waf_acl_arn: str | None = None,
        inbound_cidrs: Sequence[str] = ("0.0.0.0/0",),
        production: bool = False,
        access_logs_bucket: s3.IBucket | None = None,
        load_balancer_name: str | None = None,
        canary_image_tag: str | None = None,
        canary_percent: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if engine not in ("deployment", "kserve"):
            raise ValueError(f"engine = {engine!r}; use 'deployment' or 'kserve'")
        canary = canary_problems(
            image_tag=image_tag,
            canary_image_tag=canary_image_tag,
            canary_percent=canary_percent,
            field_prefix="EksModelServing",
        )
        if canary:
            raise ValueError("; ".join(canary))
        problem = front_door_problem(
            front_door=front_door,
            certificate_arn=certificate_arn,
            domain_name=domain_name,
            waf_acl_arn=waf_acl_arn,
            inbound_cidrs=inbound_cidrs,
            production=production,
            field_prefix="EksModelServing",
        )
        if problem:
            raise ValueError(problem)
        self.namespace = namespace
        self.model_name = model_name
        self.load_balancer_name = load_balancer_name or default_load_balancer_name(env_name)
        eks_cluster = cluster.cluster
        self._create_load_balancer(
            eks_cluster,
            certificate_arn=certificate_arn if front_door == "public_alb" else None,
            canary_percent=canary_percent,
        )
        self._log_access(access_logs_bucket, front_door)
        self.api: ModelApi | None = None
        if front_door == "api":
            self.api = self._create_api(eks_cluster.vpc, api_props or {})
            self.api_url, self.predict_url = self.api.api_url, self.api.predict_url
        else:
            assert certificate_arn and domain_name  # front_door_problem checked
            self._make_public(waf_acl_arn, inbound_cidrs)
            self.api_url = f"https://{domain_name}"
            self.predict_url = f"{self.api_url}/v1/models/{model_name}:predict"

        spec = k8s.ModelServingSpec(
            env_name=env_name,
            namespace=namespace,
            image=image_uri(repository, image_tag, image_digest),
            service_account_name=SERVICE_ACCOUNT_NAME,
            target_group_arn=self.target_group.target_group_arn,
            model_name=model_name,
            max_body_bytes=max_request_bytes,
            capture_percent=capture_percent,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cpu=cpu,
            memory=memory,
        )
        self._apply_manifests(cluster, spec, engine)
        self.canary_manifests: list[k8s.Manifest] = []
        if canary_image_tag is not None:
            self._add_canary(cluster, spec, engine, image_uri(repository, canary_image_tag))

    def _log_access(self, access_logs_bucket: s3.IBucket | None, front_door: FrontDoor) -> None:
        """ALB access logs to ``access_logs_bucket``; without one, acknowledged behind the API."""
        if access_logs_bucket is not None:
            self.load_balancer.log_access_logs(access_logs_bucket, f"alb/{self.load_balancer_name}")
        elif front_door == "api":
            acknowledge(
                self.load_balancer,
                "AwsSolutions-ELB2",
                "Internal ALB reachable only through the HTTP API's VPC link; the API's access "
                "log records every request, and no access_logs_bucket was given.",
            )

    def _apply_manifests(
        self, cluster: EksFargateCluster, spec: k8s.ModelServingSpec, engine: k8s.Engine
    ) -> None:
        """The namespace and service account first, then the workload and its binding."""
        eks_cluster = cluster.cluster
        serving_profile = cluster.add_fargate_namespaces("serving", [spec.namespace])
        self.manifests = k8s.serving_manifests(spec, engine)
        foundation = eks.KubernetesManifest(
            self, "Namespace", cluster=eks_cluster, manifest=self.manifests[:2]
        )
        self.namespace_manifest = foundation
        foundation.node.add_dependency(serving_profile)
        workload = eks.KubernetesManifest(
            self, "Workload", cluster=eks_cluster, manifest=self.manifests[2:]
        )
        workload.node.add_dependency(foundation)
        self.workload_manifest = workload
        # The controller owns the TargetGroupBinding (its CRD and webhook must be up first) and
        # must outlive it on delete, so it deregisters the targets.
        if eks_cluster.alb_controller is not None:
            workload.node.add_dependency(eks_cluster.alb_controller)
        if engine == "kserve":
            # The KServe chart is installed with wait=True: its webhook answers by then.
            workload.node.add_dependency(cluster.add_kserve())

    def _add_canary(
        self,
        cluster: EksFargateCluster,
        stable: k8s.ModelServingSpec,
        engine: k8s.Engine,
        image: str,
    ) -> None:
        """The canary workload and its binding, applied after (so ordered like) the stable one."""
        assert self.canary_target_group is not None  # created with canary_percent
        spec = dataclasses.replace(
            stable,
            image=image,
            target_group_arn=self.canary_target_group.target_group_arn,
            track="canary",
        )
        self.canary_manifests = k8s.workload_manifests(spec, engine)
        canary = eks.KubernetesManifest(
            self, "CanaryWorkload", cluster=cluster.cluster, manifest=self.canary_manifests
        )
        canary.node.add_dependency(self.workload_manifest)

    def _target_group(self, construct_id: str, vpc: ec2.IVpc) -> elbv2.ApplicationTargetGroup:
        """An ``ip`` target group on the pods' port, healthy once the model is loaded."""
        return elbv2.ApplicationTargetGroup(
            self,
            construct_id,
            vpc=vpc,
            target_type=elbv2.TargetType.IP,
            protocol=elbv2.ApplicationProtocol.HTTP,
            port=k8s.CONTAINER_PORT,
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=k8s.ready_path(self.model_name),
                healthy_http_codes="200",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
            ),
        )

    def _model_action(self, canary_percent: int | None) -> elbv2.ListenerAction:
        """Forward to the pods; with a canary, weighted ``100 - p`` / ``p`` across both groups."""
        if self.canary_target_group is None or canary_percent is None:
            return elbv2.ListenerAction.forward([self.target_group])
        stable_weight, canary_weight = canary_weights(canary_percent)
        return elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.target_group, weight=stable_weight),
                elbv2.WeightedTargetGroup(
                    target_group=self.canary_target_group, weight=canary_weight
                ),
            ]
        )

    def _create_load_balancer(
        self, eks_cluster: eks.Cluster, *, certificate_arn: str | None, canary_percent: int | None
    ) -> None:
        """The ALB, a JSON 404 by default, the model's path to its pods' ``ip`` target group(s).

        Internal on HTTP port 80 without ``certificate_arn``; internet-facing on HTTPS with it.
        """
        vpc = eks_cluster.vpc
        public = certificate_arn is not None
        self.load_balancer_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description=f"ALB of model {self.model_name}: in from the front door, out to pods",
        )
        subnet_type = ec2.SubnetType.PUBLIC if public else ec2.SubnetType.PRIVATE_WITH_EGRESS
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=public,
            vpc_subnets=ec2.SubnetSelection(subnet_type=subnet_type),
            security_group=self.load_balancer_security_group,
            load_balancer_name=self.load_balancer_name,
            drop_invalid_header_fields=True,
        )
        self.target_group = self._target_group("TargetGroup", vpc)
        self.canary_target_group: elbv2.ApplicationTargetGroup | None = None
        if canary_percent is not None:
            self.canary_target_group = self._target_group("CanaryTargetGroup", vpc)
        # Fargate pods carry the cluster security group: only the ALB may reach their port.
        self.load_balancer.connections.allow_to(
            eks_cluster.cluster_security_group,
            ec2.Port.tcp(k8s.CONTAINER_PORT),
            f"ALB to the {self.model_name} pods",
        )
        self.listener = self.load_balancer.add_listener(
            "Listener",
            port=443 if public else 80,
            protocol=elbv2.ApplicationProtocol.HTTPS if public else elbv2.ApplicationProtocol.HTTP,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)] if public else None,
            ssl_policy=TLS_POLICY if public else None,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body=NOT_FOUND_BODY
            ),
        )
        if not public:
            for check_id in ("CKV_AWS_2", "CKV_AWS_103"):
                skip_checkov(
                    self.listener,
                    check_id,
                    "Internal ALB reached only through the HTTP API's VPC link (its security group "
                    "admits nothing else): clients' TLS 1.2+ ends at API Gateway, and this hop "
                    "stays inside the VPC. front_door=public_alb listens on HTTPS only.",
                )
        self.listener.add_action(
            "Model",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns([f"/v1/models/{self.model_name}*"])],
            action=self._model_action(canary_percent),
        )

    def _create_api(self, vpc: ec2.IVpc, api_props: Mapping[str, Any]) -> ModelApi:
        """The HTTP API, privately integrated through a VPC link with the internal listener."""
        link_security_group = ec2.SecurityGroup(
            self,
            "VpcLinkSecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description=f"API Gateway VPC link to the internal ALB of model {self.model_name}",
        )
        vpc_link = apigwv2.VpcLink(
            self,
            "VpcLink",
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[link_security_group],
        )
        self.load_balancer.connections.allow_from(
            link_security_group, ec2.Port.tcp(80), "The HTTP API's VPC link"
        )
        return ModelApi(
            self,
            "Api",
            **{
                **api_props,
                "backend": LoadBalancerBackend(listener=self.listener, vpc_link=vpc_link),
                "model_name": self.model_name,
            },
        )

    def _make_public(self, waf_acl_arn: str | None, inbound_cidrs: Sequence[str]) -> None:
        """``public_alb``: HTTP redirected to HTTPS, ``inbound_cidrs`` only, the WAF if given."""
        self.load_balancer.add_redirect(source_port=80, target_port=443, open=False)
        for cidr in inbound_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            for port in (80, 443):
                self.load_balancer.connections.allow_from(
                    peer, ec2.Port.tcp(port), "front_door=public_alb: eks.inbound_cidrs"
                )
        if waf_acl_arn:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.load_balancer.load_balancer_arn,
                web_acl_arn=waf_acl_arn,
            )
        if any(cidr in ("0.0.0.0/0", "::/0") for cidr in inbound_cidrs):
            acknowledge(
                self.load_balancer_security_group,
                "AwsSolutions-EC23",
                "front_door=public_alb with inbound_cidrs open to the internet was chosen by "
                "name; the listener is HTTPS only (TLS 1.2+), and in prod a WAF is required.",
            )
