"""Fixtures for model/: the import path, an isolated MLflow store and a running model server."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"
sys.path.insert(0, str(MODEL_SRC))

from fraud_model.data import generate  # noqa: E402 - needs the path above
from fraud_model.package import write_artifacts  # noqa: E402
from fraud_model.schema import FEATURES, MODEL_NAME  # noqa: E402
from server_process import running_server  # noqa: E402


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


@pytest.fixture(scope="session")
def server_url(served_model) -> Iterator[str]:
    """The real server on 127.0.0.1, started once per run."""
    with running_server(served_model[1]) as url:
        yield url
