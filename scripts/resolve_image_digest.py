"""Resolve a model-server image tag to its digest, once per release.

deploy.yml runs it (``make image-digest``) before the first environment and passes the digest
to every environment, so dev, staging and prod deploy ``<repository>@<digest>``: the bytes
retraining pushed and gated, even if a tag were ever re-pointed. It calls ECR ``BatchGetImage``,
which the retrain role's pull grant already allows (``DescribeImages`` would need one more).

Usage (AWS credentials and region from the environment):
    python -m scripts.resolve_image_digest --tag abc1234-m7 [--env dev] [--repository name]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

import boto3

from mlops_cdk.config import ConfigError, load_settings

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")


class ResolveError(Exception):
    """The tag does not name exactly one image; the message says what to do."""


def resolve_digest(ecr_client: Any, repository_name: str, tag: str) -> str:
    """The digest of ``repository_name:tag``.

    Raises:
        ResolveError: The tag is not in the repository, or ECR answered something else.
    """
    response = ecr_client.batch_get_image(
        repositoryName=repository_name,
        imageIds=[{"imageTag": tag}],
        acceptedMediaTypes=[
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ],
    )
    digests = {image["imageId"]["imageDigest"] for image in response.get("images", [])}
    if len(digests) != 1:
        reasons = "; ".join(
            f"{failure.get('failureCode')}: {failure.get('failureReason')}"
            for failure in response.get("failures", [])
        )
        raise ResolveError(
            f"{repository_name}:{tag} does not name one image ({reasons or 'no image'}); "
            "push it first (retrain.yml, or make image + docker push)"
        )
    (digest,) = digests
    if not DIGEST_RE.match(digest):
        raise ResolveError(f"ECR returned {digest!r} for {repository_name}:{tag}: not a digest")
    return digest


def main(argv: list[str] | None = None) -> int:
    """Print the digest of ``--tag`` in the environment's shared repository."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="image tag, e.g. abc1234-m7")
    parser.add_argument("--env", default="dev", help="environment whose registry settings apply")
    parser.add_argument("--repository", default="", help="repository name (default: settings)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings({"env": args.env})
        region = os.environ.get("AWS_REGION") or settings.region
        client = boto3.client("ecr", region_name=region)
        print(
            resolve_digest(client, args.repository or settings.registry.repository_name, args.tag)
        )
    except (ConfigError, ResolveError) as exc:
        print(f"image-digest: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
