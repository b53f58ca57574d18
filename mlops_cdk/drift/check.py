"""The drift check: capture rows against a baseline, printed as text or one JSON object."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_cdk.drift.capture import CaptureRows, read_directory
from mlops_cdk.drift.psi import DEFAULT_THRESHOLD, DriftResult, detect_drift


def check_directory(
    capture_dir: str | Path,
    baseline: Mapping[str, Any],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[DriftResult, CaptureRows]:
    """Read the capture under ``capture_dir`` and compare it with ``baseline``.

    Records that another model version served than the baseline's are skipped.

    Raises:
        CaptureError: No capture files, or no usable rows (the message says what was skipped).
    """
    capture = read_directory(
        capture_dir,
        n_features=len(baseline["features"]),
        model_version=baseline.get("model_version"),
    )
    result = detect_drift(baseline, capture.require_rows(), threshold=threshold)
    return result, capture


def render_text(result: DriftResult, capture: CaptureRows) -> str:
    """A table of PSI per feature, the rows read and the verdict, for people."""
    width = max(len(name) for name in result.features)
    lines = [f"{'feature':<{width}}  psi"]
    lines += [f"{name:<{width}}  {value:.4f}" for name, value in result.features.items()]
    verdict = "DRIFT" if result.drift else "no drift"
    lines.append(
        f"rows read: {result.rows} from {capture.records} records in {capture.files} files "
        f"({capture.malformed} malformed lines, {capture.other_version} records of another "
        "model version skipped)"
    )
    lines.append(f"max psi {result.max_psi:.4f} vs threshold {result.threshold}: {verdict}")
    return "\n".join(lines)


def render_json(result: DriftResult) -> str:
    """Exactly one JSON object: ``{"drift", "max_psi", "rows", "features"}``."""
    return json.dumps(result.to_json())
