"""An exact lookup table for the gradient-boosted trees: what the server runs instead of ONNX.

A ``HistGradientBoostingClassifier`` adds up trees whose numerical splits send a row left when
``x <= threshold``. Its probability is therefore constant on every cell of the grid cut by the
union of each feature's split thresholds: along a feature with sorted thresholds
``t[0] < ... < t[k-1]``, cell ``i`` holds ``t[i-1] < x <= t[i]`` (cell 0 everything up to
``t[0]``, cell ``k`` everything above ``t[k-1]``), and ``bisect_left(t, x)`` finds it. Scoring
the model once per cell gives a table that answers any finite row with three binary searches and
one index, about a microsecond in pure Python, where an ONNX Runtime call costs about 8 µs amid
the server's HTTP work. The table holds float32 probabilities, like the ONNX model's output.

Packaging builds the table (``build_grid``), checks it against the classifier (``verify_grid``)
and stores it as ``GRID_FILE``; the server loads it with ``GridModel.load``. This module needs
only numpy and the standard library, so the server image ships it; building and verifying take
the trained classifier (and pandas, to feed it rows by feature name).
"""

import io
import math
import zipfile
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraud_model.schema import FEATURES, N_FEATURES

MAX_GRID_BYTES = 64 * 1024 * 1024
"""Largest table packaged; a model with more cells is served by ONNX Runtime instead."""

GRID_TOLERANCE = 1e-6
"""Largest accepted difference between the table's and scikit-learn's probability (float32
rounding of a probability is at most 6e-8)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The server refuses feature values beyond ±FLOAT32_MAX, so the grid need cover no more."""

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class GridUnavailableError(Exception):
    """The model cannot be tabulated (too many cells, or splits the grid cannot express)."""


class GridMismatchError(Exception):
    """The table does not give the classifier's probabilities."""


class GridModel:
    """The table and its per-feature thresholds; maps rows to fraud probabilities.

    Attributes:
        thresholds: Per feature, the sorted distinct split thresholds (float64).
        probabilities: Fraud probability per cell, float32, shape ``(len(t) + 1 for t in
            thresholds)``.
    """

    def __init__(self, thresholds: Sequence[np.ndarray], probabilities: np.ndarray) -> None:
        """Check that the thresholds and the table fit together.

        Raises:
            ValueError: On a wrong number of features, unsorted or non-finite thresholds, or a
                table whose shape or dtype does not match them.
        """
        thresholds = tuple(np.asarray(t, dtype=np.float64) for t in thresholds)
        shape = tuple(len(t) + 1 for t in thresholds)
        if len(thresholds) != N_FEATURES:
            raise ValueError(f"{len(thresholds)} threshold arrays; expected {N_FEATURES}")
        for feature, t in zip(FEATURES, thresholds, strict=True):
            if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                raise ValueError(f"thresholds of {feature} must be finite and strictly increasing")
        if probabilities.dtype != np.float32 or probabilities.shape != shape:
            raise ValueError(
                f"table is {probabilities.dtype} {probabilities.shape}; expected float32 {shape}"
            )
        self.thresholds = thresholds
        self.probabilities = np.ascontiguousarray(probabilities)
        # The scalar path bisects Python lists and indexes a float32 memoryview: both hand back
        # Python floats without numpy's per-call overhead.
        self._amount, self._distance, self._risk = (t.tolist() for t in thresholds)
        self._stride_amount = shape[1] * shape[2]
        self._stride_distance = shape[2]
        self._table = memoryview(self.probabilities).cast("B").cast("f")

    @property
    def cells(self) -> int:
        """Number of cells in the table."""
        return self.probabilities.size

    def predict_one(self, row: Sequence[float]) -> float:
        """Return the fraud probability of one validated row of finite numbers.

        ``bisect_left`` counts the thresholds strictly below ``x``, which is the cell that
        scikit-learn's ``x <= threshold`` routing reaches.
        """
        amount, distance, risk = row
        return self._table[
            bisect_left(self._amount, amount) * self._stride_amount
            + bisect_left(self._distance, distance) * self._stride_distance
            + bisect_left(self._risk, risk)
        ]

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Return the fraud probability of each row of an ``[n, 3]`` float64 array."""
        index = tuple(
            np.searchsorted(t, rows[:, feature], side="left")
            for feature, t in enumerate(self.thresholds)
        )
        return self.probabilities[index]

    def to_bytes(self) -> bytes:
        """Serialise as a reproducible ``.npz`` (fixed member times, deflated, no pickles)."""
        arrays = {f"thresholds_{feature}": t for feature, t in enumerate(self.thresholds)}
        arrays["probabilities"] = self.probabilities
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, array in arrays.items():
                member = io.BytesIO()
                np.lib.format.write_array(member, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, member.getvalue())
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path) -> "GridModel":
        """Read a table written by ``to_bytes``."""
        with np.load(path, allow_pickle=False) as archive:
            thresholds = [archive[f"thresholds_{feature}"] for feature in range(N_FEATURES)]
            return cls(thresholds, archive["probabilities"])


def split_thresholds(classifier: Any) -> tuple[np.ndarray, ...]:
    """Collect, per feature, the sorted distinct thresholds of every numerical split.

    Raises:
        GridUnavailableError: When the model is not a binary ``HistGradientBoostingClassifier`` with
            numerical splits only, or a threshold lies outside the float32 range.
    """
    predictors = getattr(classifier, "_predictors", None)
    if predictors is None or getattr(classifier, "n_trees_per_iteration_", None) != 1:
        raise GridUnavailableError(
            f"{type(classifier).__name__} is not a binary HistGradientBoostingClassifier"
        )
    nodes = np.concatenate([tree.nodes for iteration in predictors for tree in iteration])
    splits = nodes[nodes["is_leaf"] == 0]
    if np.any(splits["is_categorical"]):
        raise GridUnavailableError("the model has categorical splits, which a grid cannot express")
    thresholds = tuple(
        np.unique(splits["num_threshold"][splits["feature_idx"] == feature])
        for feature in range(N_FEATURES)
    )
    for feature, t in zip(FEATURES, thresholds, strict=True):
        if len(t) and not -FLOAT32_MAX < t[0] <= t[-1] < FLOAT32_MAX:
            raise GridUnavailableError(f"a threshold of {feature} lies outside the float32 range")
    return thresholds


def _fraud_probability(classifier: Any, rows: np.ndarray) -> np.ndarray:
    """scikit-learn's fraud probability of float64 rows, fed by feature name like in training."""
    import pandas as pd

    return classifier.predict_proba(pd.DataFrame(rows, columns=list(FEATURES)))[:, 1]


def _score_grid(classifier: Any, points: Sequence[np.ndarray]) -> np.ndarray:
    """Score every combination of the per-feature ``points``: an array of their grid's shape.

    Scored in chunks of about a million rows, a few slabs (fixed first feature values) each: few
    enough calls that scikit-learn's per-call overhead does not matter, and bounded memory.
    """
    rest = np.stack(
        [axis.ravel() for axis in np.meshgrid(points[1], points[2], indexing="ij")], axis=1
    )
    slabs_per_chunk = max(1, 2**20 // len(rest))
    scores = np.empty((len(points[0]), len(rest)))
    for start in range(0, len(points[0]), slabs_per_chunk):
        values = points[0][start : start + slabs_per_chunk]
        chunk = np.empty((len(values), len(rest), N_FEATURES))
        chunk[:, :, 0] = values[:, None]
        chunk[:, :, 1:] = rest
        scores[start : start + len(values)] = _fraud_probability(
            classifier, chunk.reshape(-1, N_FEATURES)
        ).reshape(len(values), len(rest))
    return scores.reshape(tuple(len(axis) for axis in points))


def build_grid(classifier: Any, *, max_bytes: int = MAX_GRID_BYTES) -> GridModel:
    """Tabulate the classifier, scoring each cell once at its upper corner.

    The upper corner is ``t[i]`` (the last cell's, ``FLOAT32_MAX``), which scikit-learn's
    ``x <= threshold`` keeps inside the cell.

    Raises:
        GridUnavailableError: When the model cannot be tabulated or the table exceeds ``max_bytes``.
    """
    thresholds = split_thresholds(classifier)
    shape = tuple(len(t) + 1 for t in thresholds)
    size = math.prod(shape) * np.dtype(np.float32).itemsize
    if size > max_bytes:
        raise GridUnavailableError(
            f"the table would have {' x '.join(map(str, shape))} cells, {size / 2**20:.1f} MiB,"
            f" over the {max_bytes / 2**20:.1f} MiB limit"
        )
    upper = [np.append(t, FLOAT32_MAX) for t in thresholds]
    return GridModel(thresholds, _score_grid(classifier, upper).astype(np.float32))


def _edge_rows(grid: GridModel, rows: np.ndarray, seed: int) -> np.ndarray:
    """Rows that probe the cell boundaries and the input range.

    Each threshold and the floats just below and above it, for each feature in turn (the other
    features taken from ``rows``); every combination of ``-FLOAT32_MAX``, 0 and ``FLOAT32_MAX``;
    random values of every magnitude up to 1e38, and random values in the realistic range.
    """
    generator = np.random.default_rng(seed)
    probes = []
    for feature, t in enumerate(grid.thresholds):
        values = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)])
        probe = rows[generator.integers(0, len(rows), len(values))].copy()
        probe[:, feature] = values
        probes.append(probe)
    extremes = np.array([-FLOAT32_MAX, 0.0, FLOAT32_MAX])
    probes.append(np.stack(np.meshgrid(extremes, extremes, extremes), axis=-1).reshape(-1, 3))
    magnitudes = 10.0 ** generator.uniform(-6, 38, (2_000, N_FEATURES))
    probes.append(magnitudes * generator.choice([-1.0, 1.0], magnitudes.shape))
    probes.append(generator.uniform(-10, 2_000, (2_000, N_FEATURES)))
    return np.concatenate(probes)


def verify_grid(grid: GridModel, classifier: Any, rows: np.ndarray, *, seed: int = 0) -> float:
    """Check that the table gives the classifier's probabilities, exhaustively over the cells.

    Every cell is scored again at its lower corner (just above ``t[i-1]``; cell 0 at
    ``-FLOAT32_MAX``), the opposite end from where it was built, and looked up by the same
    binary search: a missing threshold or a wrong entry shows as a difference. Then ``rows``,
    rows on and next to every threshold, the extremes and random values go through the scalar
    path the server runs, which must also agree with the vectorised one exactly.

    Args:
        grid: The table to check.
        classifier: The trained classifier it must reproduce.
        rows: Realistic rows, ``[n, 3]`` float64 (e.g. the test set).
        seed: Seed of the random probes.

    Returns:
        The largest absolute difference seen.

    Raises:
        GridMismatchError: When a difference exceeds ``GRID_TOLERANCE``.
    """
    lower = [np.concatenate([[-FLOAT32_MAX], np.nextafter(t, np.inf)]) for t in grid.thresholds]
    cells = [
        np.searchsorted(t, corners, side="left")
        for t, corners in zip(grid.thresholds, lower, strict=True)
    ]
    differences = np.abs(grid.probabilities[np.ix_(*cells)] - _score_grid(classifier, lower))
    worst = np.unravel_index(np.argmax(differences), differences.shape)
    max_diff = float(differences[worst])
    if max_diff > GRID_TOLERANCE:
        corner = [float(corners[i]) for corners, i in zip(lower, worst, strict=True)]
        raise GridMismatchError(
            f"the table differs from the classifier by {max_diff:.2e} at {corner}"
            f" (a cell's lower corner; tolerance {GRID_TOLERANCE:.0e})"
        )
    probes = np.concatenate([rows, _edge_rows(grid, rows, seed)])
    scalar = np.array([grid.predict_one(row) for row in probes.tolist()], dtype=np.float32)
    mismatched = np.flatnonzero(scalar != grid.predict(probes))
    if len(mismatched):
        raise GridMismatchError(
            f"scalar and vectorised lookups disagree at {probes[mismatched[0]].tolist()}"
        )
    differences = np.abs(scalar - _fraud_probability(classifier, probes))
    worst = int(np.argmax(differences))
    if differences[worst] > GRID_TOLERANCE:
        raise GridMismatchError(
            f"the table differs from the classifier by {differences[worst]:.2e} at"
            f" {probes[worst].tolist()} (tolerance {GRID_TOLERANCE:.0e})"
        )
    return max(max_diff, float(differences[worst]))
