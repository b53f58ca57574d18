"""The SageMaker retraining pipeline: its contract with the dispatcher and its generated definition.

``retrain_pipeline.json`` is produced by ``scripts/generate_pipeline.py`` with the sagemaker SDK
(``make pipeline-definition``) and committed, so synthesis never needs the SDK. This module
imports nothing from the CDK: the generator's venv imports it too.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFINITION_PATH = PACKAGE_DIR / "retrain_pipeline.json"
FRAMEWORK_IMAGES_PATH = PACKAGE_DIR / "sklearn_images.json"
CODE_DIR = PACKAGE_DIR / "code"

PARAMETER_INPUT_BUCKET = "InputBucket"
"""Pipeline parameter: bucket of the new data (the retraining dispatcher sets it)."""
PARAMETER_INPUT_PREFIX = "InputPrefix"
"""Pipeline parameter: key prefix of the new data, e.g. ``incoming/`` (the dispatcher sets it)."""
PARAMETER_MIN_ROC_AUC = "MinRocAuc"
"""Pipeline parameter: the quality gate; a model below it is not registered."""
PARAMETER_MODEL_APPROVAL_STATUS = "ModelApprovalStatus"
"""Pipeline parameter: approval status of a registered model package."""

SKLEARN_FRAMEWORK_VERSION = "1.2-1"
"""SageMaker scikit-learn framework container the processing and training steps run."""

TEMPLATE_PIPELINE_NAME = "retrain-template"
"""Name used at generation only; ``CfnPipeline.PipelineName`` sets the deployed name."""

PLACEHOLDERS: dict[str, str] = {
    "execution_role_arn": "arn:aws:iam::123456789012:role/__EXECUTION_ROLE__",
    **{
        name: f"__{name.upper()}__"
        for name in (
            "data_bucket",
            "artifacts_bucket",
            "sklearn_image_uri",
            "serving_image_uri",
            "code_bucket",
            "preprocess_code_key",
            "train_code_key",
            "evaluate_code_key",
            "model_package_group",
            "region",
        )
    },
}
"""What the generator writes where only a deployment knows the value: ``__<NAME>__``, or for the
role (the SDK wants an ARN) a placeholder ARN; the construct replaces each of these strings (the
role's whole placeholder ARN included) at synth."""


def code_uri(step: str) -> str:
    """The placeholder S3 URI of a step's code (``preprocess``, ``train`` or ``evaluate``)."""
    return f"s3://{PLACEHOLDERS['code_bucket']}/{PLACEHOLDERS[f'{step}_code_key']}"


def retrain_pipeline_name(stack_prefix: str) -> str:
    """The deployed pipeline name, e.g. ``mlopscdk-dev-retrain``: the dispatcher derives it too."""
    return f"{stack_prefix}-retrain".lower()
