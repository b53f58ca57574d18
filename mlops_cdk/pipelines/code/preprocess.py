"""Pipeline step Preprocess: validate the new CSV files and split them into train and test.

Runs in the SageMaker scikit-learn container. Input: every ``*.csv`` under
``/opt/ml/processing/raw`` (the ``InputBucket``/``InputPrefix`` parameters), with a header and a
binary label column (``is_fraud``); every other column is a numeric feature. Fails the step with
a message naming the file and problem rather than training on bad data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

RAW = Path("/opt/ml/processing/raw")
OUT = Path("/opt/ml/processing")
LABEL = "is_fraud"


def load(raw: Path) -> pd.DataFrame:
    """Read and validate every CSV under ``raw``; raise ``ValueError`` naming the problem."""
    files = sorted(raw.rglob("*.csv"))
    if not files:
        raise ValueError(f"no .csv files under {raw}: check InputBucket and InputPrefix")
    frames = []
    for path in files:
        frame = pd.read_csv(path)
        if LABEL not in frame.columns:
            raise ValueError(f"{path.name}: no {LABEL!r} column")
        if not frame[LABEL].isin([0, 1]).all():
            raise ValueError(f"{path.name}: {LABEL!r} must be 0 or 1")
        features = frame.drop(columns=[LABEL])
        numeric = pd.api.types.is_numeric_dtype
        non_numeric = [c for c in features.columns if not numeric(features[c])]
        if non_numeric:
            raise ValueError(f"{path.name}: non-numeric feature columns {non_numeric}")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True).dropna()
    if data[LABEL].nunique() < 2:
        raise ValueError("the data holds a single class; both fraud and non-fraud rows are needed")
    return data


def main() -> int:
    """Split 80/20, stratified on the label, into ``train/`` and ``test/``."""
    data = load(RAW)
    train, test = train_test_split(data, test_size=0.2, stratify=data[LABEL], random_state=42)
    for name, part in (("train", train), ("test", test)):
        (OUT / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(OUT / name / f"{name}.csv", index=False)
    print(f"rows: train={len(train)} test={len(test)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
