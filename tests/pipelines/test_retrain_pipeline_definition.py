"""The committed pipeline definition: placeholders, the dispatcher contract, and regeneration."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from mlops_cdk.constructs.retrain_pipeline import render_definition
from mlops_cdk.pipelines import (
    DEFINITION_PATH,
    FRAMEWORK_IMAGES_PATH,
    PARAMETER_INPUT_BUCKET,
    PARAMETER_INPUT_PREFIX,
    PLACEHOLDERS,
)
from tests.conftest import ROOT

PIPELINE_PYTHON = ROOT / ".venv-pipeline" / "bin" / "python"


def test_processing_training_gate_and_registration_in_order():
    definition = json.loads(DEFINITION_PATH.read_text())
    assert [(step["Name"], step["Type"]) for step in definition["Steps"]] == [
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("QualityGate", "Condition"),
    ]
    gate = definition["Steps"][3]["Arguments"]
    assert [step["Type"] for step in gate["IfSteps"]] == ["RegisterModel"]
    assert [step["Type"] for step in gate["ElseSteps"]] == ["Fail"]
    parameters = {parameter["Name"]: parameter for parameter in definition["Parameters"]}
    assert {PARAMETER_INPUT_BUCKET, PARAMETER_INPUT_PREFIX} <= set(parameters)
    raw = definition["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert {"Get": f"Parameters.{PARAMETER_INPUT_BUCKET}"} in raw["Std:Join"]["Values"]
    assert {"Get": f"Parameters.{PARAMETER_INPUT_PREFIX}"} in raw["Std:Join"]["Values"]


def test_render_fills_every_placeholder():
    values = {name: f"value-of-{name}" for name in PLACEHOLDERS}
    text = render_definition(DEFINITION_PATH.read_text(), values)
    for placeholder in PLACEHOLDERS.values():
        assert placeholder not in text
    assert "__" not in text
    assert '"RoleArn": "value-of-execution_role_arn"' in text
    assert '"/opt/ml/processing/input/code/value-of-preprocess_code_key"' in text


def test_render_refuses_missing_values():
    with pytest.raises(ValueError, match="no value for pipeline placeholders"):
        render_definition("{}", {"data_bucket": "b"})
    values = {name: "v" for name in PLACEHOLDERS}
    with pytest.raises(ValueError, match=r"unknown placeholders \['__NEW__'\]"):
        render_definition('{"x": "__NEW__"}', values)


def test_the_framework_image_table_covers_the_default_region():
    images = json.loads(FRAMEWORK_IMAGES_PATH.read_text())
    assert images["us-east-1"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")


def test_regenerating_with_the_sagemaker_sdk_gives_the_committed_files():
    if not PIPELINE_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(".venv-pipeline is missing: `make test` creates it")
        pytest.skip("no .venv-pipeline (make pipeline-definition creates it)")
    result = subprocess.run(
        [str(PIPELINE_PYTHON), "-m", "scripts.generate_pipeline", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_pipeline_declares_the_parameters_the_dispatcher_sends():
    from mlops_cdk.lambdas.retrain_dispatch import dispatch
    from mlops_cdk.pipelines import PARAMETER_INPUT_BUCKET, PARAMETER_INPUT_PREFIX

    assert (dispatch.PIPELINE_BUCKET_PARAMETER, dispatch.PIPELINE_PREFIX_PARAMETER) == (
        PARAMETER_INPUT_BUCKET,
        PARAMETER_INPUT_PREFIX,
    )
    declared = {
        parameter["Name"] for parameter in json.loads(DEFINITION_PATH.read_text())["Parameters"]
    }
    assert {PARAMETER_INPUT_BUCKET, PARAMETER_INPUT_PREFIX} <= declared
