"""Package a trained classifier for serving: ONNX export, lookup table, joblib, metrics, tarball.

The drift baseline (``baseline.json``) travels in the tarball too, so the artifact names the
distribution its model was trained on.

``model.tar.gz`` follows SageMaker's layout: the files sit at the archive root, so SageMaker's
extraction to ``/opt/ml/model`` gives ``/opt/ml/model/model.onnx`` and friends. Run as
``python -m fraud_model.package`` to rebuild the artifacts from the registry's champion.
"""

import argparse
import gzip
import io
import json
import logging
import os
import sys
import tarfile
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnxruntime as ort
import pandas as pd
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import ClassifierMixin

from fraud_model.data import generate
from fraud_model.fastpath import (
    MAX_GRID_BYTES,
    GridMismatchError,
    GridUnavailableError,
    build_grid,
    verify_grid,
)
from fraud_model.schema import (
    BASELINE_FILE,
    CHAMPION_ALIAS,
    FEATURES,
    GRID_FILE,
    JOBLIB_FILE,
    METRICS_FILE,
    MODEL_DIR,
    MODEL_NAME,
    N_FEATURES,
    ONNX_FILE,
    TARBALL_FILE,
)

ONNX_TOLERANCE = 1e-5
"""Largest accepted difference between ONNX Runtime's and scikit-learn's fraud probability."""

ONNX_INPUT = "input"
ONNX_PROBABILITIES = "probabilities"

logger = logging.getLogger(__name__)


class PackagingError(RuntimeError):
    """The model cannot be packaged faithfully."""


def export_onnx(classifier: ClassifierMixin) -> bytes:
    """Convert the classifier to ONNX with one FP32 input of shape [n, 3] and no ZipMap."""
    with warnings.catch_warnings():
        # skl2onnx 1.20 sets a boolean where onnx expects an int; harmless, and not ours to fix.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="onnx")
        onnx_model = to_onnx(
            classifier,
            initial_types=[(ONNX_INPUT, FloatTensorType([None, N_FEATURES]))],
            options={"zipmap": False},
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    return onnx_model.SerializeToString()


def verify_onnx(onnx_bytes: bytes, classifier: ClassifierMixin, features: pd.DataFrame) -> float:
    """Check that ONNX Runtime gives the classifier's fraud probabilities.

    Args:
        onnx_bytes: The exported model.
        classifier: The trained scikit-learn classifier.
        features: Rows to compare on, columns in ``FEATURES`` order.

    Returns:
        The largest absolute difference seen.

    Raises:
        PackagingError: When a difference exceeds ``ONNX_TOLERANCE``.
    """
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rows = features[list(FEATURES)].to_numpy(dtype=np.float32)
    onnx_proba = session.run([ONNX_PROBABILITIES], {ONNX_INPUT: rows})[0][:, 1]
    sklearn_proba = classifier.predict_proba(features[list(FEATURES)])[:, 1]
    max_diff = float(np.max(np.abs(onnx_proba - sklearn_proba)))
    if max_diff > ONNX_TOLERANCE:
        raise PackagingError(
            f"ONNX probabilities differ from scikit-learn's by up to {max_diff:.2e} on"
            f" {len(rows)} rows (tolerance {ONNX_TOLERANCE:.0e}); the export is not faithful"
        )
    return max_diff


def tabulate(
    classifier: ClassifierMixin, features: pd.DataFrame, max_bytes: int = MAX_GRID_BYTES
) -> tuple[bytes | None, dict]:
    """Build and verify the server's lookup table (``fraud_model/fastpath.py``).

    Args:
        classifier: The trained classifier.
        features: Realistic rows, columns in ``FEATURES`` order, on which the table is checked
            besides every cell and every threshold.
        max_bytes: Largest table built; a larger model is left to ONNX Runtime.

    Returns:
        The table as ``GRID_FILE`` bytes, or None when the model cannot be tabulated (the server
        then runs the ONNX model), and a summary for ``metrics.json``.

    Raises:
        PackagingError: When the table does not reproduce the classifier's probabilities.
    """
    try:
        grid = build_grid(classifier, max_bytes=max_bytes)
    except GridUnavailableError as reason:
        logger.warning("no lookup table: %s; the server will run %s instead", reason, ONNX_FILE)
        return None, {"skipped": str(reason)}
    try:
        max_diff = verify_grid(grid, classifier, features[list(FEATURES)].to_numpy(np.float64))
    except GridMismatchError as error:
        raise PackagingError(f"{error}; the lookup table is not faithful") from error
    summary = {"shape": list(grid.probabilities.shape), "max_abs_diff": max_diff}
    return grid.to_bytes(), summary


def _add_file(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add ``data`` as a regular root-level file with fixed owner, mode and time."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def write_artifacts(
    classifier: ClassifierMixin,
    metadata: dict[str, Any],
    verification_rows: pd.DataFrame,
    output_dir: Path = MODEL_DIR,
    *,
    max_grid_bytes: int = MAX_GRID_BYTES,
    baseline: dict[str, Any] | None = None,
) -> Path:
    """Write the model files (``model.onnx``, ``model_grid.npz``, ...) and ``model.tar.gz``.

    The ONNX export and the lookup table are verified against the classifier before anything is
    written. A model too large to tabulate gets no ``model_grid.npz`` (a logged warning).

    Args:
        classifier: The trained classifier.
        metadata: Model name, version, metrics and the like, stored as ``metrics.json``.
        verification_rows: Rows on which ONNX, the lookup table and scikit-learn must agree.
        output_dir: Destination directory, created if missing.
        max_grid_bytes: Largest lookup table written (``fastpath.MAX_GRID_BYTES``, 64 MiB).
        baseline: The drift baseline of the training data (``baseline.json``); ``None`` writes
            none and removes one left by an earlier model.

    Returns:
        The path of ``model.tar.gz``.
    """
    onnx_bytes = export_onnx(classifier)
    max_diff = verify_onnx(onnx_bytes, classifier, verification_rows)
    grid_bytes, grid_summary = tabulate(classifier, verification_rows, max_grid_bytes)
    metrics_json = json.dumps(
        {**metadata, "onnx_max_abs_diff": max_diff, "lookup_table": grid_summary}, indent=2
    ).encode()
    joblib_buffer = io.BytesIO()
    joblib.dump(classifier, joblib_buffer)
    files = {
        ONNX_FILE: onnx_bytes,
        JOBLIB_FILE: joblib_buffer.getvalue(),
        METRICS_FILE: metrics_json + b"\n",
    }
    if grid_bytes is not None:
        files[GRID_FILE] = grid_bytes
    if baseline is not None:
        files[BASELINE_FILE] = json.dumps(baseline, indent=2).encode() + b"\n"
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (output_dir / name).write_bytes(data)
    # A table or baseline left from an earlier model would otherwise pass for this one's.
    for name in (GRID_FILE, BASELINE_FILE):
        if name not in files:
            (output_dir / name).unlink(missing_ok=True)
    tarball = output_dir / TARBALL_FILE
    with (
        tarball.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for name, data in files.items():
            _add_file(archive, name, data)
    return tarball


def package_champion(output_dir: Path = MODEL_DIR) -> Path:
    """Rebuild the artifacts from the registry's ``champion`` version.

    Raises:
        PackagingError: When the registry has no champion.
    """
    import mlflow

    from fraud_model.tracking import configure_tracking

    configure_tracking()
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    except mlflow.exceptions.MlflowException as error:
        raise PackagingError(
            f"no '{CHAMPION_ALIAS}' version of '{MODEL_NAME}' at {mlflow.get_tracking_uri()};"
            " run `make train` first"
        ) from error
    classifier = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}")
    run = client.get_run(version.run_id)
    metadata = {
        "model_name": MODEL_NAME,
        "model_version": str(version.version),
        "run_id": version.run_id,
        "features": list(FEATURES),
        "threshold": float(run.data.params["threshold"]),
        "dataset_digest": run.data.params["dataset_digest"],
        "metrics": run.data.metrics,
    }
    baseline = _logged_baseline(version.run_id)
    return write_artifacts(
        classifier, metadata, generate(5_000, seed=7), output_dir, baseline=baseline
    )


def _logged_baseline(run_id: str) -> dict[str, Any] | None:
    """The drift baseline logged with the run, or ``None`` for a run from before baselines."""
    import mlflow

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{BASELINE_FILE}")
    except (mlflow.exceptions.MlflowException, OSError):
        logger.warning("run %s logged no %s: packaging without one", run_id, BASELINE_FILE)
        return None


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: package the champion into ``--output-dir``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir", type=Path, default=Path(os.environ.get("MODEL_DIR", MODEL_DIR))
    )
    args = parser.parse_args(argv)
    try:
        tarball = package_champion(args.output_dir)
    except PackagingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"packaged {tarball}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
