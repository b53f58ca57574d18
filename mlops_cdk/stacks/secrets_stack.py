"""SecretsStack: credentials the platform needs, never their values."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mlops_cdk.config import Settings
from mlops_cdk.constructs.github_token_secret import GitHubTokenSecret
from mlops_cdk.stacks._common import removal_policy


class SecretsStack(Stack):
    """Holds :class:`GitHubTokenSecret`; exposes ``github_token_secret``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.github_token = GitHubTokenSecret(
            self, "GitHubToken", removal_policy=removal_policy(settings)
        )
        self.github_token_secret = self.github_token.secret
        CfnOutput(
            self,
            "GitHubTokenSecretArn",
            value=self.github_token_secret.secret_arn,
            description="Put the token: aws secretsmanager put-secret-value --secret-id <this> "
            '--secret-string "$TOKEN"',
        )
