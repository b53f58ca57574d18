"""Pipeline step Evaluate: score the trained model on ``test.csv`` for the quality gate.

Writes ``evaluation.json`` (``{"metrics": {"roc_auc": ...}}``), which the ``QualityGate``
condition compares with the ``MinRocAuc`` parameter.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import joblib
import pandas as pd
from sklearn.metrics import roc_auc_score

BASE = Path("/opt/ml/processing")
LABEL = "is_fraud"


def main() -> int:
    """Unpack the model, score the test split, write the report."""
    with tarfile.open(BASE / "model" / "model.tar.gz") as archive:
        archive.extractall(BASE / "model", filter="data")
    model = joblib.load(BASE / "model" / "model.joblib")
    test = pd.concat(pd.read_csv(p) for p in sorted((BASE / "test").glob("*.csv")))
    scores = model.predict_proba(test.drop(columns=[LABEL]))[:, 1]
    report = {"metrics": {"roc_auc": float(roc_auc_score(test[LABEL], scores))}}
    (BASE / "evaluation").mkdir(parents=True, exist_ok=True)
    (BASE / "evaluation" / "evaluation.json").write_text(json.dumps(report))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
