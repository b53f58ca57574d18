"""Challenger and champion (issue 17) and a gate that always compares (issue 19).

The gate names a ``challenger``; ``promote`` moves ``champion`` (after the prod deploy) and
``rollback`` moves it back, in a real SQLite MLflow registry and in a moto S3 artifacts bucket.
"""

import json
import logging
from datetime import UTC, datetime

import boto3
import mlflow
import pytest
from fraud_model import promotion, tracking, train
from fraud_model.gate import GateConfig
from fraud_model.promotion import (
    CHAMPION_RECORD_KEY,
    PREVIOUS_CHAMPION_ALIAS,
    PromotionError,
    promote,
    rollback,
)
from fraud_model.schema import CHALLENGER_ALIAS, CHAMPION_ALIAS, METRICS_FILE, MODEL_NAME
from fraud_model.train import TrainConfig
from moto import mock_aws

SMALL = TrainConfig(n_samples=6_000, max_iter=40)
WORSE = TrainConfig(n_samples=6_000, max_iter=1, max_leaf_nodes=2)
ANY_MODEL = GateConfig(min_roc_auc=0.0, min_pr_auc=0.0, max_regression=1.0)
"""Passes every candidate: the registry tests need versions, not a verdict."""
NO_MINIMUMS = GateConfig(min_roc_auc=0.0, min_pr_auc=0.0)
"""Only the comparison with the champion can refuse a candidate."""
BUCKET = "artifacts"
WHEN = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


def _alias(client: mlflow.MlflowClient, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(MODEL_NAME, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A fresh SQLite registry with versions 1 and 2 (both passed the gate) and 3 (refused)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('promotion') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.delenv("ARTIFACTS_BUCKET", raising=False)
        out = tmp_path_factory.mktemp("promotion-artifacts")
        first = train.train(SMALL, ANY_MODEL, out)
        second = train.train(SMALL, ANY_MODEL, out)
        refused = train.train(SMALL, GateConfig(min_pr_auc=0.999), out)
    assert (first.gate.passed, second.gate.passed, refused.gate.passed) == (True, True, False)
    assert [first.version, second.version, refused.version] == ["1", "2", "3"]
    return uri


def test_the_gate_names_a_challenger_and_leaves_champion_alone(registry):
    client = mlflow.MlflowClient(tracking_uri=registry)
    assert _alias(client, CHALLENGER_ALIAS) == "2"
    assert _alias(client, CHAMPION_ALIAS) is None


def test_promote_and_rollback_move_champion_both_ways(registry, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    monkeypatch.delenv("ARTIFACTS_BUCKET", raising=False)
    client = mlflow.MlflowClient(tracking_uri=registry)
    promote("1", "aaaaaaa-m1", now=WHEN)
    assert _alias(client, CHAMPION_ALIAS) == "1"
    assert _alias(client, PREVIOUS_CHAMPION_ALIAS) is None
    tags = client.get_model_version(MODEL_NAME, "1").tags
    assert tags["image_tag"] == "aaaaaaa-m1"
    assert tags["promoted_at"] == "2026-12-04T17:00:00+00:00"

    assert promotion.main(["promote", "--model-version", "2", "--image-tag", "bbbbbbb-m2"]) == 0
    assert (_alias(client, CHAMPION_ALIAS), _alias(client, PREVIOUS_CHAMPION_ALIAS)) == ("2", "1")
    assert client.get_model_version(MODEL_NAME, "2").tags["previous_champion"] == "1"

    assert promotion.main(["rollback"]) == 0
    assert "redeploy image tag aaaaaaa-m1" in capsys.readouterr().out
    assert (_alias(client, CHAMPION_ALIAS), _alias(client, PREVIOUS_CHAMPION_ALIAS)) == ("1", None)

    assert promotion.main(["rollback"]) == 1
    assert "no previous champion" in capsys.readouterr().err
    assert _alias(client, CHAMPION_ALIAS) == "1"


def test_promote_refuses_a_version_the_gate_refused_or_that_does_not_exist(registry, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    monkeypatch.delenv("ARTIFACTS_BUCKET", raising=False)
    with pytest.raises(PromotionError, match="version 3 of fraud-detection did not pass"):
        promote("3", "ccccccc-m3")
    with pytest.raises(PromotionError, match="version 99 of fraud-detection is not in the MLflow"):
        promote("99", "ccccccc-m99")
    assert _alias(mlflow.MlflowClient(tracking_uri=registry), CHAMPION_ALIAS) != "3"


@pytest.mark.parametrize(
    ("model_version", "image_tag", "fragments"),
    [
        ("01", "abc", ["MODEL_VERSION = '01': is not a model version"]),
        ("1; rm -rf /", "abc", ["MODEL_VERSION = '1; rm -rf /'"]),
        ("", "abc", ["MODEL_VERSION = ''"]),
        ("1", "-bad", ["IMAGE_TAG = '-bad': is not an image tag"]),
        ("1", "$(id)", ["IMAGE_TAG = '$(id)'"]),
        ("1", "x" * 129, ["is not an image tag"]),
        ("v1", "a b", ["MODEL_VERSION = 'v1'", "IMAGE_TAG = 'a b'"]),
    ],
)
def test_bad_model_versions_and_image_tags_are_refused_before_any_use(
    model_version, image_tag, fragments, monkeypatch, tmp_path
):
    # An unreachable store: validation must fail before anything touches the registry.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'never' / 'created.db'}")
    with pytest.raises(PromotionError) as raised:
        promote(model_version, image_tag)
    for fragment in fragments:
        assert fragment in str(raised.value)
    assert not (tmp_path / "never").exists()


# -- No tracking server: the champion lives in the artifacts bucket (issue 19) ----------------


@pytest.fixture
def bucket_without_tracking_server(moto_credentials, monkeypatch, tmp_path):
    """moto S3 with the artifacts bucket; no MLFLOW_TRACKING_URI, a fresh local store."""
    monkeypatch.setenv("ARTIFACTS_BUCKET", BUCKET)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(tracking, "LOCAL_STORE", tmp_path / "local-store")
    (tmp_path / "local-store").mkdir()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3


def _publish_release(s3, release: str, metadata: dict) -> None:
    """What retrain.yml uploads next to model.tar.gz."""
    key = f"models/{MODEL_NAME}/{release}/{METRICS_FILE}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(metadata).encode())


def _champion_record(s3) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=CHAMPION_RECORD_KEY)["Body"].read())


def test_a_worse_candidate_is_refused_with_no_tracking_server(
    bucket_without_tracking_server, tmp_path, caplog, monkeypatch
):
    s3 = bucket_without_tracking_server
    caplog.set_level(logging.INFO)
    # The first model ever: nothing to compare with, and the log says so.
    first = train.train(SMALL, NO_MINIMUMS, tmp_path / "first")
    assert first.gate.passed
    assert "this is the first model" in caplog.text
    metadata = json.loads((tmp_path / "first" / METRICS_FILE).read_text())
    _publish_release(s3, "41", metadata)
    promote("41", "aaaaaaa-m41", bucket=BUCKET)
    record = _champion_record(s3)
    assert record["metrics"] == first.metrics and record["image_tag"] == "aaaaaaa-m41"
    assert record["previous"] is None

    # The next run starts from another empty local registry, as a fresh CI runner does (MLflow
    # exported the local store's URI to the environment: a new process would not have it).
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setattr(tracking, "LOCAL_STORE", tmp_path / "next-runner")
    tracking.LOCAL_STORE.mkdir()
    caplog.clear()
    worse = train.train(WORSE, NO_MINIMUMS, tmp_path / "worse")
    assert not worse.gate.passed
    (reason,) = worse.gate.reasons
    assert f"is worse than the champion's {first.metrics['pr_auc']:.4f}" in reason
    assert f"as recorded at its promotion (s3://{BUCKET}/{CHAMPION_RECORD_KEY})" in reason
    assert "first model" not in caplog.text
    assert not (tmp_path / "worse").exists()


def test_without_a_record_the_same_candidate_passes(bucket_without_tracking_server, tmp_path):
    """The control for the test above: the refusal came from the recorded champion."""
    assert train.train(WORSE, NO_MINIMUMS, tmp_path / "out").gate.passed


def test_promote_and_rollback_in_the_bucket_keep_the_history(bucket_without_tracking_server):
    s3 = bucket_without_tracking_server
    metrics = {"roc_auc": 0.95, "pr_auc": 0.8}
    for release in ("7", "8"):
        _publish_release(s3, release, {"model_version": "1", "run_id": "r", "metrics": metrics})
        promote(release, f"abcdef0-m{release}", bucket=BUCKET)
    record = _champion_record(s3)
    assert (record["release"], record["previous"]["release"]) == ("8", "7")
    assert rollback(bucket=BUCKET) == "abcdef0-m7"
    assert _champion_record(s3)["release"] == "7"
    with pytest.raises(PromotionError, match="nothing to roll back to"):
        rollback(bucket=BUCKET)


def test_promote_refuses_a_release_that_was_never_published(bucket_without_tracking_server):
    with pytest.raises(PromotionError, match=r"models/fraud-detection/9/metrics.json does not"):
        promote("9", "abcdef0-m9", bucket=BUCKET)
    with pytest.raises(bucket_without_tracking_server.exceptions.NoSuchKey):
        bucket_without_tracking_server.get_object(Bucket=BUCKET, Key=CHAMPION_RECORD_KEY)
