"""A fake GitHub API and event builders for retrain_dispatch, shared by tests and benchmark."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote_plus

BUCKET = "ml-data-bucket"
TOKEN = "ghp_SuperSecretTestToken0123456789abcdef"
REPOSITORY = "acme/models"
PIPELINE = "retraining-pipeline"


@dataclass
class RecordedRequest:
    """One request the fake GitHub API received (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeGitHub:
    """A scriptable stand-in for the GitHub REST API.

    ``script`` holds the answers to give in order: an int status, a ``(status, headers)`` pair,
    or ``"drop"`` to close the connection without answering. Once empty, it answers 204.
    """

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else 204

    @property
    def dispatches(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/dispatches")]


@contextlib.contextmanager
def serve_fake_github() -> Iterator[FakeGitHub]:
    """Serve a fake GitHub API on an ephemeral 127.0.0.1 port until the block ends."""
    fake = FakeGitHub(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append(
                RecordedRequest(
                    "POST",
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                )
            )
            answer = fake.next_answer()
            if answer == "drop":
                self.close_connection = True
                return
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            payload = b"" if status == 204 else json.dumps({"message": f"status {status}"}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def eventbridge_body(
    key: str,
    *,
    size: int = 100,
    etag: str | None = None,
    bucket: str = BUCKET,
    version_id: str | None = None,
) -> str:
    """The body EventBridge puts on the queue for an S3 ``Object Created`` event."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag or f"etag-{key}"}
    if version_id:
        obj["version-id"] = version_id
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-11-01T10:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": obj,
                "request-id": "R",
                "requester": "123456789012",
                "reason": "PutObject",
            },
        }
    )


def notification_body(key: str, *, size: int = 100, bucket: str = BUCKET) -> str:
    """A classic S3 notification body; S3 URL-encodes its key (space becomes ``+``)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-01T10:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "retrain",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3EXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": f"etag-{key}",
                "sequencer": "0A1B2C3D4E5F678901",
            },
        },
    }
    return json.dumps({"Records": [record]})


def sqs_record(body: str, *, message_id: str | None = None, receive_count: int = 1) -> dict:
    """An SQS record as Lambda's event source mapping delivers it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": str(uuid.uuid4()),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1761991200000",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "1761991200000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:retrain-queue",
        "awsRegion": "us-east-1",
    }


def sqs_event(bodies: list[str]) -> dict:
    """An SQS event with one record per body."""
    return {"Records": [sqs_record(body) for body in bodies]}


def redeliver(event: dict) -> dict:
    """The same messages coming back: new receipt handles, higher receive counts, new order."""
    records = [
        sqs_record(r["body"], message_id=r["messageId"], receive_count=2) for r in event["Records"]
    ]
    return {"Records": list(reversed(records))}
