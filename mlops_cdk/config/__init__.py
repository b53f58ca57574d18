"""Typed, validated settings for every environment, on strict pydantic models.

``types`` holds the ``Literal`` types constructs share, ``models`` the schema, ``environments``
the dev/staging/prod table and ``loader`` :func:`load_settings`, which applies the CDK context
keys, validates everything and raises :class:`ConfigError` listing every problem at once, each
naming the field, the bad value and the fix.
"""

from mlops_cdk.config.environments import DEFAULT_ENV, ENVIRONMENTS
from mlops_cdk.config.errors import ConfigError
from mlops_cdk.config.loader import (
    CONTEXT_FIELDS,
    deep_merge,
    load_settings,
    parse_context_value,
    settings_from_dict,
)
from mlops_cdk.config.models import (
    ApiSettings,
    CicdSettings,
    DriftSettings,
    EksSettings,
    MlflowSettings,
    NetworkSettings,
    ObservabilitySettings,
    RegistrySettings,
    RetrainingSettings,
    SageMakerSettings,
    Settings,
    StorageSettings,
)
from mlops_cdk.config.types import (
    ALARM_PERIOD_MINUTES,
    LOG_RETENTION,
    LOG_RETENTION_DAYS,
    OFFLINE_ACCOUNT,
    RESERVED_NAMESPACES,
    SERVERLESS_MEMORY_MB,
    ApiAuth,
    BucketEncryption,
    EndpointAccess,
    FrontDoor,
    MlflowKind,
    MlflowSize,
    RetrainingTarget,
    SageMakerVariant,
    ServingEngine,
    ServingPath,
)

__all__ = [
    "ALARM_PERIOD_MINUTES",
    "CONTEXT_FIELDS",
    "DEFAULT_ENV",
    "ENVIRONMENTS",
    "LOG_RETENTION",
    "LOG_RETENTION_DAYS",
    "OFFLINE_ACCOUNT",
    "RESERVED_NAMESPACES",
    "SERVERLESS_MEMORY_MB",
    "ApiAuth",
    "ApiSettings",
    "BucketEncryption",
    "CicdSettings",
    "ConfigError",
    "DriftSettings",
    "EksSettings",
    "EndpointAccess",
    "FrontDoor",
    "MlflowKind",
    "MlflowSettings",
    "MlflowSize",
    "NetworkSettings",
    "ObservabilitySettings",
    "RegistrySettings",
    "RetrainingSettings",
    "RetrainingTarget",
    "SageMakerSettings",
    "SageMakerVariant",
    "ServingEngine",
    "ServingPath",
    "Settings",
    "StorageSettings",
    "deep_merge",
    "load_settings",
    "parse_context_value",
    "settings_from_dict",
]
