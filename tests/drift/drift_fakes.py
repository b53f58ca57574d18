"""Builders for drift tests: the seeded training generator, baselines and capture files.

Not a conftest.py: tests/lambdas imports its own ``conftest`` module by that bare name, which a
second conftest.py on the path would shadow.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"
if str(MODEL_SRC) not in sys.path:
    sys.path.insert(0, str(MODEL_SRC))

from fraud_model.data import generate  # noqa: E402 - needs the path above
from fraud_model.schema import FEATURES  # noqa: E402

from mlops_cdk.drift.baseline import build_baseline  # noqa: E402
from mlops_cdk.drift.capture import capture_record  # noqa: E402

MODEL_VERSION = "7"


def training_rows(n_samples: int, seed: int) -> list[list[float]]:
    """Rows drawn from the training generator, in ``FEATURES`` order."""
    return generate(n_samples, seed=seed)[list(FEATURES)].to_numpy().tolist()


def scaled(rows: Sequence[Sequence[float]], column: int, factor: float) -> list[list[float]]:
    return [[v * factor if i == column else v for i, v in enumerate(row)] for row in rows]


def capture_lines(rows: Sequence[Sequence[float]], *, version: str = MODEL_VERSION) -> list[str]:
    """One SageMaker capture line per row, as the model server renders it (KServe v1 body)."""
    return [
        capture_record(
            f'{{"instances": [{row[0]}, {row[1]}, {row[2]}]}}'.encode(),
            b'{"predictions": [0.1]}',
            content_type="application/json",
            model_version=version,
            event_id=str(uuid.uuid4()),
            inference_time="2026-12-04T15:00:00.000Z",
        )
        for row in rows
    ]


def write_capture(directory: Path, lines: Sequence[str], name: str = "part.jsonl") -> Path:
    """Write lines in SageMaker's layout ``<endpoint>/<variant>/yyyy/mm/dd/hh/<file>``."""
    path = directory / "fraud-endpoint" / "AllTraffic" / "2026" / "12" / "04" / "15" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@functools.cache
def training_baseline() -> dict:
    """A baseline of 20,000 training rows (seed 1) of model version 7 (built once)."""
    return build_baseline(
        FEATURES,
        training_rows(20_000, seed=1),
        dataset_digest="sha256:test",
        model_version=MODEL_VERSION,
    )


@functools.cache
def live_training_rows() -> list[list[float]]:
    """5,000 rows from the same generator with another seed: no drift (built once)."""
    return training_rows(5_000, seed=2)
