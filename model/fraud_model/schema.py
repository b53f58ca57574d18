"""The model's public contract: its name, its features and their order.

Shared by training and the server, and dependency-free so the server image can import it.
"""

from pathlib import Path

MODEL_NAME = "fraud-detection"
"""Registered model name in MLflow and the name served under ``/v1/models/<name>``."""

CHAMPION_ALIAS = "champion"
"""MLflow registry alias of the version prod serves (moved by ``fraud_model.promotion``)."""

CHALLENGER_ALIAS = "challenger"
"""MLflow registry alias of the latest version that passed the evaluation gate."""

FEATURES: tuple[str, ...] = ("amount", "distance_from_home_km", "merchant_risk_score")
"""Feature order of one row, e.g. ``[1000, 45, 0.67]``:

- ``amount``: transaction amount in US dollars (> 0).
- ``distance_from_home_km``: distance between the card holder's home and the point of sale (>= 0).
- ``merchant_risk_score``: the merchant's historical fraud risk score in [0, 1].
"""

N_FEATURES = len(FEATURES)

MODEL_DIR = Path(__file__).resolve().parents[1] / "artifacts"
"""Default artifacts directory: ``model/artifacts`` in the repository (git-ignored)."""

ONNX_FILE = "model.onnx"
GRID_FILE = "model_grid.npz"
"""The exact lookup table the server runs when present (``fraud_model/fastpath.py``)."""
JOBLIB_FILE = "model.joblib"
METRICS_FILE = "metrics.json"
TARBALL_FILE = "model.tar.gz"
BASELINE_FILE = "baseline.json"
"""The training data's distribution per feature, the drift check's reference (docs/drift.md)."""
