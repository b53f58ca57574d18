import tarfile

import joblib
import numpy as np
import pytest
from fraud_model.data import generate
from fraud_model.package import PackagingError, export_onnx, verify_onnx, write_artifacts
from fraud_model.schema import FEATURES, JOBLIB_FILE, METRICS_FILE, ONNX_FILE, TARBALL_FILE
from fraud_model.server import FraudModel
from sklearn.ensemble import HistGradientBoostingClassifier


def test_tarball_has_sagemaker_layout(served_model, tmp_path):
    _, model_dir = served_model
    with tarfile.open(model_dir / TARBALL_FILE, "r:gz") as archive:
        members = archive.getmembers()
        assert sorted(member.name for member in members) == sorted(
            [JOBLIB_FILE, METRICS_FILE, ONNX_FILE]
        )
        assert all(member.isfile() and member.mode == 0o644 for member in members)
        archive.extractall(tmp_path, filter="data")
    for name in (JOBLIB_FILE, METRICS_FILE, ONNX_FILE):
        assert (tmp_path / name).read_bytes() == (model_dir / name).read_bytes()


def test_extracted_model_serves_the_trained_probabilities(served_model, tmp_path):
    _, model_dir = served_model
    with tarfile.open(model_dir / TARBALL_FILE, "r:gz") as archive:
        archive.extractall(tmp_path, filter="data")
    rows = generate(500, seed=11)[list(FEATURES)]
    expected = joblib.load(tmp_path / JOBLIB_FILE).predict_proba(rows)[:, 1]
    served = FraudModel(tmp_path)
    assert served.version == "7"
    batch = served.predict(rows.to_numpy().tolist())
    single = [served.predict([row])[0] for row in rows.to_numpy().tolist()[:50]]
    np.testing.assert_allclose(batch, expected, atol=1e-5)
    np.testing.assert_allclose(single, expected[:50], atol=1e-5)


def test_packaging_is_reproducible(served_model, tmp_path):
    classifier, model_dir = served_model
    frame = generate(4_000, seed=3)
    write_artifacts(
        classifier, {"model_name": "fraud-detection", "model_version": "7"}, frame, tmp_path
    )
    assert (tmp_path / TARBALL_FILE).read_bytes() == (model_dir / TARBALL_FILE).read_bytes()


def test_unfaithful_export_is_refused(served_model):
    classifier, _ = served_model
    frame = generate(4_000, seed=9)
    other = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(
        frame[list(FEATURES)], frame["is_fraud"]
    )
    with pytest.raises(PackagingError, match="ONNX probabilities differ"):
        verify_onnx(export_onnx(other), classifier, frame)
