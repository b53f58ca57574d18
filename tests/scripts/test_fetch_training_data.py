"""scripts/fetch_training_data.py: what each trigger selects, validation, download under moto."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from scripts.fetch_training_data import DataError, Selection, download, main, select, validate

BUCKET = "mlops-data-bucket"


def test_a_dispatch_fetches_exactly_the_listed_keys():
    payload = {"bucket": BUCKET, "keys": ["incoming/a.csv"], "truncated": False, "object_count": 1}
    assert select("repository_dispatch", payload, BUCKET, "") == Selection(
        bucket=BUCKET, prefix="incoming/", keys=("incoming/a.csv",)
    )


def test_a_truncated_key_list_falls_back_to_the_prefix():
    payload = {
        "bucket": BUCKET,
        "keys": ["incoming/a.csv"],
        "truncated": True,
        "prefix": "incoming/2026/",
    }
    assert select("repository_dispatch", payload, BUCKET, "") == Selection(BUCKET, "incoming/2026/")


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_schedule_and_manual_runs_train_on_everything_under_incoming(event):
    assert select(event, {}, BUCKET, "") == Selection(BUCKET, "incoming/")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"bucket": "someone-elses-bucket", "keys": ["a.csv"]}, "refusing data from elsewhere"),
        ({"bucket": "Bad_Bucket"}, "is not an S3 bucket name"),
        ({"bucket": BUCKET, "keys": ["incoming/../secrets.csv"]}, "not a plain S3 object key"),
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
