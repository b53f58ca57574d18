"""Fixtures for the drift check: a training baseline and live rows from the same generator."""

from __future__ import annotations

import pytest

from mlops_cdk.drift.baseline import build_baseline
from tests.drift.drift_fakes import FEATURES, MODEL_VERSION, training_rows


@pytest.fixture(scope="session")
def baseline() -> dict:
    """A baseline of 20,000 training rows (seed 1) of model version 7."""
    return build_baseline(
        FEATURES,
        training_rows(20_000, seed=1),
        dataset_digest="sha256:test",
        model_version=MODEL_VERSION,
    )


@pytest.fixture(scope="session")
def live_rows() -> list[list[float]]:
    """5,000 rows from the same generator with another seed: no drift."""
    return training_rows(5_000, seed=2)
