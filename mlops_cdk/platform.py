"""Composes the platform's stacks for one environment (what ``app.py`` deploys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from mlops_cdk.bootstrap import BOOTSTRAP_QUALIFIER_CONTEXT, permissions_boundary
from mlops_cdk.config import Settings, load_settings
from mlops_cdk.constructs._checkov import CdkHandlerCheckovSkips
from mlops_cdk.nag_pack import MlopsCdkChecks
from mlops_cdk.stacks.alerting_stack import AlertingStack
from mlops_cdk.stacks.cicd_stack import CicdStack
from mlops_cdk.stacks.eks_serving_stack import EksServingStack
from mlops_cdk.stacks.network_stack import NetworkStack
from mlops_cdk.stacks.observability_stack import ObservabilityStack
from mlops_cdk.stacks.registry_stack import RegistryStack
from mlops_cdk.stacks.retraining_stack import RetrainingStack
from mlops_cdk.stacks.sagemaker_serving_stack import SageMakerServingStack
from mlops_cdk.stacks.secrets_stack import SecretsStack
from mlops_cdk.stacks.storage_stack import StorageStack
from mlops_cdk.stacks.training_stack import TrainingStack

CONTEXT_KEYS = (
    "env",
    "serving",
    "image_tag",
    "canary_image_tag",
    "canary_percent",
    "image_digest",
    "serving_engine",
    "account",
    "region",
    "availability_zones",
    "retain_data",
    "front_door",
    "admin_principal_arns",
    "github_repository",
    "github_oidc_provider_arn",
    "github_bind_workflow",
)
"""CDK context keys the app reads (``-c key=value``); scripts rely on these names.

Each sets one field (``mlops_cdk.config.CONTEXT_FIELDS``), parsed for that field's type.
"""


@dataclass(frozen=True)
class PlatformStacks:
    """The stacks of one environment, for wiring and for tests."""

    network: NetworkStack
    storage: StorageStack
    registry: RegistryStack
    secrets: SecretsStack
    alerting: AlertingStack
    retraining: RetrainingStack
    serving: EksServingStack | SageMakerServingStack
    observability: ObservabilityStack
    training: TrainingStack | None = None
    cicd: CicdStack | None = None

    @property
    def eks(self) -> EksServingStack | None:
        """The serving stack when ``serving=eks``."""
        return self.serving if isinstance(self.serving, EksServingStack) else None

    @property
    def sagemaker(self) -> SageMakerServingStack | None:
        """The serving stack when ``serving=sagemaker``."""
        return self.serving if isinstance(self.serving, SageMakerServingStack) else None

    def all(self) -> list[cdk.Stack]:
        """Every stack, in deployment order."""
        ordered = (
            self.network,
            self.storage,
            self.registry,
            self.secrets,
            self.alerting,
            self.retraining,
            self.serving,
            self.observability,
            self.training,
            self.cicd,
        )
        return [stack for stack in ordered if stack is not None]


def settings_from_app(app: cdk.App) -> Settings:
    """Validated settings from context: ``-c`` flags, ``cdk.json``, ``CDK_CONTEXT_JSON``."""
    context: dict[str, Any] = {}
    for key in CONTEXT_KEYS:
        value = app.node.try_get_context(key)
        if value is not None:
            context[key] = value
    return load_settings(context)


def _common_stack_props(settings: Settings) -> dict[str, Any]:
    """Keyword arguments every stack of the environment takes."""
    return {
        "settings": settings,
        "env": cdk.Environment(account=settings.account, region=settings.region),
        "tags": {"mlops-cdk:env": settings.env_name, "mlops-cdk:serving": settings.serving},
        "termination_protection": settings.retain_data,
        "permissions_boundary": permissions_boundary(settings),
    }


def _set_synth_context(app: cdk.App, settings: Settings) -> None:
    """Context every stack reads at synth: the bootstrap qualifier and the pinned AZs."""
    # The environment's own bootstrap: every stack's DefaultStackSynthesizer reads this key (one
    # synthesizer instance cannot serve several stacks, so it is set once for all of them).
    app.node.set_context(BOOTSTRAP_QUALIFIER_CONTEXT, settings.cicd.bootstrap_qualifier)
    # Pinned AZs answer the VPC's availability-zone lookup, so synth needs no credentials.
    app.node.set_context(
        f"availability-zones:account={settings.account}:region={settings.region}",
        list(settings.availability_zones),
    )


def _serving_stack(
    app: cdk.App,
    settings: Settings,
    *,
    network: NetworkStack,
    storage: StorageStack,
    registry: RegistryStack,
    common: dict[str, Any],
) -> tuple[EksServingStack | SageMakerServingStack, dict[str, Any]]:
    """The serving stack of ``settings.serving`` and what of it the observability stack watches."""
    prefix = settings.stack_prefix
    serving_props: dict[str, Any] = {
        "vpc": network.vpc,
        "repository": registry.repository,
        "artifacts_bucket": storage.artifacts_bucket,
        **common,
    }
    if settings.serving == "eks":
        eks = EksServingStack(
            app,
            f"{prefix}-EksServing",
            access_logs_bucket=storage.storage.access_logs_bucket,
            **serving_props,
        )
        return eks, {
            "eks_cluster": eks.fargate_cluster,
            "container_insights": eks.container_insights,
            "eks_serving": eks.serving,
            "api": eks.model_api,
        }
    sagemaker = SageMakerServingStack(app, f"{prefix}-SageMakerServing", **serving_props)
    return sagemaker, {"model_endpoint": sagemaker.model_endpoint, "api": sagemaker.model_api}


def build_platform(app: cdk.App, settings: Settings) -> PlatformStacks:
    """Create every stack of ``settings.env_name``, wired by passing constructs, not names."""
    common = _common_stack_props(settings)
    _set_synth_context(app, settings)
    prefix = settings.stack_prefix
    network = NetworkStack(app, f"{prefix}-Network", **common)
    storage = StorageStack(app, f"{prefix}-Storage", **common)
    registry = RegistryStack(app, f"{prefix}-Registry", **common)
    secrets = SecretsStack(app, f"{prefix}-Secrets", **common)
    alerting = AlertingStack(app, f"{prefix}-Alerting", **common)
    retraining = RetrainingStack(
        app,
        f"{prefix}-Retraining",
        data_bucket=storage.data_bucket,
        github_token_secret=secrets.github_token_secret,
        artifacts_bucket=storage.artifacts_bucket,
        alarm_topic=alerting.alarm_topic,
        **common,
    )
    serving, watched = _serving_stack(
        app, settings, network=network, storage=storage, registry=registry, common=common
    )
    observability = ObservabilityStack(
        app,
        f"{prefix}-Observability",
        alarm_topic=alerting.alarm_topic,
        dispatcher=retraining.dispatcher,
        drift_monitor=retraining.drift_monitor,
        **watched,
        **common,
    )
    resources: dict[str, Any] = {
        "data_bucket": storage.data_bucket,
        "artifacts_bucket": storage.artifacts_bucket,
        "repository": registry.repository,
    }
    training = None
    if settings.mlflow.enabled or settings.retraining.target == "sagemaker":
        training = TrainingStack(app, f"{prefix}-Training", **common, **resources)
    cicd = None
    if settings.cicd.enabled:
        cicd = CicdStack(
            app,
            f"{prefix}-Cicd",
            **common,
            **resources,
            tracking_server=training.tracking_server if training else None,
            retrain_pipeline=training.retrain_pipeline if training else None,
            serving_api=serving.model_api.http_api if serving.model_api else None,
        )
    return PlatformStacks(
        network=network,
        storage=storage,
        registry=registry,
        secrets=secrets,
        alerting=alerting,
        retraining=retraining,
        serving=serving,
        observability=observability,
        training=training,
        cicd=cicd,
    )


def add_security_checks(app: cdk.App) -> None:
    """Run cdk-nag's AWS Solutions pack and the kit's ``MlopsCdkChecks`` at synth.

    Any unacknowledged finding of either fails synth.

    Also records the reasoned checkov skips on CDK's own custom-resource handlers, so
    ``make scan`` reports only what the kit can act on.
    """
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True), MlopsCdkChecks(app, verbose=True)
    )
    cdk.Aspects.of(app).add(CdkHandlerCheckovSkips())
