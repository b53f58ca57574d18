"""Configuration: per-environment defaults, context keys, and every validation rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from mlops_cdk.config import ENVIRONMENTS, OFFLINE_ACCOUNT, ConfigError, load_settings
from tests.conftest import CDK_JSON_CONTEXT, ROOT

NO_ENV: dict[str, str] = {}


def errors_for(context: dict | None = None, **overrides) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(context or {"env": "dev"}, NO_ENV, overrides)
    return info.value.errors


def test_default_environment_is_dev_with_offline_account_and_pinned_azs():
    s = load_settings({}, NO_ENV)
    assert s.env_name == "dev"
    assert s.account == OFFLINE_ACCOUNT
    assert s.region == "us-east-1"
    assert s.availability_zones == ("us-east-1a", "us-east-1b")
    assert s.serving == "sagemaker"


@pytest.mark.parametrize(
    ("env", "nat", "azs", "retain", "serving"),
    [
        ("dev", 1, 2, False, "sagemaker"),
        ("staging", 1, 2, False, "eks"),
        ("prod", 3, 3, True, "eks"),
    ],
)
def test_per_environment_differences(env, nat, azs, retain, serving):
    s = load_settings({"env": env}, NO_ENV)
    assert s.network.nat_gateways == nat
    assert s.network.max_azs == azs == len(s.availability_zones)
    assert s.retain_data is retain
    assert s.serving == serving
    assert s.stack_prefix == f"MlopsCdk-{env}"


def test_prod_is_stricter_than_dev():
    dev, prod = load_settings({"env": "dev"}, NO_ENV), load_settings({"env": "prod"}, NO_ENV)
    assert prod.log_retention_days > dev.log_retention_days
    assert prod.network.interface_endpoints and not dev.network.interface_endpoints
    assert prod.eks.endpoint_access == "private"
    assert prod.sagemaker.variant == "realtime" and dev.sagemaker.variant == "serverless"


def test_context_keys_override_the_environment():
    s = load_settings(
        {
            "env": "prod",
            "serving": "sagemaker",
            "image_tag": "abc123-m7",
            "serving_engine": "kserve",
        },
        NO_ENV,
    )
    assert (s.serving, s.image_tag, s.eks.serving_engine) == ("sagemaker", "abc123-m7", "kserve")


def test_account_and_region_from_cdk_default_environment_variables():
    s = load_settings(
        {"env": "prod"}, {"CDK_DEFAULT_ACCOUNT": "210987654321", "CDK_DEFAULT_REGION": "eu-west-1"}
    )
    assert (s.account, s.region) == ("210987654321", "eu-west-1")
    assert s.availability_zones == ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def test_context_beats_environment_variables_and_azs_can_be_pinned():
    s = load_settings(
        {
            "account": "111122223333",
            "region": "eu-central-1",
            "availability_zones": "eu-central-1b,eu-central-1c",
        },
        {"CDK_DEFAULT_ACCOUNT": "210987654321", "CDK_DEFAULT_REGION": "eu-west-1"},
    )
    assert (s.account, s.region) == ("111122223333", "eu-central-1")
    assert s.availability_zones == ("eu-central-1b", "eu-central-1c")


def test_settings_are_frozen():
    s = load_settings({}, NO_ENV)
    with pytest.raises(ValidationError, match="frozen"):
        s.network.nat_gateways = 5  # type: ignore[misc]


INVALID_CONTEXT = [
    ({"env": "qa"}, ["env = 'qa': is not a known environment", "dev, staging, prod"]),
    (
        {"serving": "lambda"},
        ["dev.serving = 'lambda': is not valid", "-c serving=", "eks, sagemaker"],
    ),
    ({"serving_engine": "seldon"}, ["dev.eks.serving_engine = 'seldon'", "deployment, kserve"]),
    (
        {"availability_zones": "us-east-1a,eu-west-1b"},
        ["dev.availability_zones = 'eu-west-1b': is not an availability zone of us-east-1"],
    ),
    ({"account": "12345"}, ["dev.account = '12345': is not a 12-digit AWS account id"]),
    ({"region": "mars-1"}, ["dev.region = 'mars-1': is not an AWS region name"]),
    ({"image_tag": "has space"}, ["dev.image_tag = 'has space': is not a valid image tag"]),
]
"""``(context, expected)``: a context key dev refuses on its own, and the error's fragments."""

INVALID_OVERRIDES = {
    "network": [
        ({"cidr": "10.0.0/16"}, ["dev.network.cidr = '10.0.0/16': not a valid CIDR"]),
        ({"cidr": "10.0.0.0/8"}, ["must be an IPv4 CIDR from /16 to /24"]),
        ({"max_azs": 1, "nat_gateways": 1}, ["dev.network.max_azs = 1: must be 2-6", "at least 2"]),
        ({"max_azs": 3}, ["dev.network.max_azs = 3: but only 2 availability zones"]),
        ({"nat_gateways": 0}, ["dev.network.nat_gateways = 0: must be 1-6"]),
        (
            {"flow_logs_retention_days": 2},
            ["dev.network.flow_logs_retention_days = 2: not a CloudWatch Logs retention"],
        ),
        (
            {"nat": 1},
            ["dev.network.nat = 1: is not a setting; did you mean nat_gateways? valid keys are"],
        ),
        (3, ["dev.network = 3: must be a mapping of NetworkSettings fields"]),
    ],
    "log_retention_days": [
        (45, ["dev.log_retention_days = 45: not a CloudWatch Logs retention"]),
    ],
    "registry": [
        ({"keep_last_images": 0}, ["dev.registry.keep_last_images = 0: must be >= 1"]),
    ],
    "storage": [
        ({"encryption": "none"}, ["dev.storage.encryption = 'none'", "kms, s3"]),
    ],
    "eks": [
        (
            {"kubernetes_version": "1.31"},
            [
                "dev.eks.kubernetes_version = '1.31': cannot be created",
                "1.32, 1.33, 1.34, 1.35, 1.36",
            ],
        ),
        (
            {"min_replicas": 3, "max_replicas": 2},
            ["dev.eks.min_replicas = 3 and max_replicas = 2: need"],
        ),
        (
            {"endpoint_access": "public"},
            ["dev.eks.endpoint_access = 'public'", "public_and_private, private"],
        ),
        (
            {"admin_principal_arns": ["alice"]},
            ["dev.eks.admin_principal_arns[0] = 'alice': not an IAM ARN"],
        ),
        ({"certificate_arn": "cert"}, ["dev.eks.certificate_arn = 'cert': not an ARN"]),
        (
            {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
            [
                "dev.eks.certificate_arn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc': is set but domain_name is not",
                "set domain_name",
            ],
        ),
        (
            {"domain_name": "https://model.example.com"},
            ["dev.eks.domain_name = 'https://model.example.com': not a DNS name"],
        ),
        (
            {"container_insights": "yes"},
            ["dev.eks.container_insights = 'yes': must be true or false"],
        ),
        (
            {"inbound_cidrs": ["1.2.3.4/40"]},
            ["dev.eks.inbound_cidrs[0] = '1.2.3.4/40': not a valid CIDR"],
        ),
        (
            {"namespace": "Model_Serving"},
            ["dev.eks.namespace = 'Model_Serving': not a Kubernetes namespace name"],
        ),
        ({"namespace": "kserve"}, ["dev.eks.namespace = 'kserve': belongs to the cluster"]),
        ({"cpu": "300m"}, ["dev.eks.cpu = '300m': not a Fargate vCPU size", "250m, 500m, 1, 2"]),
        ({"memory": "1G"}, ["dev.eks.memory = '1G': must be a quantity from 512Mi to 120Gi"]),
        ({"memory": "256Mi"}, ["dev.eks.memory = '256Mi': must be a quantity"]),
        ({"memory": "121Gi"}, ["dev.eks.memory = '121Gi': must be a quantity"]),
    ],
    "sagemaker": [
        (
            {"instance_type": "m5.large"},
            ["dev.sagemaker.instance_type = 'm5.large': not a SageMaker instance type"],
        ),
        (
            {"min_capacity": 3, "max_capacity": 2, "initial_instance_count": 2},
            ["dev.sagemaker.min_capacity = 3 and max_capacity = 2: need"],
        ),
        (
            {"initial_instance_count": 5},
            ["dev.sagemaker.initial_instance_count = 5: must lie between"],
        ),
        (
            {"serverless_memory_mb": 1000},
            ["dev.sagemaker.serverless_memory_mb = 1000: must be one of 1024"],
        ),
        (
            {"serverless_max_concurrency": 500},
            ["dev.sagemaker.serverless_max_concurrency = 500: must be 1-200"],
        ),
    ],
    "api": [
        ({"auth": "jwt"}, ["dev.api.auth = 'jwt': needs jwt_issuer and jwt_audience"]),
        ({"auth": "basic"}, ["dev.api.auth = 'basic'", "iam, api_key, jwt"]),
        ({"throttle_rate_limit": 0}, ["dev.api.throttle_rate_limit = 0: must be >= 1"]),
        (
            {"auth": "api_key"},
            ["dev.api.auth = 'api_key': is not supported", "use auth = 'iam' or 'jwt'"],
        ),
        (
            {"auth": "jwt", "jwt_issuer": "http://idp", "jwt_audience": ["a"]},
            ["dev.api.jwt_issuer = 'http://idp': must be an https URL"],
        ),
        (
            {"model_name": "Fraud_Detection"},
            ["dev.api.model_name = 'Fraud_Detection': must be 1-40"],
        ),
        ({"max_request_kb": 0}, ["dev.api.max_request_kb = 0: must be 1-4096"]),
        ({"reserved_concurrency": 0}, ["dev.api.reserved_concurrency = 0: must be 1-1000"]),
    ],
    "retraining": [
        ({"target": "jenkins"}, ["dev.retraining.target = 'jenkins'", "github, sagemaker"]),
        (
            {"github_repository": "no-slash"},
            ["dev.retraining.github_repository = 'no-slash': is not 'owner/name'"],
        ),
        (
            {"github_api_url": "http://ghe"},
            ["dev.retraining.github_api_url = 'http://ghe': must be an https URL"],
        ),
        (
            {"data_prefix": "incoming"},
            ["dev.retraining.data_prefix = 'incoming': must end with '/'"],
        ),
        (
            {"schedule": "0 2 * * *"},
            ["dev.retraining.schedule = '0 2 * * *': is not an EventBridge Scheduler"],
        ),
        (
            {"batching_window_seconds": 600},
            ["dev.retraining.batching_window_seconds = 600: must be 0-300"],
        ),
        ({"batch_size": 20000}, ["dev.retraining.batch_size = 20000: must be 1-10000"]),
        (
            {"batching_window_seconds": 0},
            ["dev.retraining.batch_size = 10000: needs batching_window_seconds >= 1"],
        ),
        (
            {"sagemaker_pipeline_name": "no_underscores"},
            [
                "dev.retraining.sagemaker_pipeline_name = 'no_underscores': is not a SageMaker pipeline name"
            ],
        ),
        (
            {"sagemaker_pipeline_name": "-leading-dash"},
            [
                "dev.retraining.sagemaker_pipeline_name = '-leading-dash': is not a SageMaker pipeline name"
            ],
        ),
        ({"max_receive_count": 0}, ["dev.retraining.max_receive_count = 0: must be 1-1000"]),
    ],
    "cicd": [
        (
            {"existing_oidc_provider_arn": "provider"},
            ["dev.cicd.existing_oidc_provider_arn = 'provider': not an ARN"],
        ),
        (
            {"existing_oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"},
            ["not an ARN of a GitHub OIDC provider"],
        ),
        (
            {"branch": "release/*"},
            ["dev.cicd.branch = 'release/*': is not an exact GitHub branch name"],
        ),
        ({"branch": "/main"}, ["dev.cicd.branch = '/main': is not an exact"]),
        (
            {"deploy_environment": "prod env"},
            [
                "dev.cicd.deploy_environment = 'prod env': is not an exact GitHub deploy environment name"
            ],
        ),
        (
            {"bootstrap_qualifier": "Custom_Q"},
            [
                "dev.cicd.bootstrap_qualifier = 'Custom_Q': is not a cdk bootstrap qualifier",
                "'hnb659fds'",
            ],
        ),
        ({"max_session_minutes": 30}, ["dev.cicd.max_session_minutes = 30: must be 60-720"]),
    ],
    "mlflow": [
        ({"size": "Huge"}, ["dev.mlflow.size = 'Huge'", "Small, Medium, Large"]),
        ({"kind": "instance"}, ["dev.mlflow.kind = 'instance'", "serverless, tracking_server"]),
        (
            {"kind": "serverless", "size": "Small"},
            ["dev.mlflow.size = 'Small': only sizes a tracking server"],
        ),
    ],
    "observability": [
        (
            {"alarm_emails": ["ops"]},
            ["dev.observability.alarm_emails[0] = 'ops': not an email address"],
        ),
        ({"monthly_budget_usd": 0}, ["dev.observability.monthly_budget_usd = 0: must be > 0"]),
        (
            {"error_rate_percent": 0},
            ["dev.observability.error_rate_percent = 0: must be in (0, 100]"],
        ),
        ({"p99_latency_ms": -1}, ["dev.observability.p99_latency_ms = -1: must be > 0"]),
        (
            {"budget_alert_percents": []},
            ["dev.observability.budget_alert_percents = (): needs 1 to 4 percentages"],
        ),
        ({"budget_alert_percents": [50, 80, 90, 100, 120]}, ["needs 1 to 4 percentages"]),
        (
            {"budget_alert_percents": [80, 0]},
            ["dev.observability.budget_alert_percents = (80, 0): needs", "(0, 1000]"],
        ),
        (
            {"alarm_period_minutes": 7},
            ["dev.observability.alarm_period_minutes = 7: is not a period", "1, 5, 10, 15, 30, 60"],
        ),
        (
            {"alarm_datapoints_to_alarm": 4},
            [
                "dev.observability.alarm_datapoints_to_alarm = 4 and alarm_evaluation_periods = 3: need"
            ],
        ),
        (
            {"alarm_datapoints_to_alarm": 0},
            ["dev.observability.alarm_datapoints_to_alarm = 0: must be >= 1"],
        ),
        (
            {"alarm_period_minutes": 60, "alarm_evaluation_periods": 25},
            ["alarm_period_minutes x alarm_evaluation_periods = 1500 minutes: exceeds the one-day"],
        ),
    ],
    "drift": [
        (
            {"capture_percent": 101},
            ["dev.drift.capture_percent = 101: must be 0-100", "0 turns capture off"],
        ),
        ({"capture_percent": -1}, ["dev.drift.capture_percent = -1: must be 0-100"]),
        (
            {"capture_percent": 10},
            [
                "dev.drift.capture_percent = 10: serverless SageMaker endpoints cannot capture data",
                "or sagemaker.variant = 'realtime'",
            ],
        ),
        (
            {"threshold": 0.0},
            ["dev.drift.threshold = 0.0: must be in (0, 10)", "use a PSI of 0.1-0.25"],
        ),
        ({"threshold": 10.0}, ["dev.drift.threshold = 10.0: must be in (0, 10)"]),
        ({"threshold": "0.2"}, ["dev.drift.threshold = '0.2': must be a number"]),
        ({"min_rows": 0}, ["dev.drift.min_rows = 0: must be >= 1"]),
        ({"window_hours": 0}, ["dev.drift.window_hours = 0: must be 1-24"]),
        (
            {"window_hours": 25},
            ["dev.drift.window_hours = 25: must be 1-24", "match it to the schedule"],
        ),
        (
            {"schedule": "hourly"},
            ["dev.drift.schedule = 'hourly': is not an EventBridge Scheduler"],
        ),
        ({"enabled": "yes"}, ["dev.drift.enabled = 'yes': must be true or false"]),
        (
            {"threshold": 0.0, "min_rows": 0},
            ["dev.drift.threshold = 0.0", "dev.drift.min_rows = 0"],
        ),
    ],
}
"""``{setting: [(value, expected)]}``: dev with ``{setting: value}`` overridden."""

INVALID_COMBINATIONS = [
    (
        {"env": "prod"},
        {"network": {"nat_gateways": 4}},
        ["prod.network.nat_gateways = 4: but the VPC spans 3", "between 1 and 3"],
    ),
    (
        {"env": "prod"},
        {"mlflow": {"size": "Medium"}},
        [
            "prod.mlflow.size = 'Medium': only sizes a tracking server, but kind = 'serverless'",
            "set kind = 'tracking_server'",
        ],
    ),
    (
        {"env": "staging", "serving": "sagemaker"},
        {"sagemaker": {"variant": "serverless"}},
        ["staging.drift.capture_percent = 20: serverless SageMaker endpoints cannot capture data"],
    ),
]
"""``(context, overrides, expected)``: another environment or serving path with an override."""


@pytest.mark.parametrize(
    ("context", "overrides", "expected"),
    [
        *((context, {}, expected) for context, expected in INVALID_CONTEXT),
        *(
            ({}, {setting: value}, expected)
            for setting, cases in INVALID_OVERRIDES.items()
            for value, expected in cases
        ),
        *INVALID_COMBINATIONS,
    ],
)
def test_invalid_configuration_names_field_value_and_fix(context, overrides, expected):
    message = "\n".join(errors_for({"env": "dev", **context}, **overrides))
    for fragment in expected:
        assert fragment in message


def test_all_errors_are_reported_together():
    errors = errors_for(
        {"env": "prod", "serving": "k8s"}, network={"cidr": "bad", "nat_gateways": 9}
    )
    assert len(errors) == 3
    assert "Invalid mlops-cdk configuration" in str(ConfigError(errors))


def test_every_environment_is_valid():
    for env in ENVIRONMENTS:
        assert load_settings({"env": env}, NO_ENV).env_name == env


def run_app(context: dict, outdir) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    environ |= {
        "CDK_CONTEXT_JSON": json.dumps({**CDK_JSON_CONTEXT, **context}),
        "CDK_OUTDIR": str(outdir),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_app_reports_invalid_configuration_without_a_traceback(tmp_path):
    result = run_app({"env": "prod", "serving": "lambda"}, tmp_path)
    assert result.returncode == 1
    assert "prod.serving = 'lambda': is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def test_mlflow_is_serverless_by_default_and_a_tracking_server_takes_a_size():
    prod = load_settings({"env": "prod"})
    assert (prod.mlflow.enabled, prod.mlflow.kind) == (True, "serverless")
    server = load_settings(
        {"env": "prod"}, {}, {"mlflow": {"kind": "tracking_server", "size": "Large"}}
    ).mlflow
    assert (server.kind, server.size) == ("tracking_server", "Large")
    assert load_settings({}, {}, {"mlflow": {"kind": "tracking_server"}}).mlflow.size == "Small"


def test_retraining_pipeline_name_follows_the_convention_unless_configured():
    assert (
        load_settings({"env": "prod"}, NO_ENV).retraining_pipeline_name == "mlopscdk-prod-retrain"
    )
    custom = load_settings(
        {"env": "dev"}, NO_ENV, {"retraining": {"sagemaker_pipeline_name": "Fraud-Retrain"}}
    )
    assert custom.retraining_pipeline_name == "Fraud-Retrain"


def test_capture_follows_the_serving_path():
    dev = load_settings({"env": "dev"}, NO_ENV)
    assert dev.drift.capture_percent == 0 and dev.drift.enabled
    # The serverless rule applies to the SageMaker path only: dev on EKS may capture.
    eks = load_settings(
        {"env": "dev", "serving": "eks"}, NO_ENV, {"drift": {"capture_percent": 20}}
    )
    assert eks.drift.capture_percent == 20
    prod = load_settings({"env": "prod", "serving": "sagemaker"}, NO_ENV)
    assert prod.drift.capture_percent == 20 and prod.sagemaker.variant == "realtime"
    assert (prod.drift.threshold, prod.drift.min_rows, prod.drift.window_hours) == (0.2, 200, 1)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"cicd": {"bootstrap_qualifier": "mlopsstaging"}},
            "dev.cicd.bootstrap_qualifier = 'mlopsstaging': is not a cdk bootstrap qualifier (1-10",
        ),
        (
            {"cicd": {"bootstrap_qualifier": "MlopsDev"}},
            "dev.cicd.bootstrap_qualifier = 'MlopsDev': is not a cdk bootstrap qualifier",
        ),
        (
            {"cicd": {"bootstrap_qualifier": ""}},
            "dev.cicd.bootstrap_qualifier = '': is not a cdk bootstrap qualifier",
        ),
        (
            {"cicd": {"permissions_boundary": "yes"}},
            "dev.cicd.permissions_boundary = 'yes': must be true or false",
        ),
    ],
)
def test_invalid_bootstrap_settings_name_field_value_and_fix(overrides, expected):
    assert expected in "\n".join(errors_for({"env": "dev"}, **overrides))


def test_each_environment_has_its_own_valid_bootstrap_qualifier_and_a_boundary():
    settings = [load_settings({"env": env}, NO_ENV).cicd for env in ENVIRONMENTS]
    qualifiers = [cicd.bootstrap_qualifier for cicd in settings]
    assert qualifiers == ["mlopsdev", "mlopsstg", "mlopsprod"]
    assert all(cicd.permissions_boundary for cicd in settings)
