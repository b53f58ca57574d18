"""Fixtures for model/: the import path, an isolated MLflow store and a running model server."""

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

import pytest

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"
sys.path.insert(0, str(MODEL_SRC))

from fraud_model.data import generate  # noqa: E402 - needs the path above
from fraud_model.package import write_artifacts  # noqa: E402
from fraud_model.schema import FEATURES, MODEL_NAME  # noqa: E402


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SQLite MLflow store for the session, exported as MLFLOW_TRACKING_URI."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    yield uri
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory):
    """A small classifier packaged with ``write_artifacts``, without MLflow: (model, directory)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = generate(4_000, seed=3)
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        frame[list(FEATURES)], frame["is_fraud"]
    )
    model_dir = tmp_path_factory.mktemp("served-model")
    write_artifacts(classifier, {"model_name": MODEL_NAME, "model_version": "7"}, frame, model_dir)
    return classifier, model_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(model_dir: Path, *options: str) -> Iterator[str]:
    """Run the real server on 127.0.0.1 with SageMaker's ``serve`` argument; yield its URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(MODEL_SRC), "MODEL_DIR": str(model_dir)}
    command = [sys.executable, "-m", "fraud_model.server", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen([*command, "--port", str(port), *options], env=env)
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


@pytest.fixture(scope="session")
def server_url(served_model) -> Iterator[str]:
    """The real server on 127.0.0.1, started once per run."""
    with running_server(served_model[1]) as url:
        yield url
