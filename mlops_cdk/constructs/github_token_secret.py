"""GitHubTokenSecret: where the retraining trigger finds its GitHub token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mlops_cdk.constructs._kms import build_encryption_key
from mlops_cdk.constructs._nag import acknowledge
from mlops_cdk.constructs._props import check_existing_or_props, merge_props


class GitHubTokenSecret(Construct):
    """A KMS-encrypted Secrets Manager secret for a GitHub token.

    The secret is created with a random placeholder, so no token ever appears in a template,
    output or log; put the real value in after deploying::

        aws secretsmanager put-secret-value --secret-id <SecretArn> --secret-string "$TOKEN"

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        description: Secret description.
        removal_policy: For the secret and its key. Default ``RETAIN``.
        existing_secret: Reuse a secret (whose SecretString is the token) instead.
        secret_props: ``secretsmanager.Secret`` keyword arguments merged over the defaults;
            ``encryption_key`` (the construct's key) stays as set here.

    Attributes:
        secret: The secret; grant reads with ``secret.grant_read(function)``.
        encryption_key: Its customer-managed key (with rotation), or ``None`` when reused.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str = "GitHub token used to dispatch retraining workflows",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_secret: secretsmanager.ISecret | None = None,
        secret_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_existing_or_props(
            self, "existing_secret", existing_secret, "secret_props", secret_props
        )
        self.encryption_key: kms.Key | None = None
        self.secret: secretsmanager.ISecret = existing_secret or self._encrypted_secret(
            description, removal_policy, secret_props
        )

    def _encrypted_secret(
        self,
        description: str,
        removal_policy: RemovalPolicy,
        secret_props: Mapping[str, Any] | None,
    ) -> secretsmanager.Secret:
        """The secret with a random placeholder value, under its own key."""
        self.encryption_key = build_encryption_key(
            self,
            "Key",
            description="Encrypts the mlops-cdk GitHub token secret",
            removal_policy=removal_policy,
        )
        defaults: dict[str, Any] = {
            "description": description,
            "generate_secret_string": secretsmanager.SecretStringGenerator(
                password_length=40, exclude_punctuation=True
            ),
            "removal_policy": removal_policy,
        }
        secret = secretsmanager.Secret(
            self,
            "Secret",
            **merge_props(
                self,
                defaults,
                secret_props,
                {"encryption_key": self.encryption_key},
                security_keys=("removal_policy",),
            ),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "A GitHub token is issued and rotated in GitHub (fine-grained tokens expire); "
            "no Lambda can mint a new one, so Secrets Manager rotation does not apply.",
        )
        return secret
