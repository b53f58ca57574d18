import json
import tarfile

import joblib
import numpy as np
import pytest
from fraud_model.data import generate
from fraud_model.package import (
    PackagingError,
    export_onnx,
    tabulate,
    verify_onnx,
    write_artifacts,
)
from fraud_model.schema import (
    BASELINE_FILE,
    FEATURES,
    GRID_FILE,
    JOBLIB_FILE,
    METRICS_FILE,
    ONNX_FILE,
    TARBALL_FILE,
)
from fraud_model.server import FraudModel
from sklearn.ensemble import HistGradientBoostingClassifier


def test_tarball_has_sagemaker_layout(served_model, tmp_path):
    _, model_dir = served_model
    with tarfile.open(model_dir / TARBALL_FILE, "r:gz") as archive:
        members = archive.getmembers()
        assert sorted(member.name for member in members) == sorted(
            [GRID_FILE, JOBLIB_FILE, METRICS_FILE, ONNX_FILE]
        )
        assert all(member.isfile() and member.mode == 0o644 for member in members)
        archive.extractall(tmp_path, filter="data")
    for name in (GRID_FILE, JOBLIB_FILE, METRICS_FILE, ONNX_FILE):
        assert (tmp_path / name).read_bytes() == (model_dir / name).read_bytes()


def test_extracted_model_serves_the_trained_probabilities(served_model, tmp_path):
    _, model_dir = served_model
    with tarfile.open(model_dir / TARBALL_FILE, "r:gz") as archive:
        archive.extractall(tmp_path, filter="data")
    rows = generate(500, seed=11)[list(FEATURES)]
    expected = joblib.load(tmp_path / JOBLIB_FILE).predict_proba(rows)[:, 1]
    served = FraudModel(tmp_path)
    assert served.version == "7"
    assert served.platform == "lookup_table"
    batch = served.predict(rows.to_numpy().tolist())
    single = [served.predict([row])[0] for row in rows.to_numpy().tolist()]
    np.testing.assert_allclose(batch, expected, atol=1e-6, rtol=0)
    assert single == batch
    summary = json.loads((tmp_path / METRICS_FILE).read_text())["lookup_table"]
    assert summary["max_abs_diff"] <= 1e-6
    assert summary["shape"] == list(np.load(tmp_path / GRID_FILE)["probabilities"].shape)


def test_a_model_too_large_to_tabulate_is_served_by_onnx_runtime(served_model, tmp_path, caplog):
    classifier, model_dir = served_model
    (tmp_path / GRID_FILE).write_bytes((model_dir / GRID_FILE).read_bytes())
    frame = generate(4_000, seed=3)
    write_artifacts(classifier, {"model_version": "7"}, frame, tmp_path, max_grid_bytes=1_000)
    assert "no lookup table: the table would have" in caplog.text
    assert not (tmp_path / GRID_FILE).exists(), "the earlier model's table must not be served"
    with tarfile.open(tmp_path / TARBALL_FILE, "r:gz") as archive:
        assert GRID_FILE not in archive.getnames()
    assert (
        "over the" in json.loads((tmp_path / METRICS_FILE).read_text())["lookup_table"]["skipped"]
    )
    served = FraudModel(tmp_path)
    assert served.platform == "onnxruntime"
    rows = generate(200, seed=11)[list(FEATURES)]
    expected = classifier.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(served.predict(rows.to_numpy().tolist()), expected, atol=1e-5)
    np.testing.assert_allclose(
        [served.predict([row])[0] for row in rows.to_numpy().tolist()], expected, atol=1e-5
    )


def test_packaging_is_reproducible(served_model, tmp_path):
    classifier, model_dir = served_model
    frame = generate(4_000, seed=3)
    write_artifacts(
        classifier, {"model_name": "fraud-detection", "model_version": "7"}, frame, tmp_path
    )
    assert (tmp_path / TARBALL_FILE).read_bytes() == (model_dir / TARBALL_FILE).read_bytes()


class SmoothlyShifted(HistGradientBoostingClassifier):
    """Probabilities that also vary inside the trees' cells: no lookup table can hold them."""

    def predict_proba(self, features):
        proba = super().predict_proba(features)
        shift = 1e-4 * np.tanh(np.asarray(features)[:, 0] / 1_000)
        return proba + np.stack([-shift, shift], axis=1)


def test_a_lookup_table_that_cannot_reproduce_the_model_is_refused():
    frame = generate(4_000, seed=9)
    classifier = SmoothlyShifted(max_iter=5, random_state=0).fit(
        frame[list(FEATURES)], frame["is_fraud"]
    )
    with pytest.raises(PackagingError, match="the lookup table is not faithful"):
        tabulate(classifier, frame)


def test_unfaithful_export_is_refused(served_model):
    classifier, _ = served_model
    frame = generate(4_000, seed=9)
    other = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(
        frame[list(FEATURES)], frame["is_fraud"]
    )
    with pytest.raises(PackagingError, match="ONNX probabilities differ"):
        verify_onnx(export_onnx(other), classifier, frame)


def test_a_baseline_left_by_an_earlier_model_is_removed(served_model, tmp_path):
    classifier, _ = served_model
    (tmp_path / BASELINE_FILE).write_text("{}")
    write_artifacts(classifier, {"model_version": "8"}, generate(500, seed=1), tmp_path)
    assert not (tmp_path / BASELINE_FILE).exists()
    with tarfile.open(tmp_path / TARBALL_FILE, "r:gz") as archive:
        assert BASELINE_FILE not in archive.getnames()
