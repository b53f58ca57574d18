"""Train the fraud-detection model, track it in MLflow and gate it against the champion.

Run as ``python -m fraud_model.train``. The tracking URI is ``MLFLOW_TRACKING_URI`` when set (a
remote server works unchanged), else a local SQLite file, ``model/mlflow.db``, whose artifacts go
to ``model/mlruns``. Every run registers a new version of ``fraud-detection``; the ``challenger``
alias moves to it only when it passes the gate, and only then are ``model/artifacts`` rewritten.
``champion`` moves only when prod promotes the release (``fraud_model.promotion``). The gate
compares with the registry's champion (scored on this run's test set) or, when the registry has
none (no tracking server: a fresh local store), with the champion's metrics recorded in
``s3://$ARTIFACTS_BUCKET/models/fraud-detection/champion/metrics.json``; only the first model
ever is accepted without a comparison, and the log says so.
With ``--data DIR`` it trains on the CSV files there (the files retrain.yml fetched) instead of
synthetic data. Each run also logs ``baseline.json``, the per-feature distribution of its
training data that the drift check compares live traffic with (``mlops_cdk.drift.baseline``;
run from the repository root, as ``make train`` does), and ships it in ``model.tar.gz``.
The command exits with status 3 and names each failed check when the gate
rejects the model (1 for any other failure); ``--gate-report FILE`` also writes the verdict as
JSON, so automation can tell a clean rejection from a crash.
"""

import argparse
import json
import logging
import os
import sys
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from fraud_model.data import DEFAULT_FRAUD_RATE, TARGET, DataError, generate, load_csv
from fraud_model.gate import GateConfig, GateResult, evaluate_gate
from fraud_model.package import PackagingError, write_artifacts
from fraud_model.promotion import CHAMPION_RECORD_KEY, read_champion_record
from fraud_model.schema import (
    BASELINE_FILE,
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    FEATURES,
    MODEL_DIR,
    MODEL_NAME,
)
from fraud_model.tracking import configure_tracking, experiment_id
from mlops_cdk.drift.baseline import build_baseline

LOG = logging.getLogger(__name__)

SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
"""Our own tree type, which skops cannot vet; we trust it because we trained the model."""


@dataclass(frozen=True)
class TrainConfig:
    """Data and model settings of one training run (all logged as MLflow parameters).

    Attributes:
        n_samples: Rows generated; split 60/20/20 into train, validation (threshold) and test.
        data_dir: Train on the CSV files in this directory instead of generated data.
        fraud_rate: Share of fraudulent rows.
        seed: Seed of the data generator, the split and the model.
        max_iter: Boosting iterations.
        learning_rate: Boosting learning rate.
        max_leaf_nodes: Leaves per tree.
    """

    n_samples: int = 50_000
    fraud_rate: float = DEFAULT_FRAUD_RATE
    seed: int = 42
    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        """Reject out-of-range settings, naming each field and the accepted range."""
        errors = []
        if self.n_samples < 1_000:
            errors.append(f"n_samples = {self.n_samples}; use at least 1000")
        if not 0 < self.fraud_rate < 0.5:
            errors.append(f"fraud_rate = {self.fraud_rate}; use a value in (0, 0.5)")
        if self.max_iter < 1:
            errors.append(f"max_iter = {self.max_iter}; use at least 1")
        if not 0 < self.learning_rate <= 1:
            errors.append(f"learning_rate = {self.learning_rate}; use a value in (0, 1]")
        if self.max_leaf_nodes < 2:
            errors.append(f"max_leaf_nodes = {self.max_leaf_nodes}; use at least 2")
        if errors:
            raise ValueError("invalid training configuration: " + "; ".join(errors))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        """The config of a parsed command line, whose options are named after the fields."""
        return cls(**{field.name: getattr(args, field.name) for field in fields(cls)})


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: registry version, test metrics and the gate's verdict."""

    run_id: str
    version: str
    metrics: dict[str, float]
    gate: GateResult
    tarball: Path | None


def _best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the probability threshold that maximises F1 on the validation set."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def score(classifier: ClassifierMixin, test: pd.DataFrame, threshold: float) -> dict[str, float]:
    """Return ROC AUC, PR AUC and F1/precision/recall at ``threshold`` on ``test``."""
    labels = test[TARGET].to_numpy()
    proba = classifier.predict_proba(test[list(FEATURES)])[:, 1]
    predicted = (proba >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(labels, proba)),
        "pr_auc": float(average_precision_score(labels, proba)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
    }


@dataclass(frozen=True)
class ChampionReference:
    """What the candidate is compared with: the champion's metrics, version and their basis."""

    metrics: dict[str, float]
    version: str
    basis: str


def champion_reference(
    client: mlflow.MlflowClient, test: pd.DataFrame, artifacts_bucket: str | None
) -> ChampionReference | None:
    """The registry's champion scored on ``test``, else the champion recorded in the bucket.

    None only when neither exists: the first model ever, which the log reports.
    """
    try:
        version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    except mlflow.exceptions.MlflowException:
        version = None
    if version is not None:
        champion = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}")
        threshold = float(client.get_run(version.run_id).data.params["threshold"])
        metrics = score(champion, test, threshold)
        return ChampionReference(metrics, str(version.version), "on the same test set")
    location = f"s3://{artifacts_bucket}/{CHAMPION_RECORD_KEY}"
    record = read_champion_record(artifacts_bucket) if artifacts_bucket else None
    if record is not None:
        LOG.info("no champion in the registry: comparing with the one recorded at %s", location)
        basis = f"as recorded at its promotion ({location})"
        return ChampionReference(record["metrics"], str(record["model_version"]), basis)
    searched = location if artifacts_bucket else "ARTIFACTS_BUCKET (not set)"
    LOG.warning(
        "no champion in the registry at %s nor in %s: this is the first model, so the gate "
        "checks only the minimums and compares with nothing",
        mlflow.get_tracking_uri(),
        searched,
    )
    return None


def load_frame(config: TrainConfig) -> tuple[pd.DataFrame, str]:
    """The rows to train on and the dataset's name: the ``--data`` CSVs, else generated rows."""
    if config.data_dir is not None:
        return load_csv(config.data_dir), "transactions"
    frame = generate(config.n_samples, fraud_rate=config.fraud_rate, seed=config.seed)
    return frame, "synthetic-transactions"


def fit(
    config: TrainConfig, frame: pd.DataFrame
) -> tuple[ClassifierMixin, float, dict[str, float], pd.DataFrame]:
    """Split 60/20/20, fit, pick the F1 threshold on validation and score on test.

    Returns:
        The classifier, its threshold, its test metrics and the test set.
    """
    train_set, rest = train_test_split(
        frame, test_size=0.4, stratify=frame[TARGET], random_state=config.seed
    )
    validation, test = train_test_split(
        rest, test_size=0.5, stratify=rest[TARGET], random_state=config.seed
    )
    classifier = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        early_stopping=False,
        random_state=config.seed,
    ).fit(train_set[list(FEATURES)], train_set[TARGET])
    threshold = _best_f1_threshold(
        validation[TARGET].to_numpy(),
        classifier.predict_proba(validation[list(FEATURES)])[:, 1],
    )
    return classifier, threshold, score(classifier, test, threshold), test


@dataclass(frozen=True)
class _Candidate:
    """A fitted model and what its run logs."""

    classifier: ClassifierMixin
    threshold: float
    metrics: dict[str, float]
    test: pd.DataFrame
    dataset: Any


def log_run(
    candidate: _Candidate,
    params: dict[str, Any],
    champion: dict[str, float] | None,
    gate: GateResult,
    tracking_uri: str,
) -> tuple[str, str]:
    """Log the run (params, metrics, dataset, model) and register it; return (run id, version)."""
    with mlflow.start_run(experiment_id=experiment_id(tracking_uri)) as run:
        mlflow.log_params(params)
        mlflow.log_params(
            {"threshold": candidate.threshold, "dataset_digest": candidate.dataset.digest}
        )
        mlflow.log_metrics(candidate.metrics)
        if champion is not None:
            mlflow.log_metrics({f"champion_{name}": value for name, value in champion.items()})
        with warnings.catch_warnings():
            # The 0/1 target is an integer column by design; MLflow's hint about NaNs is moot.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            mlflow.log_input(candidate.dataset, context="training")
        example = candidate.test[list(FEATURES)].head(2)
        model_info = mlflow.sklearn.log_model(
            candidate.classifier,
            name="model",
            signature=infer_signature(example, candidate.classifier.predict_proba(example)),
            input_example=example,
            registered_model_name=MODEL_NAME,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        verdict = "passed" if gate.passed else "failed"
        mlflow.set_tags({"gate": verdict, "gate_message": gate.message()})
    version = str(model_info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(MODEL_NAME, version, "gate", verdict)
    client.set_model_version_tag(MODEL_NAME, version, "gate_message", gate.message())
    return run.info.run_id, version


def train(
    config: TrainConfig | None = None,
    gate_config: GateConfig | None = None,
    output_dir: Path = MODEL_DIR,
) -> TrainResult:
    """Train, log to MLflow, register a version and make it challenger if it passes the gate.

    Args:
        config: Data and model settings; the defaults of ``TrainConfig`` when None.
        gate_config: Thresholds of the evaluation gate; ``GateConfig``'s defaults when None.
        output_dir: Where the artifacts go when the model becomes challenger.

    Returns:
        The run's result; the caller decides how to report a failed gate.
    """
    config = config or TrainConfig()
    gate_config = gate_config or GateConfig()
    tracking_uri = configure_tracking()
    frame, dataset_name = load_frame(config)
    classifier, threshold, metrics, test = fit(config, frame)
    client = mlflow.MlflowClient()
    reference = champion_reference(client, test, os.environ.get("ARTIFACTS_BUCKET") or None)
    champion = reference.metrics if reference else None
    gate = evaluate_gate(
        metrics,
        champion,
        gate_config,
        champion_version=reference.version if reference else None,
        champion_basis=reference.basis if reference else "",
    )
    dataset = mlflow.data.from_pandas(frame, name=dataset_name, targets=TARGET)
    candidate = _Candidate(classifier, threshold, metrics, test, dataset)
    params = {**asdict(config), **asdict(gate_config)}
    params["data_dir"] = str(config.data_dir or "synthetic")
    run_id, version = log_run(candidate, params, champion, gate, tracking_uri)
    baseline = build_baseline(
        FEATURES,
        frame[list(FEATURES)].itertuples(index=False),
        dataset_digest=dataset.digest,
        model_version=version,
    )
    client.log_dict(run_id, baseline, BASELINE_FILE)
    tarball = None
    if gate.passed:
        metadata = {
            "model_name": MODEL_NAME,
            "model_version": version,
            "run_id": run_id,
            "features": list(FEATURES),
            "threshold": threshold,
            "dataset_digest": dataset.digest,
            "metrics": metrics,
        }
        # Package (and verify the ONNX export) first: a model that cannot be served faithfully
        # must not become challenger.
        tarball = write_artifacts(classifier, metadata, test, output_dir, baseline=baseline)
        client.set_registered_model_alias(MODEL_NAME, CHALLENGER_ALIAS, version)
    return TrainResult(run_id, version, metrics, gate, tarball)


EXIT_GATE_REJECTED = 3
"""Exit status when the model trained fine but the gate kept it from becoming challenger."""


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns 3 when the gate rejects the model, 1 on errors."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    defaults, gate_defaults = TrainConfig(), GateConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=defaults.n_samples)
    parser.add_argument("--fraud-rate", type=float, default=defaults.fraud_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--max-iter", type=int, default=defaults.max_iter)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--max-leaf-nodes", type=int, default=defaults.max_leaf_nodes)
    parser.add_argument("--min-roc-auc", type=float, default=gate_defaults.min_roc_auc)
    parser.add_argument("--min-pr-auc", type=float, default=gate_defaults.min_pr_auc)
    parser.add_argument("--max-regression", type=float, default=gate_defaults.max_regression)
    parser.add_argument("--output-dir", type=Path, default=MODEL_DIR)
    parser.add_argument(
        "--data", dest="data_dir", type=Path, help="directory of CSV files to train on"
    )
    parser.add_argument("--gate-report", type=Path, help="write the gate's verdict here (JSON)")
    args = parser.parse_args(argv)
    errors = []
    try:
        config = TrainConfig.from_args(args)
    except ValueError as error:
        errors.append(str(error))
    try:
        gate_config = GateConfig(args.min_roc_auc, args.min_pr_auc, args.max_regression)
    except ValueError as error:
        errors.append(str(error))
    if errors:
        parser.error("; ".join(errors))
    try:
        result = train(config, gate_config, args.output_dir)
    except (PackagingError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.gate_report is not None:
        args.gate_report.write_text(
            json.dumps(
                {
                    "passed": result.gate.passed,
                    "message": result.gate.message(),
                    "version": result.version,
                    "metrics": result.metrics,
                },
                indent=2,
            )
        )
    summary = ", ".join(f"{name}={value:.4f}" for name, value in result.metrics.items())
    print(f"{MODEL_NAME} version {result.version} (run {result.run_id}): {summary}")
    if not result.gate.passed:
        print(f"error: version {result.version} {result.gate.message()}", file=sys.stderr)
        return EXIT_GATE_REJECTED
    print(
        f"version {result.version} is now '{CHALLENGER_ALIAS}' (it becomes '{CHAMPION_ALIAS}' "
        f"when prod promotes it); artifacts in {result.tarball}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
