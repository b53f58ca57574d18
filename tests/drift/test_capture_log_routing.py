"""CaptureLogRouting: the log-router manifests validated strictly, Firehose and IAM on a scratch
stack with the smallest EKS cluster the other tests build, under cdk-nag AwsSolutions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import kubernetes_validate
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs.capture_log_routing import (
    CAPTURE_REGEX,
    CaptureLogRouting,
    log_router_config,
    log_router_manifests,
)
from mlops_cdk.constructs.eks_fargate_cluster import EksFargateCluster
from mlops_cdk.drift.capture import CAPTURE_MARKER
from mlops_cdk.platform import add_security_checks
from mlops_cdk.versions import KUBERNETES_VERSIONS
from tests.drift.drift_fakes import capture_lines

ENV = cdk.Environment(account="123456789012", region="us-east-1")
BUCKET_ARN = "arn:aws:s3:::mlops-prod-artifacts"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
RENDERED = log_router_manifests(
    region="us-east-1", delivery_stream_name="mlops-prod-capture", namespace="model-serving"
)


@pytest.mark.parametrize("kubernetes_version", list(KUBERNETES_VERSIONS))
def test_manifests_validate_strictly(kubernetes_version):
    for manifest in RENDERED:
        kubernetes_validate.validate(manifest, f"{kubernetes_version}.0", strict=True)


def test_manifests_follow_fargate_logging_rules():
    namespace, config_map = RENDERED
    assert namespace["metadata"] == {
        "name": "aws-observability",
        "labels": {"aws-observability": "enabled"},
    }
    assert config_map["metadata"] == {"name": "aws-logging", "namespace": "aws-observability"}
    data = config_map["data"]
    assert set(data) == {"flb_log_cw", "parsers.conf", "filters.conf", "output.conf"}
    assert sum(len(key) + len(value) for key, value in data.items()) <= 5300
    assert "${" not in json.dumps(data)  # Fargate rejects environment variables
    # Only the sections Fargate accepts, each under its own key, with Name and Match.
    sections = {key: re.findall(r"^\[(\w+)\]", value, re.M) for key, value in data.items()}
    assert sections["filters.conf"] == ["FILTER", "FILTER", "FILTER"]
    assert sections["output.conf"] == ["OUTPUT"]
    assert sections["parsers.conf"] == ["PARSER", "PARSER"]
    names = re.findall(r"^    Name (\S+)$", data["filters.conf"] + data["output.conf"], re.M)
    assert names == ["parser", "grep", "parser", "kinesis_firehose"]  # all supported by Fargate
    assert data["filters.conf"].count("Match kube.var.log.containers.*_model-serving_*") == 3
    assert "delivery_stream mlops-prod-capture" in data["output.conf"]
    assert "region us-east-1" in data["output.conf"]
    # log_key would ship the line as a quoted JSON string; the JSON parser makes it the record.
    assert "log_key" not in data["output.conf"]
    assert "Format json" in data["parsers.conf"]


def test_the_grep_and_parser_pass_capture_lines_only():
    parser = re.search(r"Regex (.+)$", RENDERED[1]["data"]["parsers.conf"], re.M).group(1)
    # Fluent Bit uses Onigmo named groups (?<name>...); Python spells them (?P<name>...).
    cri = re.compile(parser.replace("(?<", "(?P<"))
    grep = re.compile(CAPTURE_REGEX)
    (line,) = capture_lines([[1000.0, 45.0, 0.67]])
    assert line.startswith(CAPTURE_MARKER)
    parsed = cri.match(f"2026-12-04T15:00:00.123456789Z stdout F {line}")
    assert parsed is not None and parsed.group("log") == line
    assert grep.search(parsed.group("log"))
    # The JSON parser turns the line into the record kinesis_firehose serialises: the same record.
    assert json.loads(parsed.group("log")) == json.loads(line)
    for other in (
        'INFO: 127.0.0.1 "POST /v1/models/fraud-detection:predict"',
        '{"level": "info", "captureData": 1}',
    ):
        assert not grep.search(cri.match(f"2026-12-04T15:00:00Z stdout F {other}").group("log"))


def test_oversized_config_is_rejected():
    with pytest.raises(ValueError, match=r"would hold .* characters; Fargate accepts at most 5300"):
        log_router_config(region="us-east-1", delivery_stream_name="s" * 5000, namespace="ns")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> Template:
    outdir: Path = tmp_path_factory.mktemp("capture-routing")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Capture", env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    acknowledge(vpc, "AwsSolutions-VPC7", "Scratch VPC of this test; the platform's has flow logs.")
    cluster = EksFargateCluster(stack, "Eks", vpc=vpc, cluster_name="capture")
    bucket = s3.Bucket.from_bucket_attributes(
        stack,
        "Artifacts",
        bucket_arn=BUCKET_ARN,
        encryption_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
    )
    CaptureLogRouting(
        stack,
        "CaptureRouting",
        cluster=cluster,
        artifacts_bucket=bucket,
        capture_prefix="capture/prod/",
    )
    add_security_checks(app)
    app.synth()
    return Template.from_json(json.loads((outdir / "Capture.template.json").read_text()))


def test_firehose_writes_capture_under_the_eks_layout_with_kms(synthesized):
    synthesized.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"},
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "BucketARN": BUCKET_ARN,
                    "Prefix": "capture/prod/eks/!{timestamp:yyyy/MM/dd/HH}/",
                    "ErrorOutputPrefix": (
                        "capture/prod-errors/eks/!{firehose:error-output-type}/"
                        "!{timestamp:yyyy/MM/dd/HH}/"
                    ),
                    "FileExtension": ".jsonl",
                    "CompressionFormat": "UNCOMPRESSED",
                    "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": KEY_ARN}},
                    "CloudWatchLoggingOptions": Match.object_like({"Enabled": True}),
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [Match.object_like({"Type": "AppendDelimiterToRecord"})],
                    },
                }
            ),
        },
    )


def test_pod_execution_role_may_put_record_batches_on_the_stream_only(synthesized):
    policies = synthesized.find_resources("AWS::IAM::Policy")
    firehose_statements = [
        (policy, statement)
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "firehose:" in json.dumps(statement["Action"])
    ]
    assert len(firehose_statements) == 1
    policy, statement = firehose_statements[0]
    assert statement["Action"] == "firehose:PutRecordBatch"
    (stream_id,) = synthesized.find_resources("AWS::KinesisFirehose::DeliveryStream")
    assert statement["Resource"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    (role,) = policy["Properties"]["Roles"]
    assert "PodExecutionRole" in json.dumps(role)


def test_config_map_is_applied_with_the_stream_name(synthesized):
    manifests = synthesized.find_resources("Custom::AWSCDK-EKS-KubernetesResource")
    (applied,) = [m for m in manifests.values() if "aws-logging" in json.dumps(m)]
    text = json.dumps(applied["Properties"]["Manifest"])
    assert "kinesis_firehose" in text and "aws-observability" in text
    assert "DependsOn" in applied


def test_firehose_role_writes_only_the_capture_and_error_prefixes(synthesized):
    policies = synthesized.find_resources("AWS::IAM::Policy")
    text = json.dumps([p for name, p in policies.items() if "DeliveryRole" in name])
    assert f"{BUCKET_ARN}/capture/prod/eks/*" in text
    assert f"{BUCKET_ARN}/capture/prod-errors/eks/*" in text
    assert f"{BUCKET_ARN}/*" not in text
    assert "s3:DeleteObject" not in text
