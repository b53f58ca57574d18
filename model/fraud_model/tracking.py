"""Where training runs are tracked: the MLflow URI and experiment, for train and package."""

import os
from pathlib import Path

import mlflow

LOCAL_STORE = Path(__file__).resolve().parents[1]
EXPERIMENT = "fraud-detection"


def configure_tracking() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or the local SQLite store; return the URI."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{LOCAL_STORE / 'mlflow.db'}"
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
