"""Static checks of the server image's recipe (no Docker engine here; CI builds the image)."""

import re
from fnmatch import fnmatch
from pathlib import Path

from fraud_model.schema import GRID_FILE, METRICS_FILE, ONNX_FILE

MODEL_SRC = Path(__file__).resolve().parents[2] / "model"
DOCKERFILE = (MODEL_SRC / "Dockerfile").read_text()


def _requirements(name: str) -> list[str]:
    lines = (MODEL_SRC / name).read_text().splitlines()
    return [line for line in lines if line and not line.startswith(("#", "-r "))]


def test_every_dependency_is_pinned_exactly():
    for name in ("requirements-serve.txt", "requirements.txt"):
        for requirement in _requirements(name):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", requirement), requirement
    assert "mlflow==3.17.2" in _requirements("requirements.txt")
    assert "-r requirements-serve.txt" in (MODEL_SRC / "requirements.txt").read_text()


def test_image_carries_the_lookup_table_when_packaging_wrote_one():
    """No table is written for a model too large to tabulate; the build must not fail then."""
    (pattern,) = re.findall(r"^COPY .* artifacts/(model_grid\S*) /opt/ml/model/$", DOCKERFILE, re.M)
    assert fnmatch(GRID_FILE, pattern)
    assert pattern != GRID_FILE, "a plain file name fails the build when the file is missing"


def test_image_runs_the_server_as_non_root_on_8080():
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.MULTILINE)
    assert re.search(r"^EXPOSE 8080$", final_stage, re.MULTILINE)
    assert 'ENTRYPOINT ["python", "-m", "fraud_model.server"]' in final_stage
    assert "pip install" not in final_stage
    assert "apt-get" not in DOCKERFILE
    assert "--require-hashes --only-binary=:all: -r /tmp/requirements-serve.lock" in DOCKERFILE


def test_every_copied_file_exists_and_is_in_the_build_context():
    allowed = {
        line.removeprefix("!")
        for line in (MODEL_SRC / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.MULTILINE)
    sources = [source for line in copies for source in line.split()]
    assert sources
    for source in sources:
        assert any(fnmatch(path, source) for path in allowed), source
        if source.startswith("artifacts/"):
            # Written by `make train`, which the image build follows; a pattern, an optional file.
            name = source.removeprefix("artifacts/")
            assert any(fnmatch(file, name) for file in (ONNX_FILE, METRICS_FILE, GRID_FILE)), name
        else:
            assert (MODEL_SRC / source).is_file(), source
