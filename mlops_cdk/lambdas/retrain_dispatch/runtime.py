"""What a retraining-dispatching function reads, builds once per container, and starts.

Shared by the retraining dispatcher and the drift check: the dispatch settings both read from
their environment (:class:`DispatchSettings`, the variables the constructs' ``DispatchTarget``
sets), the idempotent dispatcher (Powertools idempotency on DynamoDB) with the client of its
target, and :meth:`Dispatcher.start`, which starts one run on GitHub or SageMaker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from .dispatch import (
    DispatchError,
    RetryPolicy,
    send_repository_dispatch,
    start_pipeline_execution,
)
from .payload import DispatchPlan

SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
"""Standard SDK retries, a few more attempts than the default."""
TOKEN_CACHE_SECONDS = 300
TARGETS = ("github", "sagemaker")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, kw_only=True)
class DispatchSettings:
    """Where a function starts retraining runs: the part of its settings both functions share.

    Each function's ``Settings`` extends it with its own variables and checks.
    """

    target: str
    idempotency_table: str
    github_event_type: str
    data_bucket: str = ""
    data_prefix: str = "incoming/"
    github_repository: str = ""
    github_token_secret_arn: str = ""
    github_api_url: str = "https://api.github.com"
    sagemaker_pipeline_name: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @staticmethod
    def read_env(env: Mapping[str, str], *, default_event_type: str) -> dict[str, Any]:
        """These fields from the environment; an empty optional variable takes its default."""
        return {
            "target": env.get("DISPATCH_TARGET", ""),
            "idempotency_table": env.get("IDEMPOTENCY_TABLE_NAME", ""),
            "github_event_type": env.get("GITHUB_EVENT_TYPE") or default_event_type,
            "data_bucket": env.get("DATA_BUCKET_NAME", ""),
            "data_prefix": env.get("DATA_PREFIX") or "incoming/",
            "github_repository": env.get("GITHUB_REPOSITORY", ""),
            "github_token_secret_arn": env.get("GITHUB_TOKEN_SECRET_ARN", ""),
            "github_api_url": env.get("GITHUB_API_URL") or "https://api.github.com",
            "sagemaker_pipeline_name": env.get("SAGEMAKER_PIPELINE_NAME", ""),
            "retry": RetryPolicy(
                max_attempts=int(env.get("DISPATCH_MAX_ATTEMPTS", "5")),
                base_delay=float(env.get("DISPATCH_BACKOFF_SECONDS", "1.0")),
            ),
        }

    def dispatch_problems(self) -> list[str]:
        """What is missing or malformed for the chosen target, each with its fix."""
        problems = []
        if self.target not in TARGETS:
            problems.append(f"DISPATCH_TARGET = {self.target!r}; set 'github' or 'sagemaker'")
        if not self.idempotency_table:
            problems.append("IDEMPOTENCY_TABLE_NAME is empty; set the DynamoDB table name")
        if self.target == "github" and not _REPOSITORY.match(self.github_repository):
            problems.append(f"GITHUB_REPOSITORY = {self.github_repository!r}; use 'owner/name'")
        if self.target == "github" and not self.github_token_secret_arn:
            problems.append("GITHUB_TOKEN_SECRET_ARN is empty; set the token secret's ARN")
        if self.target == "sagemaker" and not self.sagemaker_pipeline_name:
            problems.append("SAGEMAKER_PIPELINE_NAME is empty; set the pipeline to start")
        return problems


SettingsT = TypeVar("SettingsT", bound=DispatchSettings)


@dataclass(frozen=True)
class Dispatcher(Generic[SettingsT]):
    """The settings, the idempotent dispatch function and its target's client (the other None)."""

    settings: SettingsT
    idempotency_config: IdempotencyConfig
    dispatch: Callable[..., dict[str, Any]]
    secrets: SecretsProvider | None
    sagemaker: Any | None

    def start(
        self,
        plan: DispatchPlan,
        *,
        description: str,
        deadline: float,
        payload_extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start ``plan``'s run: a GitHub ``repository_dispatch`` or a SageMaker execution.

        Args:
            plan: What the run trains on; GitHub receives it as the ``client_payload``.
            description: The pipeline execution's description (SageMaker).
            deadline: ``time.monotonic()`` value after which GitHub is not retried.
            payload_extra: Fields added to (or replacing) the plan's ``client_payload``.

        Returns:
            The target and what it answered: attempts and ``keys_truncated``, or the ARN.

        Raises:
            DispatchError: The run did not start.
        """
        settings = self.settings
        if self.secrets is not None:
            payload = plan.client_payload(
                prefix=settings.data_prefix, event_type=settings.github_event_type
            )
            payload.update(payload_extra or {})
            attempts = send_repository_dispatch(
                api_url=settings.github_api_url,
                repository=settings.github_repository,
                token=read_github_token(self.secrets, settings.github_token_secret_arn),
                event_type=settings.github_event_type,
                client_payload=payload,
                deadline=deadline,
                policy=settings.retry,
            )
            return {
                "target": "github",
                "attempts": attempts,
                "keys_truncated": payload["keys_truncated"],
            }
        arn = start_pipeline_execution(
            self.sagemaker,
            pipeline_name=settings.sagemaker_pipeline_name,
            batch_id=plan.batch_id,
            bucket=plan.bucket,
            prefix=settings.data_prefix,
            description=description,
        )
        return {"target": "sagemaker", "pipeline_execution_arn": arn}


def build_dispatcher(
    settings: SettingsT,
    *,
    function: Callable[..., dict[str, Any]],
    data_keyword_argument: str,
    ttl_seconds: int,
    on_duplicate: Callable[..., Any],
) -> Dispatcher[SettingsT]:
    """Wrap ``function`` in Powertools idempotency keyed on ``data_keyword_argument``.

    A completed dispatch is remembered ``ttl_seconds``; a replay calls ``on_duplicate`` instead.
    """
    config = IdempotencyConfig(expires_after_seconds=ttl_seconds, response_hook=on_duplicate)
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table,
        boto3_client=boto3.client("dynamodb", config=SDK_CONFIG),
    )
    secrets = sagemaker = None
    if settings.target == "github":
        secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager", config=SDK_CONFIG))
    else:
        sagemaker = boto3.client("sagemaker", config=SDK_CONFIG)
    dispatch = idempotent_function(
        data_keyword_argument=data_keyword_argument, persistence_store=persistence, config=config
    )(function)
    return Dispatcher(settings, config, dispatch, secrets, sagemaker)


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
