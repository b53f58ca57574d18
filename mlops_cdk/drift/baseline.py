"""The reference distribution of the training data, per feature, as a JSON document.

Each feature gets ``bins`` quantile bins of its training values. Only the interior edges are
stored; the first bin is open below and the last open above, so a live value outside the
training range still lands in a bin (and moves the PSI) instead of being dropped. A value ``v``
falls in bin ``i`` when ``edges[i-1] < v <= edges[i]`` (:func:`bin_index`).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BASELINE_FORMAT = "mlops-cdk/drift-baseline"
BASELINE_VERSION = 1
MIN_BINS, MAX_BINS = 2, 100
_PROPORTION_TOLERANCE = 1e-6


class BaselineError(ValueError):
    """A baseline that cannot be built or used; the message names the field and the fix."""


def bin_index(edges: Sequence[float], value: float) -> int:
    """The bin of ``value``: 0 up to ``edges[0]`` (inclusive), ``len(edges)`` above the last."""
    return bisect.bisect_left(edges, value)


def quantile_edges(values: Sequence[float], bins: int) -> list[float]:
    """Interior edges at the ``1/bins .. (bins-1)/bins`` quantiles, strictly increasing.

    Each edge is a training value (the lower of the two around the quantile), so a feature with
    few distinct values gets edges on those values and collapses to fewer bins.
    """
    ordered = sorted(values)
    last = len(ordered) - 1
    edges: list[float] = []
    for step in range(1, bins):
        edge = ordered[last * step // bins]
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def proportions(values: Iterable[float], edges: Sequence[float]) -> tuple[list[float], int]:
    """Share of ``values`` per bin of ``edges`` (``len(edges) + 1`` bins) and the count."""
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[bin_index(edges, value)] += 1
    total = sum(counts)
    if total == 0:
        return [0.0] * len(counts), 0
    return [count / total for count in counts], total


def build_baseline(
    feature_names: Sequence[str],
    rows: Iterable[Sequence[float]],
    *,
    bins: int = 10,
    dataset_digest: str,
    model_version: str | None = None,
) -> dict[str, Any]:
    """Build the baseline document of the training ``rows``.

    Args:
        feature_names: Feature order of a row (``fraud_model.schema.FEATURES``).
        rows: Training rows, each with one finite number per feature.
        bins: Quantile bins per feature (2-100). Default 10, the usual choice for PSI.
        dataset_digest: Digest of the training data (the one logged to MLflow).
        model_version: Registered model version trained on these rows; the drift check skips
            captured records that another version served. ``None`` when not yet registered.

    Returns:
        A JSON-serialisable dict; see ``docs/drift.md`` for its fields.

    Raises:
        BaselineError: Bad ``bins``, no features, a row of the wrong width, a non-finite value,
            or no rows.
    """
    if not MIN_BINS <= bins <= MAX_BINS:
        raise BaselineError(f"bins = {bins}; use {MIN_BINS} to {MAX_BINS}")
    names = list(feature_names)
    if not names or len(set(names)) != len(names):
        raise BaselineError(f"feature_names = {names}; give each feature once")
    columns: list[list[float]] = [[] for _ in names]
    for number, row in enumerate(rows):
        if len(row) != len(names):
            raise BaselineError(f"row {number} has {len(row)} values; expected {len(names)}")
        for column, value in zip(columns, row, strict=True):
            number_value = float(value)
            if not math.isfinite(number_value):
                raise BaselineError(f"row {number} holds a non-finite value {value!r}")
            column.append(number_value)
    if not columns[0]:
        raise BaselineError("no training rows: a baseline needs the data the model learned from")
    features = []
    for name, column in zip(names, columns, strict=True):
        edges = quantile_edges(column, bins)
        shares, _ = proportions(column, edges)
        features.append({"name": name, "edges": edges, "proportions": shares})
    return {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "model_version": model_version,
        "dataset_digest": dataset_digest,
        "rows": len(columns[0]),
        "bins": bins,
        "features": features,
    }


def write_baseline(path: str | Path, baseline: Mapping[str, Any]) -> Path:
    """Validate ``baseline`` and write it as JSON to ``path``; returns the path."""
    validate_baseline(baseline, source=str(path))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(baseline, indent=1) + "\n")
    return target


def load_baseline(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a baseline from a JSON file (or take a parsed dict) and validate it.

    Raises:
        BaselineError: The file is missing or not JSON, or a field is wrong (named in the
            message with the source).
    """
    if isinstance(source, Mapping):
        document, name = dict(source), "baseline"
    else:
        path = Path(source)
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise BaselineError(
                f"no baseline at {path}: run `make train` (it writes model/artifacts/"
                "baseline.json) or pass the baseline of the model that served the traffic"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise BaselineError(f"{path} is not a JSON baseline: {error}") from None
        name = str(path)
    validate_baseline(document, source=name)
    return document


def validate_baseline(document: Any, *, source: str = "baseline") -> None:
    """Check every field of a baseline; raise once listing all problems."""
    if not isinstance(document, Mapping):
        raise BaselineError(f"{source}: expected a JSON object, got {type(document).__name__}")
    problems = []
    if document.get("format") != BASELINE_FORMAT or document.get("version") != BASELINE_VERSION:
        problems.append(
            f"format/version = {document.get('format')!r}/{document.get('version')!r}; "
            f"expected {BASELINE_FORMAT!r}/{BASELINE_VERSION} (rebuild it with `make train`)"
        )
    rows = document.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        problems.append(f"rows = {rows!r}; expected a positive integer")
    if not isinstance(document.get("dataset_digest"), str):
        problems.append("dataset_digest is missing; expected the training data's digest")
    version = document.get("model_version")
    if version is not None and not isinstance(version, str):
        problems.append(f"model_version = {version!r}; expected a string or null")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        problems.append("features is empty; expected one entry per feature")
    else:
        for index, feature in enumerate(features):
            problems.extend(_feature_problems(index, feature))
    if problems:
        raise BaselineError(f"{source}: " + "; ".join(problems))


def _feature_problems(index: int, feature: Any) -> list[str]:
    if not isinstance(feature, Mapping) or not isinstance(feature.get("name"), str):
        return [f"features[{index}] needs a name, edges and proportions"]
    label = f"features[{index}] ({feature['name']})"
    edges, shares = feature.get("edges"), feature.get("proportions")
    if not isinstance(edges, list) or not all(_is_finite(edge) for edge in edges):
        return [f"{label}.edges must be a list of finite numbers"]
    if any(later <= earlier for earlier, later in itertools.pairwise(edges)):
        return [f"{label}.edges must increase strictly"]
    if not isinstance(shares, list) or len(shares) != len(edges) + 1:
        return [f"{label}.proportions must hold len(edges) + 1 = {len(edges) + 1} numbers"]
    if not all(_is_finite(share) and 0 <= share <= 1 for share in shares):
        return [f"{label}.proportions must lie in [0, 1]"]
    if abs(sum(shares) - 1) > _PROPORTION_TOLERANCE:
        return [f"{label}.proportions sum to {sum(shares):.6f}; expected 1"]
    return []


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
