"""The kit's customer-managed KMS keys, with their secure defaults (Solutions Constructs style).

Every key a construct creates rotates yearly and follows the construct's removal policy, so a
retained resource never loses the key that decrypts it.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def build_encryption_key(
    scope: Construct, construct_id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A customer-managed key ``construct_id`` in ``scope``, rotation on.

    Args:
        scope: Where the key is created.
        construct_id: Its construct id (and so its logical id).
        description: What the key encrypts, shown in the KMS console.
        removal_policy: The policy of what it encrypts: a key deleted before its data would
            leave that data unreadable.
    """
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )


def build_logs_encryption_key(
    scope: Construct, construct_id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A rotating key that CloudWatch Logs may use for this account's and region's groups only."""
    key = build_encryption_key(
        scope, construct_id, description=description, removal_policy=removal_policy
    )
    stack = Stack.of(scope)
    key.grant_encrypt_decrypt(
        iam.ServicePrincipal(
            f"logs.{stack.region}.amazonaws.com",
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return key
