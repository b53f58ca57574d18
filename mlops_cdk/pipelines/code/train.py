"""Pipeline step Train: fit the fraud classifier on ``train.csv``.

Runs in the SageMaker scikit-learn container (``sagemaker_program``): reads the ``train``
channel, writes ``model.joblib`` to ``SM_MODEL_DIR``; SageMaker packs it as ``model.tar.gz``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

LABEL = "is_fraud"


def main() -> int:
    """Train and save the model."""
    train_dir = Path(os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    data = pd.concat(pd.read_csv(p) for p in sorted(train_dir.glob("*.csv")))
    model = HistGradientBoostingClassifier(random_state=42)
    model.fit(data.drop(columns=[LABEL]), data[LABEL])
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    return 0


if __name__ == "__main__":
    sys.exit(main())
