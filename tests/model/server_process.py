"""Run the real model server on 127.0.0.1 for a test (a module of its own: ``conftest`` is not
importable by name when several test directories are collected)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(
    model_dir: Path,
    *options: str,
    env: dict[str, str] | None = None,
    stdout: IO[bytes] | None = None,
) -> Iterator[str]:
    """Run the real server on 127.0.0.1 with SageMaker's ``serve`` argument; yield its URL.

    ``env`` adds environment variables (e.g. ``CAPTURE_PERCENT``); ``stdout`` receives its output.
    """
    port = free_port()
    server_env = {
        **os.environ,
        "PYTHONPATH": str(MODEL_SRC),
        "MODEL_DIR": str(model_dir),
        **(env or {}),
    }
    command = [sys.executable, "-m", "fraud_model.server", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), *options], env=server_env, stdout=stdout
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1):
                break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"model server did not start (exit status {process.poll()})")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
