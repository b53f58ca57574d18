"""Population stability index (PSI) of live rows against a baseline, and the drift decision.

``PSI = sum((actual_i - expected_i) * ln(actual_i / expected_i))`` over the baseline's bins.
Empty bins would make the logarithm infinite, so both shares are floored at ``EPSILON``.
Rules of thumb: below 0.1 stable, 0.1-0.2 moderate shift, above 0.2 a significant shift;
``DEFAULT_THRESHOLD`` is 0.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_cdk.drift.baseline import proportions

DEFAULT_THRESHOLD = 0.2
EPSILON = 1e-4


def psi(expected: Sequence[float], actual: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """PSI between two distributions over the same bins (shares floored at ``epsilon``)."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} expected bins but {len(actual)} actual ones")
    total = 0.0
    for expected_share, actual_share in zip(expected, actual, strict=True):
        floor_expected = max(expected_share, epsilon)
        floor_actual = max(actual_share, epsilon)
        total += (floor_actual - floor_expected) * math.log(floor_actual / floor_expected)
    return total


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one check.

    Attributes:
        drift: ``max_psi`` exceeds ``threshold``.
        max_psi: Largest per-feature PSI.
        rows: Rows compared.
        threshold: The threshold applied.
        features: PSI per feature name, in the baseline's order.
    """

    drift: bool
    max_psi: float
    rows: int
    threshold: float
    features: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """``{"drift", "max_psi", "rows", "features": {name: {"psi"}}}``, the documented output."""
        return {
            "drift": self.drift,
            "max_psi": self.max_psi,
            "rows": self.rows,
            "features": {name: {"psi": value} for name, value in self.features.items()},
        }


def feature_psi(baseline: Mapping[str, Any], rows: Sequence[Sequence[float]]) -> dict[str, float]:
    """PSI of each baseline feature over ``rows`` (values in the baseline's feature order)."""
    result = {}
    for column, feature in enumerate(baseline["features"]):
        shares, _ = proportions((row[column] for row in rows), feature["edges"])
        result[feature["name"]] = psi(feature["proportions"], shares)
    return result


def detect_drift(
    baseline: Mapping[str, Any],
    rows: Sequence[Sequence[float]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> DriftResult:
    """Compare ``rows`` with ``baseline``; drift when the largest feature PSI > ``threshold``.

    Raises:
        ValueError: ``threshold`` is not positive, or there are no rows.
    """
    if not threshold > 0:
        raise ValueError(f"threshold = {threshold}; use a positive PSI such as 0.2")
    if not rows:
        raise ValueError("no rows to compare with the baseline")
    features = feature_psi(baseline, rows)
    max_psi = max(features.values())
    return DriftResult(
        drift=max_psi > threshold,
        max_psi=max_psi,
        rows=len(rows),
        threshold=threshold,
        features=features,
    )
