"""The shared registry and image-digest settings: defaults per environment and validation."""

from __future__ import annotations

import pytest

from mlops_cdk.config import ConfigError, load_settings

DIGEST = "sha256:" + "ab" * 32
NO_ENV: dict[str, str] = {}


def test_dev_creates_the_account_repository_and_the_others_import_it():
    created = {
        env: load_settings({"env": env}, NO_ENV).registry.create
        for env in ("dev", "staging", "prod")
    }
    assert created == {"dev": True, "staging": False, "prod": False}
    names = {load_settings({"env": env}, NO_ENV).registry.repository_name for env in created}
    assert names == {"mlops-cdk/model-server"}


def test_a_digest_from_context_is_kept():
    assert load_settings({"env": "prod", "image_digest": DIGEST}, NO_ENV).image_digest == DIGEST
    assert load_settings({"env": "prod"}, NO_ENV).image_digest is None


@pytest.mark.parametrize(
    "digest",
    [
        "ab" * 32,  # no algorithm
        "sha256:" + "AB" * 32,  # ECR digests are lowercase
        "sha256:" + "ab" * 31,  # too short
        "sha512:" + "ab" * 64,  # not what ECR computes
        "sha256:" + "ab" * 32 + "\n",
        "abc1234-m7",  # a tag where the digest belongs
    ],
)
def test_a_malformed_digest_fails_naming_the_field_and_the_fix(digest):
    with pytest.raises(ConfigError) as raised:
        load_settings({"env": "dev", "image_digest": digest}, NO_ENV)
    (message,) = raised.value.errors
    assert message.startswith("dev.image_digest = ")
    assert "sha256:<64 lowercase hex digits>" in message and "make image-digest" in message


@pytest.mark.parametrize(
    "name", ["Mlops/Model", "-model", "model/", "a", "model//server", "x" * 257]
)
def test_a_malformed_repository_name_fails(name):
    with pytest.raises(ConfigError) as raised:
        load_settings({"env": "dev"}, NO_ENV, overrides={"registry": {"repository_name": name}})
    (message,) = raised.value.errors
    assert message.startswith("dev.registry.repository_name = ")
    assert "e.g. mlops-cdk/model-server" in message


def test_create_must_be_a_boolean():
    with pytest.raises(ConfigError) as raised:
        load_settings({"env": "dev"}, NO_ENV, overrides={"registry": {"create": "no"}})
    assert raised.value.errors[0].startswith("dev.registry.create = 'no'")
