"""CaptureLogRouting: the model server's capture lines, from Fargate's log router to S3.

The model server prints one SageMaker-format capture line per sampled request to standard
output (``mlops_cdk.drift.capture.capture_record``). EKS on Fargate runs a Fluent Bit log router
for every pod, configured cluster-wide by the ``aws-logging`` ConfigMap in the
``aws-observability`` namespace: no sidecar. This construct renders that ConfigMap so only lines
of the model-serving namespace that start with the capture marker ``{"captureData":`` go, as
capture records, to a Kinesis Data Firehose stream that writes them to the artifacts
bucket under ``<capture_prefix>eks/yyyy/mm/dd/hh/`` (UTC), the layout the drift check reads.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_cdk.constructs._checkov import LOG_GROUP_KMS_REASON, skip_checkov
from mlops_cdk.constructs._nag import acknowledge_findings
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.lambdas.drift_check.window import EKS_FOLDER

OBSERVABILITY_NAMESPACE = "aws-observability"
"""The namespace Fargate reads its log router configuration from (a fixed name)."""
CONFIG_MAP_NAME = "aws-logging"
MAX_CONFIG_CHARS = 5300
"""Fargate rejects an ``aws-logging`` ConfigMap longer than this."""
DEFAULT_BUFFERING_SIZE = Size.mebibytes(5)
CAPTURE_REGEX = r'^\{"captureData":'
"""Grep filter on the ``log`` field: the marker every capture line starts with."""

# The Fargate log router tails /var/log/containers/*.log with tag kube.*: the tag is the file
# path with dots, kube.var.log.containers.<pod>_<namespace>_<container>-<id>.log. Lines are in
# the CRI format "<time> <stream> <P|F> <log>"; the first parser keeps <log> (a line it cannot
# read passes unchanged), the grep keeps lines whose "log" starts with the marker, and the JSON
# parser makes the capture line itself the record. kinesis_firehose serialises each record as
# JSON, so Firehose receives the capture record as JSON (log_key would send it as a quoted JSON
# string); Firehose appends the newline.
_PARSERS = """[PARSER]
    Name capture_cri
    Format regex
    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
[PARSER]
    Name capture_json
    Format json
"""


def log_router_config(*, region: str, delivery_stream_name: str, namespace: str) -> dict[str, str]:
    """The ``aws-logging`` data: capture lines of ``namespace`` to the Firehose stream.

    Raises:
        ValueError: The configuration exceeds Fargate's 5300 characters.
    """
    match = f"kube.var.log.containers.*_{namespace}_*"
    data = {
        "flb_log_cw": "false",
        "parsers.conf": _PARSERS,
        "filters.conf": (
            f"[FILTER]\n    Name parser\n    Match {match}\n    Key_Name log\n"
            f"    Parser capture_cri\n"
            f"[FILTER]\n    Name grep\n    Match {match}\n    Regex log {CAPTURE_REGEX}\n"
            f"[FILTER]\n    Name parser\n    Match {match}\n    Key_Name log\n"
            f"    Parser capture_json\n"
        ),
        "output.conf": (
            f"[OUTPUT]\n    Name kinesis_firehose\n    Match {match}\n    region {region}\n"
            f"    delivery_stream {delivery_stream_name}\n"
        ),
    }
    size = sum(len(key) + len(value) for key, value in data.items())
    if size > MAX_CONFIG_CHARS:
        raise ValueError(
            f"the aws-logging ConfigMap would hold {size} characters; Fargate accepts at most "
            f"{MAX_CONFIG_CHARS}: shorten the namespace or delivery stream name"
        )
    return data


def log_router_manifests(
    *, region: str, delivery_stream_name: str, namespace: str
) -> list[dict[str, Any]]:
    """The ``aws-observability`` Namespace and its ``aws-logging`` ConfigMap, in apply order."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": OBSERVABILITY_NAMESPACE,
                "labels": {"aws-observability": "enabled"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP_NAME, "namespace": OBSERVABILITY_NAMESPACE},
            "data": log_router_config(
                region=region, delivery_stream_name=delivery_stream_name, namespace=namespace
            ),
        },
    ]


class CaptureLogRouting(Construct):
    """Model-server capture on EKS Fargate → log router → Firehose → the artifacts bucket.

    Fargate applies the ``aws-logging`` ConfigMap to pods created after it exists (restart the
    model server once after the first deploy). The ConfigMap is cluster-wide and one per
    cluster: this construct owns it, so other log shipping on the cluster must be added here.
    Containerd splits lines longer than 16 KiB, so the model server should skip capture of
    larger requests (a split line fails the marker or the JSON and is dropped or counted as
    malformed).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        cluster: The :class:`EksFargateCluster`; its pod execution role (which the log router
            uses) may ``firehose:PutRecordBatch`` on the stream only.
        artifacts_bucket: Destination bucket; Firehose writes with its KMS key when it has one.
        capture_prefix: The environment's capture prefix, e.g. ``capture/prod/``; records land
            under ``<capture_prefix>eks/yyyy/mm/dd/hh/`` by arrival time (UTC).
        namespace: Namespace of the model server. Default ``model-serving``.
        error_prefix: Where Firehose puts records it could not deliver. Default
            ``<capture_prefix without its slash>-errors/eks/``, outside the capture the drift
            check reads.
        buffering_interval: Firehose flush interval. Default 5 minutes (schedule the drift check
            a few minutes past the hour so the hour is complete).
        buffering_size: Firehose flush size. Default 5 MiB.
        stream_encryption_key: Key for Firehose server-side encryption. Default an AWS-owned key.
        log_retention: Retention of the delivery error logs. Default one month.
        removal_policy: For the log group. Default ``RETAIN``.

    Attributes:
        delivery_stream: The Firehose stream.
        manifest: The Kubernetes manifest (Namespace and ConfigMap).
        manifests: What it applies, rendered.
        put_records_policy: The pod execution role's policy on the stream.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: EksFargateCluster,
        artifacts_bucket: s3.IBucket,
        capture_prefix: str,
        namespace: str = "model-serving",
        error_prefix: str | None = None,
        buffering_interval: Duration = Duration.minutes(5),
        buffering_size: Size = DEFAULT_BUFFERING_SIZE,
        stream_encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(capture_prefix) and (
            not capture_prefix.endswith("/") or capture_prefix.startswith("/")
        ):
            raise ValueError(
                f"CaptureLogRouting: capture_prefix = {capture_prefix!r}; use e.g. 'capture/prod/'"
            )
        errors = error_prefix or f"{capture_prefix.rstrip('/')}-errors/{EKS_FOLDER}"
        log_group = logs.LogGroup(
            self, "DeliveryLogs", retention=log_retention, removal_policy=removal_policy
        )
        skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        encryption = (
            firehose.StreamEncryption.customer_managed_key(stream_encryption_key)
            if stream_encryption_key is not None
            else firehose.StreamEncryption.aws_owned_key()
        )
        role = self._delivery_role(
            artifacts_bucket, [f"{capture_prefix}{EKS_FOLDER}", errors], log_group
        )
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "Stream",
            encryption=encryption,
            destination=firehose.S3Bucket(
                artifacts_bucket,
                data_output_prefix=f"{capture_prefix}{EKS_FOLDER}!{{timestamp:yyyy/MM/dd/HH}}/",
                error_output_prefix=(
                    f"{errors}!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/"
                ),
                file_extension=".jsonl",
                compression=firehose.Compression.UNCOMPRESSED,
                buffering_interval=buffering_interval,
                buffering_size=buffering_size,
                encryption_key=artifacts_bucket.encryption_key,
                logging_config=firehose.EnableLogging(log_group),
                # Fluent Bit sends records without a delimiter: one capture record per line.
                processors=[firehose.AppendDelimiterToRecordProcessor()],
                # Immutable here: the destination would grant read/write on the whole bucket.
                role=role.without_policy_updates(),
            ),
        )
        # The policy lives here, not in the role's stack: a grant on the cluster's role would
        # make the cluster stack depend on this stream, and this stack depends on the cluster.
        self.put_records_policy = iam.Policy(
            self,
            "PodExecutionPutRecords",
            roles=[cluster.pod_execution_role],
            statements=[
                iam.PolicyStatement(
                    actions=["firehose:PutRecordBatch"],
                    resources=[self.delivery_stream.delivery_stream_arn],
                )
            ],
        )
        self.manifests = log_router_manifests(
            region=Stack.of(self).region,
            delivery_stream_name=self.delivery_stream.delivery_stream_name,
            namespace=namespace,
        )
        self.manifest = eks.KubernetesManifest(
            self, "LogRouterConfig", cluster=cluster.cluster, manifest=self.manifests
        )
        # Pods started before the stream may write would lose capture until restarted.
        self.manifest.node.add_dependency(self.delivery_stream, self.put_records_policy)

    def _delivery_role(
        self, bucket: s3.IBucket, prefixes: list[str], log_group: logs.ILogGroup
    ) -> iam.Role:
        """Firehose's role: write (and the multipart reads it needs) under ``prefixes`` only."""
        role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="Capture delivery: write the EKS capture prefix and its error prefix",
        )
        for prefix in prefixes:
            bucket.grant_put(role, f"{prefix}*")
            bucket.grant_read(role, f"{prefix}*")
        log_group.grant_write(role)
        findings = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"]
        findings.append("Action::s3:Abort*")
        findings += [f"Resource::{bucket.bucket_arn}/{prefix}*" for prefix in prefixes]
        if bucket.encryption_key is not None:
            findings += ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"]
        acknowledge_findings(
            role,
            "AwsSolutions-IAM5",
            findings,
            "Bucket.grant_put/grant_read on the capture and error prefixes only (Firehose "
            "names objects by hour and id under them, and reads back multipart uploads); the "
            "KMS actions are the bucket key's encrypt grant.",
        )
        return role
