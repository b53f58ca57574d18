"""scripts/resolve_image_digest.py: a pushed tag resolves to ECR's digest (moto ECR)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from scripts.resolve_image_digest import ResolveError, main, resolve_digest

REPOSITORY = "mlops-cdk/model-server"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": "sha256:" + "1" * 64,
        },
        "layers": [],
    }
)


@pytest.fixture
def ecr(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("ecr", region_name="us-east-1")
        client.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
        pushed = client.put_image(
            repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag="abc1234-m7"
        )
        yield client, pushed["image"]["imageId"]["imageDigest"]


def test_a_pushed_tag_resolves_to_the_digest_ecr_recorded_at_push(ecr):
    client, pushed_digest = ecr
    assert resolve_digest(client, REPOSITORY, "abc1234-m7") == pushed_digest


def test_an_unknown_tag_is_an_error_that_says_to_push_it(ecr):
    with pytest.raises(ResolveError, match=r"abc1234-m8 does not name one image.*push it first"):
        resolve_digest(ecr[0], REPOSITORY, "abc1234-m8")


def test_the_command_prints_only_the_digest_of_the_configured_repository(ecr, capsys):
    assert main(["--tag", "abc1234-m7", "--env", "prod"]) == 0
    assert capsys.readouterr().out == f"{ecr[1]}\n"


def test_the_command_fails_with_exit_2_on_a_missing_tag(ecr, capsys):
    assert main(["--tag", "nope"]) == 2
    assert "image-digest: mlops-cdk/model-server:nope does not name one image" in (
        capsys.readouterr().err
    )
