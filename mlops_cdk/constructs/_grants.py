"""Grants that must not create a cycle between stacks."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def grant_secret_read(
    scope: Construct, secret: secretsmanager.ISecret, grantee: iam.IGrantable
) -> None:
    """Let ``grantee`` (created in ``scope``'s stack) read ``secret``, wherever it lives.

    When the secret lives in another stack with its own KMS key, ``secret.grant_read`` would put
    the grantee's role into that key's policy, so the secret's stack would depend on this one
    while this one depends on it: a cycle. The grant then goes through the role's own policy
    instead, still with grants: read on the secret (imported by ARN, without its key) and decrypt
    on its key, which encrypts nothing but that secret.
    """
    key = secret.encryption_key
    if key is None or Stack.of(secret) is Stack.of(scope):
        secret.grant_read(grantee)
        return
    secretsmanager.Secret.from_secret_complete_arn(
        scope, "GitHubTokenSecret", secret.secret_arn
    ).grant_read(grantee)
    key.grant_decrypt(grantee)
