"""What a retraining-dispatching function builds once per container, and its two target calls.

Shared by the retraining dispatcher and the drift check: the idempotent dispatcher (Powertools
idempotency on DynamoDB) with the client of its target, and reading the GitHub token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from .dispatch import DispatchError

SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
"""Standard SDK retries, a few more attempts than the default."""
TOKEN_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Dispatcher:
    """The idempotent dispatch function and the client its target needs (the other is None)."""

    idempotency_config: IdempotencyConfig
    dispatch: Callable[..., dict[str, Any]]
    secrets: SecretsProvider | None
    sagemaker: Any | None


def build_dispatcher(
    *,
    function: Callable[..., dict[str, Any]],
    data_keyword_argument: str,
    target: str,
    table_name: str,
    ttl_seconds: int,
    on_duplicate: Callable[..., Any],
) -> Dispatcher:
    """Wrap ``function`` in Powertools idempotency keyed on ``data_keyword_argument``.

    A completed dispatch is remembered ``ttl_seconds``; a replay calls ``on_duplicate`` instead.
    """
    config = IdempotencyConfig(expires_after_seconds=ttl_seconds, response_hook=on_duplicate)
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name, boto3_client=boto3.client("dynamodb", config=SDK_CONFIG)
    )
    secrets = sagemaker = None
    if target == "github":
        secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager", config=SDK_CONFIG))
    else:
        sagemaker = boto3.client("sagemaker", config=SDK_CONFIG)
    dispatch = idempotent_function(
        data_keyword_argument=data_keyword_argument, persistence_store=persistence, config=config
    )(function)
    return Dispatcher(config, dispatch, secrets, sagemaker)


def read_github_token(secrets: SecretsProvider, secret_arn: str) -> str:
    """Read the token (cached for a few minutes) and turn read failures into a DispatchError."""
    try:
        token = secrets.get(secret_arn, max_age=TOKEN_CACHE_SECONDS)
    except Exception as error:  # Powertools wraps SDK errors in GetParameterError
        raise DispatchError(
            f"cannot read the GitHub token secret {secret_arn}: {type(error).__name__}; check "
            "GITHUB_TOKEN_SECRET_ARN and the function's secretsmanager:GetSecretValue grant"
        ) from None
    if not isinstance(token, str) or not token.strip():
        raise DispatchError(f"the GitHub token secret {secret_arn} has an empty SecretString")
    return token.strip()
