"""Composes the platform's stacks for one environment (what ``app.py`` deploys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from mlops_cdk.config import Settings, load_settings
from mlops_cdk.stacks.network_stack import NetworkStack
from mlops_cdk.stacks.observability_stack import ObservabilityStack
from mlops_cdk.stacks.registry_stack import RegistryStack
from mlops_cdk.stacks.secrets_stack import SecretsStack
from mlops_cdk.stacks.storage_stack import StorageStack

CONTEXT_KEYS = (
    "env", "serving", "image_tag", "serving_engine", "account", "region", "availability_zones",
)  # fmt: skip
"""CDK context keys the app reads (``-c key=value``); scripts rely on these names."""


@dataclass(frozen=True)
class PlatformStacks:
    """The stacks of one environment, for wiring and for tests."""

    network: NetworkStack
    storage: StorageStack
    registry: RegistryStack
    secrets: SecretsStack
    observability: ObservabilityStack

    def all(self) -> list[cdk.Stack]:
        """Every stack, in deployment order."""
        return [self.network, self.storage, self.registry, self.secrets, self.observability]


def settings_from_app(app: cdk.App) -> Settings:
    """Validated settings from context: ``-c`` flags, ``cdk.json``, ``CDK_CONTEXT_JSON``."""
    context: dict[str, Any] = {}
    for key in CONTEXT_KEYS:
        value = app.node.try_get_context(key)
        if value is not None:
            context[key] = value
    return load_settings(context)


def build_platform(app: cdk.App, settings: Settings) -> PlatformStacks:
    """Create every stack of ``settings.env_name``, wired by passing constructs, not names."""
    common: dict[str, Any] = {
        "settings": settings,
        "env": cdk.Environment(account=settings.account, region=settings.region),
        "tags": {"mlops-cdk:env": settings.env_name, "mlops-cdk:serving": settings.serving},
        "termination_protection": settings.retain_data,
    }
    # Pinned AZs answer the VPC's availability-zone lookup, so synth needs no credentials.
    app.node.set_context(
        f"availability-zones:account={settings.account}:region={settings.region}",
        list(settings.availability_zones),
    )
    prefix = settings.stack_prefix
    stacks = PlatformStacks(
        network=NetworkStack(app, f"{prefix}-Network", **common),
        storage=StorageStack(app, f"{prefix}-Storage", **common),
        registry=RegistryStack(app, f"{prefix}-Registry", **common),
        secrets=SecretsStack(app, f"{prefix}-Secrets", **common),
        # Serving and retraining stacks plug in with one keyword each, e.g.
        # sagemaker_endpoint_name=serving.endpoint_name (see docs/observability.md).
        observability=ObservabilityStack(app, f"{prefix}-Observability", **common),
    )
    return stacks


def add_security_checks(app: cdk.App) -> None:
    """Run cdk-nag's AWS Solutions pack at synth: any unacknowledged finding fails synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
