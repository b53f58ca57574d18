"""A real HTTP server on 127.0.0.1 that answers InvokeEndpoint the way SageMaker Runtime does.

moto's sagemaker-runtime only returns canned successes; the error paths (a model's 400 wrapped in
``ModelError``, throttling, a missing endpoint) need the service's real wire format so botocore
parses them exactly as it would in Lambda.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config


@dataclass
class Reply:
    """What the fake service sends for the next invocations."""

    status: int = 200
    body: bytes = b'{"predictions": [0.92]}'
    error_type: str | None = None
    delay_seconds: float = 0.0
    received: list[bytes] = field(default_factory=list)


def model_error(original_status: int, original_message: str) -> Reply:
    """SageMaker's answer when the container returned ``original_status``."""
    return Reply(
        status=424,
        error_type="ModelError",
        body=json.dumps(
            {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x",
                "Message": f"Received client error ({original_status}) from primary with "
                f'message "{original_message}".',
                "OriginalMessage": original_message,
                "OriginalStatusCode": original_status,
            }
        ).encode(),
    )


def service_error(status: int, error_type: str, message: str) -> Reply:
    """A service-side error such as ``ThrottlingException`` or ``ValidationError``."""
    return Reply(
        status=status, error_type=error_type, body=json.dumps({"message": message}).encode()
    )


@contextmanager
def fake_runtime(reply: Reply) -> Iterator[tuple[str, Reply]]:
    """Serve ``reply`` on 127.0.0.1; yields the endpoint URL and the (mutable) reply."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            reply.received.append(self.rfile.read(length))
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("x-amzn-requestid", "req-1")
            if reply.error_type:
                self.send_header("x-amzn-errortype", f"{reply.error_type}:http://internal/")
            else:
                self.send_header("x-amzn-invoked-production-variant", "AllTraffic")
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", reply
    finally:
        server.shutdown()
        server.server_close()


def runtime_client(url: str, read_timeout: float = 5.0):
    """A real botocore sagemaker-runtime client pointed at ``url``, without retries."""
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(read_timeout=read_timeout, retries={"total_max_attempts": 1}),
    )
