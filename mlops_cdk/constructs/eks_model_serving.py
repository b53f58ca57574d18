"""EksModelServing: the fraud-detection model on an EksFargateCluster behind a public ALB."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.constructs._irsa import irsa_role
from mlops_cdk.constructs._nag import acknowledge, acknowledge_reference
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.k8s import manifests as k8s

SERVICE_ACCOUNT_NAME = "model-server"


def image_uri(repository: ecr.IRepository, tag: str) -> str:
    """``<account>.dkr.ecr.<region>.<suffix>/<name>:<tag>`` without splitting the ARN.

    ``repository.repository_uri_for_tag`` splits the repository ARN, which cfn-lint cannot
    type-check when the ARN arrives from another stack; account and region are known here.
    """
    return (
        f"{repository.env.account}.dkr.ecr.{repository.env.region}.{Aws.URL_SUFFIX}/"
        f"{repository.repository_name}:{tag}"
    )


class EksModelServing(Construct):
    """Serves the model on Fargate at ``POST /v1/models/fraud-detection:predict`` via an ALB.

    Creates the serving namespace (and its Fargate profile), a service account bound through
    IRSA to a role that can only read ``model_prefix`` in the artifacts bucket and pull from
    the repository, the workload for ``engine`` and an internet-facing ``alb`` Ingress. The
    model is baked into the image at ``/opt/ml/model`` (``MODEL_DIR``), so an image tag names
    one model version; the bucket grant lets a server or init container fetch
    ``model.tar.gz`` instead without a new role.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The :class:`EksFargateCluster` to deploy into.
        env_name: Environment name, used in the ALB name and tags.
        repository: ECR repository of the model-server image.
        image_tag: Image tag to run. Default ``latest``.
        artifacts_bucket: Bucket holding model artifacts.
        model_prefix: The only prefix the role may read. Default ``models/fraud-detection/``.
        engine: ``deployment`` (default: Deployment, Service, HPA, PDB) or ``kserve``
            (cert-manager + KServe charts and an ``InferenceService``).
        namespace: Serving namespace. Default ``model-serving``.
        min_replicas: Autoscaling minimum. Default 1.
        max_replicas: Autoscaling maximum. Default 3.
        cpu: CPU request/limit, a Fargate size. Default ``500m``.
        memory: Memory request/limit. Default ``1Gi``.
        certificate_arn: ACM certificate for HTTPS with HTTP redirect. Default none (HTTP).
        domain_name: DNS name you point at the ALB (and that ``certificate_arn`` covers); the
            URLs use it. Default none: they use the ALB's own hostname, which no ACM
            certificate can cover, so set it whenever ``certificate_arn`` is set.
        waf_acl_arn: WAFv2 web ACL for the ALB. Default none.
        inbound_cidrs: CIDRs allowed to reach the ALB. Default everyone.
        load_balancer_name: ALB name. Default ``mlops-<env_name>-model``.
        hostname_timeout: How long the deploy waits for the controller to create the ALB and
            write its hostname into the Ingress status. Default 10 minutes (it usually takes
            one or two; the kubectl handler's own limit is 15).

    Attributes:
        namespace: The serving namespace.
        service_account_role: Role of the model server's service account.
        load_balancer_name: Name of the ALB the Ingress creates (for metrics and alarms).
        manifests: The rendered manifests applied to the cluster.
        ingress_name: Name of the Ingress (for ``kubectl get ingress``).
        namespace_manifest: Applies the namespace and service account; depend on it to put
            more objects into the namespace.
        load_balancer_hostname: The ALB's DNS name, read from the Ingress status at deploy time.
        api_url: ``http(s)://<domain_name or ALB hostname>``.
        predict_url: ``<api_url>/v1/models/fraud-detection:predict``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: EksFargateCluster,
        env_name: str,
        repository: ecr.IRepository,
        artifacts_bucket: s3.IBucket,
        image_tag: str = "latest",
        model_prefix: str = "models/fraud-detection/",
        engine: k8s.Engine = "deployment",
        namespace: str = "model-serving",
        min_replicas: int = 1,
        max_replicas: int = 3,
        cpu: str = "500m",
        memory: str = "1Gi",
        certificate_arn: str | None = None,
        waf_acl_arn: str | None = None,
        domain_name: str | None = None,
        inbound_cidrs: Sequence[str] = ("0.0.0.0/0",),
        load_balancer_name: str | None = None,
        hostname_timeout: Duration = Duration.minutes(10),
    ) -> None:
        super().__init__(scope, construct_id)
        if engine not in ("deployment", "kserve"):
            raise ValueError(f"engine = {engine!r}; use 'deployment' or 'kserve'")
        self.namespace = namespace
        self.load_balancer_name = load_balancer_name or k8s.load_balancer_name(env_name)
        self.ingress_name = k8s.MODEL_NAME
        eks_cluster = cluster.cluster

        serving_profile = cluster.add_fargate_namespaces("serving", [namespace])
        self.service_account_role = irsa_role(
            self,
            "ServiceAccountRole",
            cluster=eks_cluster,
            namespace=namespace,
            service_account_name=SERVICE_ACCOUNT_NAME,
            description="Model server: read its model artifacts, pull its image",
        )
        artifacts_bucket.grant_read(self.service_account_role, f"{model_prefix}*")
        repository.grant_pull(self.service_account_role)
        self._acknowledge_grants(artifacts_bucket, model_prefix)

        spec = k8s.ModelServingSpec(
            env_name=env_name,
            namespace=namespace,
            image=image_uri(repository, image_tag),
            service_account_name=SERVICE_ACCOUNT_NAME,
            service_account_role_arn=self.service_account_role.role_arn,
            load_balancer_name=self.load_balancer_name,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cpu=cpu,
            memory=memory,
            certificate_arn=certificate_arn,
            waf_acl_arn=waf_acl_arn,
            inbound_cidrs=tuple(inbound_cidrs),
        )
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
        # The controller's webhooks must be up before the Ingress/Service are applied, and it
        # must outlive them on delete, or the ALB would be left behind.
        if eks_cluster.alb_controller is not None:
            workload.node.add_dependency(eks_cluster.alb_controller)
        if engine == "kserve":
            # The KServe chart is installed with wait=True: its webhook answers by then.
            workload.node.add_dependency(cluster.add_kserve())

        # Read at deploy time through the kubectl handler, once the controller has created the
        # ALB; it waits for the workload (and so for the Ingress) to be applied first.
        hostname = eks.KubernetesObjectValue(
            self,
            "LoadBalancerHostname",
            cluster=eks_cluster,
            object_type="ingress",
            object_name=self.ingress_name,
            object_namespace=namespace,
            json_path=".status.loadBalancer.ingress[0].hostname",
            timeout=hostname_timeout,
        )
        hostname.node.add_dependency(workload)
        self.load_balancer_hostname: str = hostname.value
        scheme = "https" if certificate_arn else "http"
        self.api_url = f"{scheme}://{domain_name or self.load_balancer_hostname}"
        self.predict_url = f"{self.api_url}{k8s.READY_PATH}:predict"

    def _acknowledge_grants(self, bucket: s3.IBucket, model_prefix: str) -> None:
        role = self.service_account_role
        read_reason = (
            f"bucket.grant_read scoped to {model_prefix}: the standard read action set "
            "(GetObject*, GetBucket*, List*) on that one prefix and its bucket."
        )
        for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*"):
            acknowledge(role, f"AwsSolutions-IAM5[Action::{action}]", read_reason)
        acknowledge_reference(
            role,
            "AwsSolutions-IAM5[Resource::{}/" + model_prefix + "*]",
            bucket.bucket_arn,
            f"Read access is limited to the {model_prefix} prefix of the artifacts bucket.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; image actions are "
            "scoped to the one repository.",
        )
