import json
import tarfile

import mlflow
import pandas as pd
import pytest
from fraud_model import package, promotion, train
from fraud_model.data import TARGET, DataError, generate, load_csv
from fraud_model.gate import GateConfig
from fraud_model.schema import (
    BASELINE_FILE,
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    FEATURES,
    METRICS_FILE,
    MODEL_NAME,
    TARBALL_FILE,
)
from fraud_model.train import TrainConfig

from mlops_cdk.drift.baseline import load_baseline
from mlops_cdk.drift.psi import detect_drift

SMALL = TrainConfig(n_samples=6_000, max_iter=40)
GATE = GateConfig(min_roc_auc=0.85, min_pr_auc=0.5)
GATE_ARGS = ["--min-roc-auc", "0.85", "--min-pr-auc", "0.5"]


@pytest.fixture(scope="module")
def champion(tracking_uri, tmp_path_factory):
    """The first run in a fresh store (no champion to beat, so it must pass), then promoted as
    the prod deploy does: the gate alone only names a challenger."""
    output_dir = tmp_path_factory.mktemp("artifacts")
    result = train.train(SMALL, GATE, output_dir)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    challenger = str(client.get_model_version_by_alias(MODEL_NAME, CHALLENGER_ALIAS).version)
    aliases_after_the_gate = list(client.get_model_version(MODEL_NAME, result.version).aliases)
    promotion.promote(result.version, f"abcdef0-m{result.version}")
    return result, output_dir, challenger, aliases_after_the_gate


def _champion_version(tracking_uri: str) -> str:
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    return str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS).version)


def test_passing_model_becomes_challenger_with_artifacts_then_champion(champion, tracking_uri):
    result, output_dir, challenger, aliases_after_the_gate = champion
    assert result.gate.passed, result.gate.message()
    assert challenger == result.version and aliases_after_the_gate == [CHALLENGER_ALIAS]
    assert _champion_version(tracking_uri) == result.version
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    assert client.get_model_version(MODEL_NAME, result.version).tags["gate"] == "passed"
    metadata = json.loads((output_dir / METRICS_FILE).read_text())
    assert metadata["model_version"] == result.version
    assert metadata["metrics"] == result.metrics
    assert (output_dir / TARBALL_FILE).is_file()


def test_run_tracks_params_metrics_dataset_and_model(champion, tracking_uri):
    result, *_ = champion
    run = mlflow.MlflowClient(tracking_uri=tracking_uri).get_run(result.run_id)
    assert {"roc_auc", "pr_auc", "f1"} <= run.data.metrics.keys()
    assert 0 < run.data.metrics["f1"] <= 1
    assert run.data.params["n_samples"] == "6000"
    dataset = run.inputs.dataset_inputs[0].dataset
    assert run.data.params["dataset_digest"] == dataset.digest
    mlflow.set_tracking_uri(tracking_uri)
    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/{result.version}")
    assert info.signature is not None
    assert info.saved_input_example_info is not None


def test_bad_model_is_registered_but_not_promoted(champion, tracking_uri, capsys, tmp_path):
    _, output_dir, *_ = champion
    before = (output_dir / METRICS_FILE).read_text()
    champion_before = _champion_version(tracking_uri)
    bad = ["--n-samples", "6000", "--max-iter", "1", "--max-leaf-nodes", "2"]
    report = tmp_path / "gate.json"
    args = [*bad, *GATE_ARGS, "--output-dir", str(output_dir), "--gate-report", str(report)]
    exit_code = train.main(args)
    assert exit_code == train.EXIT_GATE_REJECTED == 3
    verdict = json.loads(report.read_text())
    assert verdict["passed"] is False and "worse than the champion" in verdict["message"]
    stderr = capsys.readouterr().err
    assert "failed the evaluation gate" in stderr
    assert "is worse than the champion's" in stderr
    assert _champion_version(tracking_uri) == champion_before
    latest = max(
        mlflow.MlflowClient(tracking_uri=tracking_uri).search_model_versions(
            f"name = '{MODEL_NAME}'"
        ),
        key=lambda version: int(version.version),
    )
    assert int(latest.version) > int(champion_before)
    assert latest.tags["gate"] == "failed"
    assert (output_dir / METRICS_FILE).read_text() == before


@pytest.fixture(scope="module")
def store_without_champion(tmp_path_factory) -> str:
    """A second store, where no version ever passes the gate (one DB migration, shared)."""
    return f"sqlite:///{tmp_path_factory.mktemp('no-champion') / 'mlflow.db'}"


def test_model_below_the_configured_minimum_fails_without_a_champion_to_beat(
    store_without_champion, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_without_champion)
    result = train.train(SMALL, GateConfig(min_pr_auc=0.999), tmp_path / "artifacts")
    assert not result.gate.passed
    assert result.gate.reasons[0].startswith("pr_auc = ")
    assert "below the minimum 0.9990" in result.gate.reasons[0]
    assert not (tmp_path / "artifacts").exists()


def test_package_rebuilds_the_champion(champion, tracking_uri, tmp_path):
    assert package.main(["--output-dir", str(tmp_path)]) == 0
    metadata = json.loads((tmp_path / METRICS_FILE).read_text())
    assert metadata["model_version"] == _champion_version(tracking_uri)
    assert (tmp_path / TARBALL_FILE).is_file()


def test_package_without_champion_explains(store_without_champion, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_without_champion)
    assert package.main(["--output-dir", str(tmp_path / "out")]) == 1
    assert "no 'champion' version of 'fraud-detection'" in capsys.readouterr().err


def test_invalid_training_settings_are_named(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--n-samples", "10", "--learning-rate", "2", "--min-pr-auc", "1.5"])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "n_samples = 10" in stderr
    assert "learning_rate = 2.0" in stderr
    assert "min_pr_auc = 1.5" in stderr


def _write_csv(directory, frame, name="part.csv"):
    directory.mkdir(parents=True, exist_ok=True)
    frame.to_csv(directory / name, index=False)


def test_trains_on_fetched_csv_files(tracking_uri, tmp_path):
    frame = generate(6_000, seed=7)
    _write_csv(tmp_path / "data", frame.iloc[:3000], "a.csv")
    _write_csv(tmp_path / "data" / "nested", frame.iloc[3000:].assign(extra="x"), "b.csv")
    config = TrainConfig(max_iter=40, data_dir=tmp_path / "data")
    result = train.train(
        config, GateConfig(min_roc_auc=0.5, min_pr_auc=0.0, max_regression=1.0), tmp_path / "out"
    )
    run = mlflow.MlflowClient(tracking_uri=tracking_uri).get_run(result.run_id)
    assert run.data.params["data_dir"] == str(tmp_path / "data")
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "transactions"
    # What was trained on is the CSVs' rows: their count and digest, computed here from the files.
    files = sorted((tmp_path / "data").rglob("*.csv"))
    fetched = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    fetched = fetched[[*FEATURES, TARGET]].astype({TARGET: "int64"})
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == len(fetched) == 6_000
    expected_digest = mlflow.data.from_pandas(fetched, targets=TARGET).digest
    assert run.data.params["dataset_digest"] == expected_digest
    assert dataset_input.dataset.digest == expected_digest


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["merchant_risk_score"]), "missing columns merchant_risk_score"),
        (lambda f: f.assign(amount="lots"), "non-numeric or missing values in amount"),
        (lambda f: f.assign(is_fraud=2), "is_fraud must be 0 or 1"),
        (lambda f: f.head(50), "need at least 1000 rows"),
        (lambda f: f.assign(is_fraud=0), "0 fraudulent"),
    ],
)
def test_bad_training_data_is_rejected_with_a_clear_error(tmp_path, capsys, mutate, message):
    _write_csv(tmp_path / "data", mutate(generate(2_000, seed=3)))
    assert train.main(["--data", str(tmp_path / "data"), "--output-dir", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err


def test_no_csv_files_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"no \.csv files"):
        load_csv(tmp_path)


def test_training_logs_and_ships_the_drift_baseline_of_its_data(champion, tracking_uri):
    result, output_dir, *_ = champion
    baseline = load_baseline(output_dir / BASELINE_FILE)
    run = mlflow.MlflowClient(tracking_uri=tracking_uri).get_run(result.run_id)
    assert baseline["model_version"] == result.version
    assert baseline["dataset_digest"] == run.data.params["dataset_digest"]
    assert baseline["rows"] == SMALL.n_samples
    assert [feature["name"] for feature in baseline["features"]] == list(FEATURES)
    mlflow.set_tracking_uri(tracking_uri)
    assert mlflow.artifacts.load_dict(f"runs:/{result.run_id}/{BASELINE_FILE}") == baseline
    with tarfile.open(output_dir / TARBALL_FILE, "r:gz") as archive:
        assert json.load(archive.extractfile(BASELINE_FILE)) == baseline
    fresh = generate(3_000, seed=11)[list(FEATURES)].to_numpy().tolist()
    assert detect_drift(baseline, fresh).max_psi < 0.1
    moved = detect_drift(baseline, [[amount * 5, *rest] for amount, *rest in fresh])
    assert moved.drift and max(moved.features, key=moved.features.get) == "amount"


def test_package_ships_the_champions_logged_baseline(champion, tracking_uri, tmp_path):
    assert package.main(["--output-dir", str(tmp_path)]) == 0
    baseline = load_baseline(tmp_path / BASELINE_FILE)
    assert baseline["model_version"] == _champion_version(tracking_uri)
