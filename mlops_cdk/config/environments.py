"""The environments: every per-environment difference lives here.

Anything not listed takes the model's default (see ``models.py``); ``load_settings`` deep-merges
a library user's overrides over the chosen environment.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_ENV", "ENVIRONMENTS"]

DEFAULT_ENV = "dev"

_PRE_PRODUCTION: dict[str, Any] = {
    "region": "us-east-1",
    "availability_zones": ("us-east-1a", "us-east-1b"),
    "retain_data": False,
    "network": {"max_azs": 2, "nat_gateways": 1},
}
"""What dev and staging share: two zones, one NAT gateway, data deleted with the stacks."""

ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "dev": {
        **_PRE_PRODUCTION,
        "serving": "sagemaker",
        "log_retention_days": 30,
        "sagemaker": {"variant": "serverless"},
        "eks": {"min_replicas": 1, "max_replicas": 2},
        "retraining": {"batching_window_seconds": 60},
        "cicd": {"bootstrap_qualifier": "mlopsdev"},
        "observability": {"monthly_budget_usd": 150},
        # Its serverless endpoint cannot capture (with -c serving=eks, override it to capture).
        "drift": {"capture_percent": 0},
    },
    "staging": {
        **_PRE_PRODUCTION,
        "serving": "eks",
        "log_retention_days": 90,
        "network": {**_PRE_PRODUCTION["network"], "interface_endpoints": True},
        "sagemaker": {"variant": "realtime", "instance_type": "ml.m5.large"},
        "eks": {"min_replicas": 2, "max_replicas": 4},
        "registry": {"create": False},
        "retraining": {"batching_window_seconds": 120},
        "cicd": {"deploy_environment": "staging", "bootstrap_qualifier": "mlopsstg"},
        "observability": {"monthly_budget_usd": 400},
    },
    "prod": {
        "region": "us-east-1",
        "availability_zones": ("us-east-1a", "us-east-1b", "us-east-1c"),
        "serving": "eks",
        "retain_data": True,
        "log_retention_days": 365,
        "network": {
            "max_azs": 3,
            "nat_gateways": 3,
            "interface_endpoints": True,
            "flow_logs_retention_days": 365,
        },
        "sagemaker": {
            "variant": "realtime",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 2,
            "min_capacity": 2,
            "max_capacity": 6,
        },
        "eks": {"min_replicas": 2, "max_replicas": 10},
        "registry": {"create": False},
        "retraining": {"batching_window_seconds": 300},
        "cicd": {"deploy_environment": "prod", "bootstrap_qualifier": "mlopsprod"},
        "mlflow": {"enabled": True},
        "observability": {"monthly_budget_usd": 1000},
    },
}
"""Per-environment values over the model defaults (``eks.endpoint_access`` is private in all)."""
