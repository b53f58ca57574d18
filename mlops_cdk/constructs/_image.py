"""The model-server image URI, shared by every construct that runs the image."""

from __future__ import annotations

from aws_cdk import Aws, Token
from aws_cdk import aws_ecr as ecr


def image_uri(repository: ecr.IRepository, tag: str, digest: str | None = None) -> str:
    """``<account>.dkr.ecr.<region>.<suffix>/<name>:<tag>``, or ``<name>@<digest>`` with a digest.

    A digest names the exact bytes retraining gated, whichever environment pulls them, so the
    templates of dev, staging and prod reference the same image; the tag is then only a label.
    ``repository_uri_for_tag`` splits the ARN; on a repository from another stack that ARN is
    a cross-stack reference, which cfn-lint cannot type inside ``Fn::Split``. A repository whose
    environment is known gives the same URI from its account, region and name; an
    environment-agnostic one (unresolved account or region) falls back to CDK's own URI.
    """
    account, region = repository.env.account, repository.env.region
    if Token.is_unresolved(account) or Token.is_unresolved(region):
        if digest:
            return repository.repository_uri_for_digest(digest)
        return repository.repository_uri_for_tag(tag)
    reference = f"@{digest}" if digest else f":{tag}"
    return f"{account}.dkr.ecr.{region}.{Aws.URL_SUFFIX}/{repository.repository_name}{reference}"
