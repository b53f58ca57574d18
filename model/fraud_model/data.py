"""Seeded synthetic card-transaction data with realistic fraud imbalance.

Legitimate transactions are mostly small, close to home and at low-risk merchants; fraudulent
ones skew to large amounts, far from home and risky merchants. The classes overlap (and a small
share of labels is flipped) so the problem is learnable but not trivial, like real fraud data.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from fraud_model.schema import FEATURES

TARGET = "is_fraud"
DEFAULT_FRAUD_RATE = 0.02
LABEL_NOISE = 0.002


def generate(
    n_samples: int, *, fraud_rate: float = DEFAULT_FRAUD_RATE, seed: int = 42
) -> pd.DataFrame:
    """Generate ``n_samples`` transactions; the same arguments always give the same frame.

    Args:
        n_samples: Number of rows (>= 10).
        fraud_rate: Share of fraudulent rows in (0, 0.5).
        seed: Seed of the random generator.

    Returns:
        A frame with the columns of ``FEATURES`` (float64) and ``is_fraud`` (int64, 0 or 1).
    """
    if n_samples < 10:
        raise ValueError(f"n_samples = {n_samples}; use at least 10")
    if not 0 < fraud_rate < 0.5:
        raise ValueError(f"fraud_rate = {fraud_rate}; use a value in (0, 0.5)")
    rng = np.random.default_rng(seed)
    n_fraud = max(1, round(n_samples * fraud_rate))
    n_legit = n_samples - n_fraud

    legit = np.column_stack(
        [
            rng.lognormal(mean=np.log(45.0), sigma=1.0, size=n_legit),
            rng.lognormal(mean=np.log(6.0), sigma=1.1, size=n_legit),
            rng.beta(2.0, 8.0, size=n_legit),
        ]
    )
    fraud = np.column_stack(
        [
            rng.lognormal(mean=np.log(600.0), sigma=1.0, size=n_fraud),
            rng.lognormal(mean=np.log(60.0), sigma=1.2, size=n_fraud),
            rng.beta(5.0, 3.0, size=n_fraud),
        ]
    )
    features = np.vstack([legit, fraud])
    for column, decimals in enumerate((2, 1, 3)):
        features[:, column] = features[:, column].round(decimals)
    labels = np.concatenate([np.zeros(n_legit, dtype=np.int64), np.ones(n_fraud, dtype=np.int64)])
    flipped = rng.random(n_samples) < LABEL_NOISE
    labels[flipped] = 1 - labels[flipped]

    order = rng.permutation(n_samples)
    frame = pd.DataFrame(features[order], columns=list(FEATURES))
    frame[TARGET] = labels[order]
    return frame


class DataError(ValueError):
    """Training data that cannot be used; the message names the file, column and problem."""


MIN_ROWS = 1_000
MIN_POSITIVES = 10


def load_csv(directory: Path) -> pd.DataFrame:
    """Load every ``*.csv`` under ``directory`` (e.g. the files retrain.yml fetched from S3).

    Each file needs a header with the ``FEATURES`` columns and ``is_fraud``; other columns are
    ignored. Values must be finite numbers and labels 0 or 1.

    Raises:
        DataError: Naming every problem found (file, column, row count), so nothing is trained on
            data that does not fit the model's contract.
    """
    files = sorted(Path(directory).rglob("*.csv"))
    if not files:
        raise DataError(f"no .csv files under {directory}")
    required = [*FEATURES, TARGET]
    frames, errors = [], []
    for path in files:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            errors.append(f"{path.name}: not a CSV file ({error})")
            continue
        missing = [c for c in required if c not in frame.columns]
        if missing:
            errors.append(f"{path.name}: missing columns {', '.join(missing)}")
            continue
        frame = frame[required]
        numeric = frame.apply(pd.to_numeric, errors="coerce")
        for column in required:
            bad = int((~np.isfinite(numeric[column].to_numpy(dtype=float))).sum())
            if bad:
                errors.append(f"{path.name}: {bad} non-numeric or missing values in {column}")
        labels = numeric[TARGET].dropna()
        if not labels.isin([0, 1]).all():
            errors.append(f"{path.name}: {TARGET} must be 0 or 1")
        frames.append(numeric)
    if errors:
        raise DataError("training data rejected: " + "; ".join(errors))
    data = pd.concat(frames, ignore_index=True)
    data[TARGET] = data[TARGET].astype(np.int64)
    positives = int(data[TARGET].sum())
    if len(data) < MIN_ROWS or positives < MIN_POSITIVES or positives == len(data):
        raise DataError(
            f"training data rejected: {len(data)} rows with {positives} fraudulent; need at "
            f"least {MIN_ROWS} rows, {MIN_POSITIVES} fraudulent and some legitimate ones"
        )
    return data
