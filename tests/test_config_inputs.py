"""Configuration inputs: wrong types, junk, CDK context strings, and the rules added with pydantic."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from pydantic import BaseModel

from mlops_cdk.config import (
    CONTEXT_FIELDS,
    ENVIRONMENTS,
    LOG_RETENTION,
    ConfigError,
    Settings,
    load_settings,
    parse_context_value,
    settings_from_dict,
)
from mlops_cdk.platform import CONTEXT_KEYS, settings_from_app
from mlops_cdk.stacks._common import retention

NO_ENV: dict[str, str] = {}
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
WAF = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/acl/1"
OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def errors_for(context: dict | None = None, **overrides) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(context or {"env": "dev"}, NO_ENV, overrides=overrides)
    return info.value.errors


@pytest.mark.parametrize(
    ("context", "overrides", "expected"),
    [
        (
            {"env": "prod"},
            {"network": {"nat_gateways": "2"}},
            "prod.network.nat_gateways = '2': must be a whole number, not str; write 2 without quotes",
        ),
        ({}, {"retain_data": "false"}, "dev.retain_data = 'false': must be true or false"),
        (
            {},
            {"observability": {"alarm_emails": "a@b.c"}},
            "dev.observability.alarm_emails = 'a@b.c': must be a list, not str; write a list, e.g. ['a@b.c']",
        ),
        (
            {},
            {"api": {"max_request_kb": 64.5}},
            "dev.api.max_request_kb = 64.5: must be a whole number, not float",
        ),
        (
            {},
            {"eks": {"min_replicas": True}},
            "dev.eks.min_replicas = True: must be a whole number, not bool",
        ),
        (
            {},
            {"eks": {"inbound_cidrs": "10.0.0.0/8"}},
            "dev.eks.inbound_cidrs = '10.0.0.0/8': must be a list",
        ),
        (
            {},
            {"sagemaker": {"max_capcity": 3}},
            "dev.sagemaker.max_capcity = 3: is not a setting; did you mean max_capacity?",
        ),
        ({}, {"eks": None}, "dev.eks = None: must be a mapping of EksSettings fields"),
        ({}, {"api": [1, 2]}, "dev.api = [1, 2]: must be a mapping of ApiSettings fields"),
        (
            {},
            {"observability": {"budget_alert_percents": ["80"]}},
            "dev.observability.budget_alert_percents[0] = '80': must be a whole number",
        ),
        ({}, {"image_tag": None}, "dev.image_tag = None: must be a string, not null"),
    ],
)
def test_wrong_types_name_the_field_and_are_never_coerced(context, overrides, expected):
    errors = errors_for({"env": "dev", **context}, **overrides)
    assert errors == [expected] or expected in errors[0]
    assert len(errors) == 1


def test_a_long_value_is_cut_in_the_message():
    (error,) = errors_for(eks={"namespace": "x" * 500})
    assert error.startswith("dev.eks.namespace = 'xxxx")
    assert "...:" in error and len(error) < 400


JUNK = (None, True, 0, -1, 1.5, "", "x" * 300, [], [None], [{"a": 1}], {}, {"a": [1, {}]})


def _field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()):
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            yield (*prefix, name)
            yield from _field_paths(info.annotation, (*prefix, name))
        elif name != "env_name":
            yield (*prefix, name)


def _nest(path: tuple[str, ...], value):
    for name in reversed(path):
        value = {name: value}
    return value


@pytest.mark.parametrize("path", list(_field_paths(Settings)), ids=".".join)
def test_any_json_value_in_any_field_is_a_config_error_naming_it(path):
    for junk in JUNK:
        try:
            load_settings({"env": "prod"}, NO_ENV, overrides=_nest(path, junk))
        except ConfigError as exc:
            assert exc.errors, junk
            assert all(line.startswith("prod") for line in exc.errors), exc.errors
            assert any(path[-1] in line for line in exc.errors), (junk, exc.errors)


@pytest.mark.parametrize("overrides", [[], "network", 3, [{"network": {}}]])
def test_overrides_that_are_not_a_mapping_are_a_config_error(overrides):
    with pytest.raises(ConfigError, match=r"overrides .* must be a mapping"):
        load_settings({"env": "dev"}, NO_ENV, overrides=overrides)


@pytest.mark.parametrize("values", [None, [], "dev", {"env_name": 3}, {"nonsense": {}}])
def test_settings_from_dict_reports_junk_as_config_errors(values):
    with pytest.raises(ConfigError) as info:
        settings_from_dict(values)
    assert info.value.errors


@pytest.mark.parametrize("env", [{"env": 3}, {"env": ["prod"]}, {"env": "Prod"}])
def test_an_unknown_environment_names_the_valid_ones(env):
    with pytest.raises(ConfigError, match="dev, staging, prod"):
        load_settings(env, NO_ENV)


def test_overrides_are_deep_merged_over_the_environment():
    settings = load_settings(
        {"env": "prod"}, NO_ENV, overrides={"network": {"cidr": "10.1.0.0/16"}}
    )
    assert settings.network.cidr == "10.1.0.0/16"
    assert settings.network.nat_gateways == ENVIRONMENTS["prod"]["network"]["nat_gateways"]
    assert ENVIRONMENTS["prod"]["network"].get("cidr") is None  # the table is never mutated


@pytest.mark.parametrize(("text", "expected"), [("false", False), ("true", True), ("FALSE", False)])
def test_boolean_context_strings_are_parsed(text, expected):
    assert load_settings({"env": "prod", "retain_data": text}, NO_ENV).retain_data is expected


def test_a_boolean_context_string_that_is_not_true_or_false_is_an_error():
    with pytest.raises(ConfigError, match=r"dev.retain_data = 'no': must be true or false"):
        load_settings({"retain_data": "no"}, NO_ENV)


def test_new_context_keys_set_their_fields():
    arns = "arn:aws:iam::123456789012:role/Admin, arn:aws:iam::123456789012:user/ops"
    settings = load_settings(
        {
            "env": "dev",
            "front_door": "public_alb",
            "admin_principal_arns": arns,
            "github_repository": "acme/fraud",
            "github_oidc_provider_arn": OIDC,
        },
        NO_ENV,
        overrides={"eks": {"certificate_arn": CERT, "domain_name": "model.example.com"}},
    )
    assert settings.eks.front_door == "public_alb"
    assert settings.eks.admin_principal_arns == (
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws:iam::123456789012:user/ops",
    )
    assert settings.retraining.github_repository == "acme/fraud"
    assert settings.cicd.existing_oidc_provider_arn == OIDC


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "front_door",
            "alb",
            "dev.eks.front_door = 'alb': is not valid; choose one of api, public_alb",
        ),
        (
            "admin_principal_arns",
            "alice,bob",
            "dev.eks.admin_principal_arns[0] = 'alice': not an IAM ARN",
        ),
        (
            "github_repository",
            "acme",
            "dev.retraining.github_repository = 'acme': is not 'owner/name'",
        ),
        (
            "github_oidc_provider_arn",
            "arn:aws:iam::1:x",
            "dev.cicd.existing_oidc_provider_arn = 'arn:aws:iam::1:x': not an ARN of a GitHub OIDC provider",
        ),
    ],
)
def test_new_context_keys_are_validated(key, value, expected):
    errors = errors_for({"env": "dev", key: value})
    assert any(expected in error for error in errors), errors


def test_the_app_reads_every_context_key_the_loader_knows():
    assert set(CONTEXT_KEYS) == {"env", "account", "region", *CONTEXT_FIELDS}
    app = cdk.App(
        context={
            "env": "staging",
            "front_door": "api",
            "admin_principal_arns": "arn:aws:iam::123456789012:role/Admin",
            "github_repository": "acme/fraud",
            "github_oidc_provider_arn": OIDC,
            "retain_data": "true",
        }
    )
    settings = settings_from_app(app)
    assert settings.eks.admin_principal_arns == ("arn:aws:iam::123456789012:role/Admin",)
    assert settings.retraining.github_repository == "acme/fraud"
    assert settings.cicd.existing_oidc_provider_arn == OIDC
    assert settings.retain_data is True


@pytest.mark.parametrize(
    ("env", "eks", "expected"),
    [
        (
            "dev",
            {"front_door": "public_alb"},
            "dev.eks.front_door = 'public_alb': puts the model's load balancer on the internet and needs certificate_arn, domain_name; set certificate_arn",
        ),
        (
            "dev",
            {"front_door": "public_alb", "certificate_arn": CERT},
            "front_door = 'public_alb': puts the model's load balancer on the internet and needs domain_name;",
        ),
        (
            "prod",
            {"front_door": "public_alb", "certificate_arn": CERT, "domain_name": "m.example.com"},
            "prod.eks.front_door = 'public_alb': puts the model's load balancer on the internet and needs waf_acl_arn or inbound_cidrs (restricted);",
        ),
        (
            "prod",
            {
                "front_door": "public_alb",
                "certificate_arn": CERT,
                "domain_name": "m.example.com",
                "inbound_cidrs": ["10.0.0.0/8", "::/0"],
            },
            "and needs waf_acl_arn or inbound_cidrs (restricted); set certificate_arn",
        ),
        (
            "dev",
            {"endpoint_access": "public_and_private"},
            "dev.eks.endpoint_access = 'public_and_private': needs public_access_cidrs",
        ),
        (
            "dev",
            {"public_access_cidrs": ["203.0.113.0/24"]},
            "dev.eks.public_access_cidrs = ('203.0.113.0/24',): only applies to a public endpoint",
        ),
        (
            "dev",
            {"endpoint_access": "public_and_private", "public_access_cidrs": ["203.0.113.0/33"]},
            "dev.eks.public_access_cidrs[0] = '203.0.113.0/33': not a valid CIDR",
        ),
    ],
)
def test_front_door_and_endpoint_rules(env, eks, expected):
    errors = errors_for({"env": env}, eks=eks)
    assert len(errors) == 1
    assert expected in errors[0]


@pytest.mark.parametrize(
    "eks",
    [
        {
            "front_door": "public_alb",
            "certificate_arn": CERT,
            "domain_name": "m.example.com",
            "waf_acl_arn": WAF,
        },
        {
            "front_door": "public_alb",
            "certificate_arn": CERT,
            "domain_name": "m.example.com",
            "inbound_cidrs": ["203.0.113.0/24"],
        },
        {"endpoint_access": "public_and_private", "public_access_cidrs": ["203.0.113.0/24"]},
    ],
)
def test_a_protected_public_front_door_and_a_limited_public_endpoint_are_valid_in_prod(eks):
    settings = load_settings({"env": "prod"}, NO_ENV, overrides={"eks": eks})
    assert settings.eks.model_dump(include=set(eks)) == {
        key: tuple(value) if isinstance(value, list) else value for key, value in eks.items()
    }


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            {"domain_name": "api.example.com"},
            "dev.api.domain_name = 'api.example.com' and certificate_arn = None: a custom domain needs both",
        ),
        ({"certificate_arn": CERT}, "a custom domain needs both; set both or neither"),
        (
            {
                "domain_name": "api.example.com",
                "certificate_arn": CERT.replace("us-east-1", "eu-west-1"),
            },
            "dev.api.certificate_arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc': is not an ACM certificate in us-east-1",
        ),
        (
            {"throttle_rate_limit": 100, "throttle_burst_limit": 50},
            "dev.api.throttle_burst_limit = 50: is below throttle_rate_limit = 100; set burst >= rate",
        ),
        ({"reserved_concurrency": 1001}, "dev.api.reserved_concurrency = 1001: must be 1-1000"),
    ],
)
def test_api_rules(api, expected):
    errors = errors_for(api=api)
    assert any(expected in error for error in errors), errors


def test_api_custom_domain_and_reservations_are_opt_in():
    default = load_settings({"env": "prod"}, NO_ENV)
    assert (default.api.reserved_concurrency, default.retraining.reserved_concurrency) == (
        None,
        None,
    )
    assert (default.api.domain_name, default.api.certificate_arn) == (None, None)
    custom = load_settings(
        {"env": "prod"},
        NO_ENV,
        overrides={
            "api": {
                "domain_name": "api.example.com",
                "certificate_arn": CERT,
                "reserved_concurrency": 5,
            },
            "retraining": {"reserved_concurrency": 1},
        },
    )
    assert (custom.api.reserved_concurrency, custom.retraining.reserved_concurrency) == (5, 1)


def test_retraining_reserved_concurrency_is_at_least_one():
    assert "dev.retraining.reserved_concurrency = 0: must be 1-1000" in errors_for(
        retraining={"reserved_concurrency": 0}
    )


def test_every_field_is_documented():
    for path in _field_paths(Settings):
        model: type[BaseModel] = Settings
        for name in path[:-1]:
            model = model.model_fields[name].annotation
        assert model.model_fields[path[-1]].description, ".".join(path)
    assert Settings.model_fields["env_name"].description


def test_one_log_retention_table_maps_days_to_retention_days():
    stack = cdk.Stack()
    for days in LOG_RETENTION:
        logs.LogGroup(stack, f"Group{days}", retention=retention(days))
    groups = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    assert sorted(group["Properties"]["RetentionInDays"] for group in groups.values()) == sorted(
        LOG_RETENTION
    )


@pytest.mark.parametrize("key", CONTEXT_KEYS)
def test_any_json_value_for_a_context_key_is_a_config_error_or_valid(key):
    for junk in (*JUNK, "a,,b", " , ", "12"):
        try:
            load_settings({"env": "prod", key: junk} if key != "env" else {key: junk}, NO_ENV)
        except ConfigError as exc:
            assert exc.errors, junk


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        ("3", ("network", "nat_gateways"), 3),
        ("3", ("image_tag",), "3"),
        ("-1", ("network", "nat_gateways"), "-1"),
        ("true", ("eks", "container_insights"), True),
        ("true", ("serving",), "true"),
        ("a, b,", ("availability_zones",), ("a", "b")),
        ("a,b", ("retraining", "github_repository"), "a,b"),
        (["a"], ("availability_zones",), ["a"]),
    ],
)
def test_context_strings_are_parsed_only_for_the_type_of_their_field(value, path, expected):
    assert parse_context_value(value, path) == expected
