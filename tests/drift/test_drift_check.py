"""PSI, baseline, capture parsing and the ``python -m mlops_cdk.drift`` command."""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_cdk.drift.__main__ import main
from mlops_cdk.drift.baseline import (
    BaselineError,
    build_baseline,
    load_baseline,
    write_baseline,
)
from mlops_cdk.drift.capture import (
    CAPTURE_MARKER,
    CaptureError,
    CaptureRows,
    MalformedRecordError,
    capture_record,
    parse_record,
    read_directory,
    read_lines,
)
from mlops_cdk.drift.psi import detect_drift, psi
from tests.drift.drift_fakes import (
    FEATURES,
    MODEL_VERSION,
    capture_lines,
    live_training_rows,
    scaled,
    training_baseline,
    training_rows,
    write_capture,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def baseline() -> dict:
    return training_baseline()


@pytest.fixture
def live_rows() -> list[list[float]]:
    return live_training_rows()


# --- PSI on the training generator ---------------------------------------------------------


def test_psi_is_about_zero_on_data_from_the_training_generator(baseline, live_rows):
    result = detect_drift(baseline, live_rows)

    assert result.max_psi < 0.02
    assert result.drift is False
    assert list(result.features) == list(FEATURES)
    assert result.rows == 5_000


def test_amount_scaled_by_five_drifts(baseline, live_rows):
    result = detect_drift(baseline, scaled(live_rows, FEATURES.index("amount"), 5.0))

    assert result.features["amount"] > 0.2
    assert result.drift is True
    assert result.max_psi == result.features["amount"]
    # Only the amount moved.
    assert result.features["distance_from_home_km"] < 0.02
    assert result.features["merchant_risk_score"] < 0.02


def test_threshold_decides_and_must_be_positive(baseline, live_rows):
    moved = scaled(live_rows, 0, 1.3)
    value = detect_drift(baseline, moved).features["amount"]
    assert detect_drift(baseline, moved, threshold=value / 2).drift is True
    assert detect_drift(baseline, moved, threshold=value * 2).drift is False
    with pytest.raises(ValueError, match="threshold = 0"):
        detect_drift(baseline, moved, threshold=0)
    with pytest.raises(ValueError, match="no rows"):
        detect_drift(baseline, [])


def test_psi_is_smoothed_and_checks_bin_counts():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert math.isfinite(psi([1.0, 0.0], [0.0, 1.0]))
    assert psi([1.0, 0.0], [0.0, 1.0]) > 10
    with pytest.raises(ValueError, match="2 expected bins but 3"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])


# --- Baseline ------------------------------------------------------------------------------


def test_baseline_has_quantile_bins_row_count_and_digest(baseline):
    assert baseline["rows"] == 20_000
    assert baseline["dataset_digest"] == "sha256:test"
    assert baseline["model_version"] == MODEL_VERSION
    for feature in baseline["features"]:
        assert len(feature["proportions"]) == len(feature["edges"]) + 1 == 10
        # Quantile bins hold about a tenth each.
        assert all(abs(share - 0.1) < 0.01 for share in feature["proportions"])
    json.dumps(baseline, allow_nan=False)


def test_values_outside_the_training_range_land_in_the_open_outer_bins(baseline):
    below = detect_drift(baseline, [[-1e9, -1e9, -1e9]] * 10)
    above = detect_drift(baseline, [[1e12, 1e12, 1e12]] * 10)
    assert below.rows == above.rows == 10
    # All mass in one outer bin of 10: PSI = 0.9*ln(0.9/0.1) + 9*0.1*ln(0.1/1e-4) far above 1.
    assert below.max_psi > 5 and above.max_psi > 5


def test_baseline_round_trips_through_a_file(baseline, tmp_path):
    path = write_baseline(tmp_path / "artifacts" / "baseline.json", baseline)
    assert load_baseline(path) == baseline
    assert load_baseline(baseline) == baseline


def test_few_distinct_values_collapse_bins():
    built = build_baseline(["flag"], [[0.0]] * 80 + [[1.0]] * 20, dataset_digest="d")
    (feature,) = built["features"]
    assert feature["edges"] == [0.0, 1.0]
    assert feature["proportions"] == [0.8, 0.2, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 1}, "bins = 1; use 2 to 100"),
        ({"rows": []}, "no training rows"),
        ({"rows": [[1.0, 2.0]]}, "row 0 has 2 values; expected 3"),
        ({"rows": [[1.0, float("nan"), 2.0]]}, "row 0 holds a non-finite value"),
        ({"feature_names": ["a", "a", "b"]}, "give each feature once"),
    ],
)
def test_bad_baseline_inputs_are_rejected(kwargs, message):
    arguments = {"feature_names": FEATURES, "rows": [[1.0, 2.0, 3.0]] * 5, **kwargs}
    with pytest.raises(BaselineError, match=message):
        build_baseline(
            arguments.pop("feature_names"), arguments.pop("rows"), dataset_digest="d", **arguments
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(version=2), "format/version"),
        (lambda b: b.update(rows=0), "rows = 0"),
        (lambda b: b.pop("dataset_digest"), "dataset_digest is missing"),
        (lambda b: b.update(model_version=7), "model_version = 7"),
        (lambda b: b.update(features=[]), "features is empty"),
        (
            lambda b: b["features"][0].update(edges=[2.0, 1.0]),
            r"features\[0\] \(amount\).edges must increase",
        ),
        (lambda b: b["features"][1].update(proportions=[0.5]), "must hold len"),
        (lambda b: b["features"][2]["proportions"].__setitem__(0, 0.5), "sum to"),
        (lambda b: b["features"][2]["proportions"].__setitem__(0, -0.1), r"lie in \[0, 1\]"),
    ],
)
def test_invalid_baselines_fail_with_the_field(baseline, change, message):
    broken = json.loads(json.dumps(baseline))
    change(broken)
    with pytest.raises(BaselineError, match=message):
        load_baseline(broken)


def test_missing_or_unreadable_baseline_file_is_named(tmp_path):
    with pytest.raises(BaselineError, match=r"no baseline at .*nothing\.json: run `make train`"):
        load_baseline(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BaselineError, match=r"bad\.json is not a JSON baseline"):
        load_baseline(tmp_path / "bad.json")


# --- Capture format ------------------------------------------------------------------------


def test_capture_record_is_one_line_in_sagemaker_format():
    line = capture_record(
        b'{"instances": [1000, 45, 0.67]}',
        b'{"predictions": [0.92]}',
        content_type="application/json",
        model_version="7",
        event_id="e-1",
        inference_time="2026-12-04T15:00:00.000Z",
    )
    assert "\n" not in line
    assert line.startswith(CAPTURE_MARKER)
    assert json.loads(line) == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "application/json",
                "mode": "INPUT",
                "data": '{"instances": [1000, 45, 0.67]}',
                "encoding": "JSON",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": '{"predictions": [0.92]}',
                "encoding": "JSON",
            },
        },
        "eventMetadata": {
            "eventId": "e-1",
            "inferenceTime": "2026-12-04T15:00:00.000Z",
            "customAttributes": "model_version=7",
        },
        "eventVersion": "0",
    }
    assert parse_record(line, n_features=3) == ([[1000.0, 45.0, 0.67]], "7")


def test_non_text_bodies_are_base64_and_datetimes_are_utc():
    from datetime import UTC, datetime

    line = capture_record(
        b"\xff\xfe",
        b"\x00",
        content_type="application/octet-stream",
        model_version="1",
        event_id="e",
        inference_time=datetime(2026, 12, 4, 15, 0, 1, 234000, tzinfo=UTC),
    )
    record = json.loads(line)
    assert record["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert base64.b64decode(record["captureData"]["endpointInput"]["data"]) == b"\xff\xfe"
    assert record["eventMetadata"]["inferenceTime"] == "2026-12-04T15:00:01.234Z"


def _sagemaker_line(data: str, encoding: str, content_type: str, output: str = "") -> str:
    """A line as SageMaker itself writes it (no customAttributes)."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": output or '{"predictions": [0.1]}',
                    "encoding": "JSON",
                },
            },
            "eventMetadata": {"eventId": "8f45e35c", "inferenceTime": "2026-12-04T15:00:00Z"},
            "eventVersion": "0",
        }
    )


@pytest.mark.parametrize(
    ("line", "rows"),
    [
        (
            _sagemaker_line('{"instances": [[1, 2, 3], [4, 5, 6]]}', "JSON", "application/json"),
            [[1, 2, 3], [4, 5, 6]],
        ),
        (
            _sagemaker_line(
                base64.b64encode(b'{"instances": [1, 2, 3]}').decode(), "BASE64", "application/json"
            ),
            [[1, 2, 3]],
        ),
        (_sagemaker_line("1,2,3\n4,5,6", "CSV", "text/csv"), [[1, 2, 3], [4, 5, 6]]),
        (_sagemaker_line(base64.b64encode(b"7,8,9").decode(), "BASE64", "text/csv"), [[7, 8, 9]]),
        (
            _sagemaker_line(
                json.dumps(
                    {
                        "inputs": [
                            {
                                "name": "input",
                                "datatype": "FP32",
                                "shape": [2, 3],
                                "data": [1, 2, 3, 4, 5, 6],
                            }
                        ]
                    }
                ),
                "JSON",
                "application/json",
            ),
            [[1, 2, 3], [4, 5, 6]],
        ),
    ],
)
def test_sagemaker_records_of_every_body_shape_parse(line, rows):
    assert parse_record(line, n_features=3) == (rows, None)


def test_open_inference_response_names_the_model_version():
    line = _sagemaker_line(
        '{"instances": [1, 2, 3]}',
        "JSON",
        "application/json",
        output='{"model_name": "fraud-detection", "model_version": "9", "outputs": []}',
    )
    assert parse_record(line, n_features=3)[1] == "9"


MALFORMED = [
    "not json",
    "[1, 2, 3]",
    '{"eventMetadata": {}}',
    _sagemaker_line('{"instances": [1, 2]}', "JSON", "application/json"),
    _sagemaker_line('{"instances": ["a", 2, 3]}', "JSON", "application/json"),
    _sagemaker_line('{"instances": [true, 2, 3]}', "JSON", "application/json"),
    _sagemaker_line('{"instances": []}', "JSON", "application/json"),
    _sagemaker_line('{"rows": [1, 2, 3]}', "JSON", "application/json"),
    _sagemaker_line("!!!", "BASE64", "application/json"),
    _sagemaker_line("1,2,3", "XML", "text/xml"),
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_records_raise(line):
    with pytest.raises(MalformedRecordError):
        parse_record(line, n_features=3)


def test_a_line_shipped_as_a_json_string_is_unwrapped():
    (line,) = capture_lines([[1.0, 2.0, 3.0]])
    assert parse_record(json.dumps(line), n_features=3) == ([[1.0, 2.0, 3.0]], MODEL_VERSION)


def test_malformed_lines_are_counted_and_skipped_blank_lines_ignored():
    good = capture_lines([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    result = read_lines([good[0], "", "  ", *MALFORMED, good[1]], n_features=3)
    assert result.rows == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert (result.records, result.malformed) == (2, len(MALFORMED))


def test_records_of_another_model_version_are_skipped():
    lines = capture_lines([[1.0, 2.0, 3.0]], version="6") + capture_lines([[4.0, 5.0, 6.0]])
    unversioned = _sagemaker_line('{"instances": [7, 8, 9]}', "JSON", "application/json")
    result = read_lines([*lines, unversioned], n_features=3, model_version=MODEL_VERSION)
    assert result.rows == [[4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    assert result.other_version == 1
    # Without a baseline version every record counts.
    assert len(read_lines(lines, n_features=3).rows) == 2


def test_no_rows_at_all_is_an_error_that_says_so(tmp_path):
    write_capture(tmp_path, ["garbage", *capture_lines([[1.0, 2.0, 3.0]], version="6")])
    result = read_directory(tmp_path, n_features=3, model_version=MODEL_VERSION)
    with pytest.raises(
        CaptureError,
        match=r"no rows in the capture: 1 files, 0 usable records, "
        r"1 malformed lines, 1 records of another model version",
    ):
        result.require_rows()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaptureError, match=r"no \.jsonl capture files under"):
        read_directory(tmp_path / "empty", n_features=3)
    with pytest.raises(CaptureError, match=r"capture directory .*absent does not exist"):
        read_directory(tmp_path / "absent", n_features=3)
    assert CaptureRows(rows=[[1.0]]).require_rows() == [[1.0]]


# --- The command ---------------------------------------------------------------------------


@pytest.fixture
def capture_dir(tmp_path, live_rows) -> Path:
    write_capture(tmp_path / "capture", capture_lines(live_rows[:2_500]), "a.jsonl")
    write_capture(tmp_path / "capture", [*capture_lines(live_rows[2_500:]), "{broken"], "b.jsonl")
    return tmp_path / "capture"


@pytest.fixture
def baseline_file(tmp_path, baseline) -> Path:
    return write_baseline(tmp_path / "baseline.json", baseline)


def test_json_output_is_exactly_one_object_with_the_documented_schema(
    capture_dir, baseline_file, capsys
):
    status = main(
        ["--capture", str(capture_dir), "--baseline", str(baseline_file), "--format", "json"]
    )
    output = capsys.readouterr().out
    assert status == 0
    document = json.loads(output)  # one object, nothing else on stdout
    assert set(document) == {"drift", "max_psi", "rows", "features"}
    assert document["drift"] is False
    assert isinstance(document["max_psi"], float) and document["max_psi"] < 0.02
    assert document["rows"] == 5_000
    assert set(document["features"]) == set(FEATURES)
    assert all(set(value) == {"psi"} for value in document["features"].values())


def test_text_output_lists_each_feature_and_the_rows(capture_dir, baseline_file, capsys):
    assert main(["--capture", str(capture_dir), "--baseline", str(baseline_file)]) == 0
    output = capsys.readouterr().out
    for name in FEATURES:
        assert name in output
    assert "rows read: 5000 from 5000 records in 2 files (1 malformed lines" in output
    assert "no drift" in output


def test_threshold_flag_and_bad_input_exit_2_with_the_reason(
    capture_dir, baseline_file, capsys, tmp_path
):
    assert (
        main(
            [
                "--capture",
                str(capture_dir),
                "--baseline",
                str(baseline_file),
                "--format",
                "json",
                "--threshold",
                "0.000001",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["drift"] is True
    empty = tmp_path / "empty"
    write_capture(empty, ["garbage"])
    assert main(["--capture", str(empty), "--baseline", str(baseline_file)]) == 2
    assert "drift check failed: no rows in the capture" in capsys.readouterr().err
    assert main(["--capture", str(capture_dir), "--baseline", str(tmp_path / "none.json")]) == 2
    assert "no baseline at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--capture", str(capture_dir), "--threshold", "-1"])
    assert "not a positive PSI threshold" in capsys.readouterr().err


def test_module_entry_point_runs(capture_dir, baseline_file):
    rows = training_rows(300, seed=5)
    drifted = capture_dir.parent / "drifted"
    write_capture(drifted, capture_lines(scaled(rows, 0, 5.0)))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops_cdk.drift",
            "--capture",
            str(drifted),
            "--baseline",
            str(baseline_file),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    document = json.loads(completed.stdout)
    assert document["drift"] is True and document["rows"] == 300
    assert document["features"]["amount"]["psi"] > 0.2
