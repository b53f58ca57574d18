"""Challenger and champion: promote a release to champion after the prod deploy, or roll back.

The evaluation gate only names a ``challenger``; ``champion`` is what prod serves, so it moves
here, once prod is deployed and smoke-tested::

    python -m fraud_model.promotion promote --model-version 12 --image-tag 1a2b3c4-m12
    python -m fraud_model.promotion rollback

A promotion is recorded in two places, each when it exists:

- the MLflow registry (``MLFLOW_TRACKING_URI``, else the local store): the ``champion`` alias
  moves to the version, the old champion becomes ``previous-champion``, and the version is
  tagged with its ``image_tag``, ``promoted_at`` and ``previous_champion``;
- the artifacts bucket (``ARTIFACTS_BUCKET``): ``models/fraud-detection/champion/metrics.json``,
  the champion's recorded metrics (with the champion before it nested as ``previous``), which
  the gate compares candidates with when there is no tracking server.

``MODEL_VERSION`` names the release: with ``ARTIFACTS_BUCKET``, the folder
``models/fraud-detection/<version>/`` where retrain.yml uploaded the model and its
``metrics.json`` (which names the registry version it was registered as); without it, the
registry version itself.
"""

import argparse
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

import mlflow

from fraud_model.schema import CHAMPION_ALIAS, METRICS_FILE, MODEL_NAME
from fraud_model.tracking import configure_tracking, local_store_uri

LOG = logging.getLogger(__name__)

PREVIOUS_CHAMPION_ALIAS = "previous-champion"
"""Registry alias of the champion before the current one: where ``rollback`` goes back to."""

MODEL_VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,9}")
IMAGE_TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""ECR's tag rule, as ``Settings.image_tag`` checks it."""

RELEASES_PREFIX = f"models/{MODEL_NAME}"
"""Where retrain.yml uploads ``<version>/model.tar.gz`` and ``<version>/metrics.json``."""
CHAMPION_RECORD_KEY = f"{RELEASES_PREFIX}/champion/{METRICS_FILE}"
"""The champion's recorded metrics, written by ``promote`` and read by the gate."""
HISTORY_DEPTH = 10
"""Champions kept in the record's ``previous`` chain (so rollback can step back that far)."""

RECORDED_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall")


class PromotionError(Exception):
    """A promotion or rollback that cannot be done; the message says why and what to do."""


def check_inputs(model_version: str, image_tag: str) -> None:
    """Refuse a model version or image tag that does not match its pattern, naming both."""
    problems = []
    if not MODEL_VERSION_PATTERN.fullmatch(model_version):
        problems.append(
            f"MODEL_VERSION = {model_version!r}: is not a model version; use the number "
            "retrain.yml gave the release (1-10 digits, no leading zero), e.g. 12"
        )
    if not IMAGE_TAG_PATTERN.fullmatch(image_tag):
        problems.append(
            f"IMAGE_TAG = {image_tag!r}: is not an image tag; use letters, digits, '_', '.', "
            "'-' (max 128, not starting with '.' or '-'), e.g. 1a2b3c4-m12"
        )
    if problems:
        raise PromotionError("; ".join(problems))


def _s3_client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    import boto3

    return boto3.client("s3")


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The JSON object at ``s3://bucket/key``; None when there is no such key.

    Any other error (access denied, no such bucket) propagates: a comparison that silently did
    not happen would let a worse model through.
    """
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def read_champion_record(bucket: str, s3: Any = None) -> dict[str, Any] | None:
    """The champion's record in the artifacts bucket, or None before the first promotion."""
    return read_json(_s3_client(s3), bucket, CHAMPION_RECORD_KEY)


def _write_champion_record(s3: Any, bucket: str, record: dict[str, Any]) -> None:
    body = json.dumps(record, indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=bucket, Key=CHAMPION_RECORD_KEY, Body=body)


def _registry_version(client: mlflow.MlflowClient, version: str) -> Any:
    try:
        return client.get_model_version(MODEL_NAME, version)
    except mlflow.exceptions.MlflowException:
        return None


def _alias_version(client: mlflow.MlflowClient, alias: str) -> Any:
    try:
        return client.get_model_version_by_alias(MODEL_NAME, alias)
    except mlflow.exceptions.MlflowException:
        return None


def _trimmed(record: dict[str, Any] | None, depth: int = HISTORY_DEPTH) -> dict[str, Any] | None:
    if record is None or depth == 0:
        return None
    return {**record, "previous": _trimmed(record.get("previous"), depth - 1)}


def _release(
    client: mlflow.MlflowClient,
    model_version: str,
    bucket: str | None,
    s3: Any,
    tracking_server: bool,
) -> tuple[Any, dict[str, Any]]:
    """The registry version to alias (or None) and the release's metadata."""
    release = None
    if bucket is not None:
        key = f"{RELEASES_PREFIX}/{model_version}/{METRICS_FILE}"
        release = read_json(s3, bucket, key)
        if release is None:
            raise PromotionError(
                f"s3://{bucket}/{key} does not exist: MODEL_VERSION must be a release retrain.yml "
                "published (it uploads metrics.json next to model.tar.gz)"
            )
    registry_version = str(release["model_version"]) if release else model_version
    version = _registry_version(client, registry_version)
    if version is None:
        if release is None or tracking_server:
            raise PromotionError(
                f"version {registry_version} of {MODEL_NAME} is not in the MLflow registry at "
                f"{mlflow.get_tracking_uri()}; promote a version the gate passed"
            )
        LOG.info("no tracking server: the champion is recorded in the artifacts bucket only")
        return None, release
    if version.tags.get("gate") != "passed":
        raise PromotionError(
            f"version {registry_version} of {MODEL_NAME} did not pass the evaluation gate "
            f"(gate = {version.tags.get('gate')!r}); only a challenger can become champion"
        )
    if release and release.get("run_id") not in (None, version.run_id):
        raise PromotionError(
            f"release {model_version} was trained in run {release['run_id']}, but registry "
            f"version {registry_version} comes from run {version.run_id}: they are not the same "
            "model; check MLFLOW_TRACKING_URI and ARTIFACTS_BUCKET"
        )
    run_metrics = client.get_run(version.run_id).data.metrics
    metadata = release or {
        "model_name": MODEL_NAME,
        "model_version": registry_version,
        "run_id": version.run_id,
        "metrics": {name: run_metrics[name] for name in RECORDED_METRICS if name in run_metrics},
    }
    return version, metadata


def promote(
    model_version: str,
    image_tag: str,
    *,
    bucket: str | None = None,
    s3: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Make ``model_version`` the champion, deployed as ``image_tag``; return its record.

    Raises:
        PromotionError: Bad inputs, an unknown release or version, or one the gate refused.
    """
    check_inputs(model_version, image_tag)
    tracking_server = configure_tracking() != local_store_uri()
    client = mlflow.MlflowClient()
    s3 = _s3_client(s3) if bucket is not None else None
    version, metadata = _release(client, model_version, bucket, s3, tracking_server)
    promoted_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    previous = read_champion_record(bucket, s3) if bucket is not None else None
    record = {
        **metadata,
        "release": model_version,
        "image_tag": image_tag,
        "promoted_at": promoted_at,
        "previous": _trimmed(previous),
    }
    if version is not None:
        _move_aliases(client, version, image_tag, promoted_at)
    if bucket is not None:
        _write_champion_record(s3, bucket, record)
        LOG.info("recorded the champion at s3://%s/%s", bucket, CHAMPION_RECORD_KEY)
    LOG.info("release %s (image %s) is now %r", model_version, image_tag, CHAMPION_ALIAS)
    return record


def _move_aliases(
    client: mlflow.MlflowClient, version: Any, image_tag: str, promoted_at: str
) -> None:
    name, number = MODEL_NAME, str(version.version)
    old = _alias_version(client, CHAMPION_ALIAS)
    client.set_model_version_tag(name, number, "image_tag", image_tag)
    client.set_model_version_tag(name, number, "promoted_at", promoted_at)
    if old is not None and str(old.version) != number:
        client.set_model_version_tag(name, number, "previous_champion", str(old.version))
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION_ALIAS, str(old.version))
    client.set_registered_model_alias(name, CHAMPION_ALIAS, number)


def rollback(*, bucket: str | None = None, s3: Any = None) -> str:
    """Re-point ``champion`` to the previous champion; return the image tag to redeploy.

    Raises:
        PromotionError: There is no previous champion, in the registry or the bucket.
    """
    configure_tracking()
    client = mlflow.MlflowClient()
    image_tag = _rollback_registry(client)
    if bucket is not None:
        s3 = _s3_client(s3)
        record = read_champion_record(bucket, s3)
        if record is not None and record.get("previous"):
            _write_champion_record(s3, bucket, record["previous"])
            image_tag = image_tag or record["previous"]["image_tag"]
            LOG.info("champion record at s3://%s/%s rolled back", bucket, CHAMPION_RECORD_KEY)
    if image_tag is None:
        raise PromotionError(
            f"no previous champion of {MODEL_NAME} (no {PREVIOUS_CHAMPION_ALIAS!r} alias in "
            f"{mlflow.get_tracking_uri()}"
            + (f", no previous record at s3://{bucket}/{CHAMPION_RECORD_KEY}" if bucket else "")
            + "): nothing to roll back to"
        )
    return image_tag


def _rollback_registry(client: mlflow.MlflowClient) -> str | None:
    previous = _alias_version(client, PREVIOUS_CHAMPION_ALIAS)
    if previous is None:
        return None
    name, number = MODEL_NAME, str(previous.version)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, number)
    before = previous.tags.get("previous_champion")
    if before is not None and _registry_version(client, before) is not None:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION_ALIAS, before)
    else:
        client.delete_registered_model_alias(name, PREVIOUS_CHAMPION_ALIAS)
    client.set_model_version_tag(name, number, "rolled_back_to_at", datetime.now(UTC).isoformat())
    LOG.info("%r is version %s again", CHAMPION_ALIAS, number)
    return previous.tags.get("image_tag")


def main(argv: list[str] | None = None) -> int:
    """``promote --model-version V --image-tag T`` or ``rollback``; 1 with a reason on failure."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    promote_parser = commands.add_parser("promote", help="make a release the champion")
    promote_parser.add_argument("--model-version", required=True)
    promote_parser.add_argument("--image-tag", required=True)
    commands.add_parser("rollback", help="go back to the previous champion")
    args = parser.parse_args(argv)
    bucket = os.environ.get("ARTIFACTS_BUCKET") or None
    try:
        if args.command == "promote":
            promote(args.model_version, args.image_tag, bucket=bucket)
        else:
            image_tag = rollback(bucket=bucket)
            print(f"'{CHAMPION_ALIAS}' rolled back; redeploy image tag {image_tag}:")
            print(f"  make deploy ENV=prod IMAGE_TAG={image_tag}")
    except PromotionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
