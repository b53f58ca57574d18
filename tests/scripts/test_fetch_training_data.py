"""scripts/fetch_training_data.py: what each trigger selects, validation, download under moto."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mlops_cdk.lambdas.retrain_dispatch.payload import DispatchPlan
from scripts.fetch_training_data import DataError, Selection, download, main, select, validate

BUCKET = "mlops-data-bucket"


def dispatcher_payload(keys: list[str], *, prefix: str = "incoming/", bucket: str = BUCKET) -> dict:
    """The client_payload exactly as the dispatcher builds it, through JSON as GitHub passes it."""
    plan = DispatchPlan(
        batch_id="b" * 64,
        bucket=bucket,
        trigger="s3",
        keys=tuple(keys),
        total_bytes=100 * len(keys),
    )
    payload = plan.client_payload(prefix=prefix, event_type="new-data-arrived")
    return json.loads(json.dumps(payload))


def test_a_dispatch_fetches_exactly_the_listed_keys():
    payload = dispatcher_payload(["incoming/a.csv"])
    assert select("repository_dispatch", payload, BUCKET, "") == Selection(
        bucket=BUCKET, prefix="incoming/", keys=("incoming/a.csv",)
    )


def test_the_dispatchers_truncated_payload_fetches_the_whole_prefix_not_the_subset():
    keys = [f"incoming/2026/{index:06d}-{'x' * 40}.csv" for index in range(5_000)]
    payload = dispatcher_payload(keys, prefix="incoming/2026/")
    assert 0 < len(payload["keys"]) < len(keys)  # the dispatcher did cut the list

    assert select("repository_dispatch", payload, BUCKET, "") == Selection(BUCKET, "incoming/2026/")


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ({"truncated": True, "keys_truncated": None}, "keys_truncated is null; expected bool"),
        ({"object_count": "1"}, "object_count"),
        ({"keys": "incoming/a.csv"}, "keys"),
        ({"object_count": 2}, "lists 1 keys for 2 objects"),
    ],
)
def test_a_payload_that_does_not_match_the_dispatchers_definition_fails_loudly(mutation, message):
    payload = {**dispatcher_payload(["incoming/a.csv"]), **mutation}
    payload = {name: value for name, value in payload.items() if value is not None}
    with pytest.raises(DataError, match=message):
        select("repository_dispatch", payload, BUCKET, "")


@mock_aws
def test_main_trains_on_every_object_under_the_prefix_when_the_payload_is_truncated(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=BUCKET, Key=f"incoming/{name}.csv", Body=b"amount,is_fraud\n1,0\n")
    payload = dispatcher_payload([f"incoming/{name}.csv" for name in "abc"])
    payload.update(keys=payload["keys"][:1], keys_truncated=True)  # as if cut at the limit
    monkeypatch.setenv("EVENT_NAME", "repository_dispatch")
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("PAYLOAD", json.dumps(payload))

    assert main(["--dest", str(tmp_path / "d")]) == 0
    assert "fetched 3 files, 3 rows" in capsys.readouterr().out


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_schedule_and_manual_runs_train_on_everything_under_incoming(event):
    assert select(event, {}, BUCKET, "") == Selection(BUCKET, "incoming/")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (dispatcher_payload(["a.csv"], bucket="someone-elses-bucket"), "data from elsewhere"),
        (dispatcher_payload(["a.csv"], bucket="Bad_Bucket"), "is not an S3 bucket name"),
        (dispatcher_payload(["incoming/../secrets.csv"]), "not a plain S3 object key"),
    ],
)
def test_untrusted_payloads_are_rejected(payload, message):
    with pytest.raises(DataError, match=message):
        select("repository_dispatch", payload, BUCKET, "")


def test_validation_rejects_empty_and_mismatched_files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("amount,is_fraud\n1,0\n")
    b.write_text("amount\n")
    with pytest.raises(DataError, match="no data rows"):
        validate([a, b])
    b.write_text("x,is_fraud\n2,1\n")
    with pytest.raises(DataError, match="has header"):
        validate([a, b])
    with pytest.raises(DataError, match=r"no \.csv files"):
        validate([])


@mock_aws
def test_download_lists_the_prefix_and_main_reports_rows(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="incoming/a.csv", Body=b"amount,is_fraud\n1,0\n2,1\n")
    s3.put_object(Bucket=BUCKET, Key="incoming/readme.txt", Body=b"ignored")
    s3.put_object(Bucket=BUCKET, Key="other/b.csv", Body=b"amount,is_fraud\n3,0\n")
    files = download(Selection(BUCKET, "incoming/"), tmp_path / "d")
    assert [f.name for f in files] == ["incoming__a.csv"]
    monkeypatch.setenv("EVENT_NAME", "schedule")
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    assert main(["--dest", str(tmp_path / "e")]) == 0
    assert "fetched 1 files, 2 rows" in capsys.readouterr().out
