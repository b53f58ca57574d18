"""Where training runs are tracked: the MLflow URI and experiment, for train and package."""

import os
from pathlib import Path

import mlflow

LOCAL_STORE = Path(__file__).resolve().parents[1]
EXPERIMENT = "fraud-detection"


def local_store_uri() -> str:
    """The local SQLite store, used when no tracking server is configured."""
    return f"sqlite:///{LOCAL_STORE / 'mlflow.db'}"


def configure_tracking() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or the local SQLite store; return the URI.

    MLflow exports the URI to the environment, so compare the result with
    :func:`local_store_uri` to tell a tracking server from the local store.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or local_store_uri()
    mlflow.set_tracking_uri(uri)
    return uri


def experiment_id(tracking_uri: str) -> str:
    """Return the experiment's id, creating it (with local artifacts for SQLite) if needed."""
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if tracking_uri.startswith("sqlite:///"):
        store = Path(tracking_uri.removeprefix("sqlite:///")).parent
        artifact_location = (store / "mlruns").as_uri()
    return mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_location)
