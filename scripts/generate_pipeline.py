"""Generate the SageMaker Pipeline definition of the retraining pipeline with the sagemaker SDK.

The SDK (v3, about 1 GB installed) lives in its own venv, ``.venv-pipeline`` (``make
pipeline-definition``), never in the app's: synthesis reads the committed output,
``mlops_cdk/pipelines/retrain_pipeline.json``, and ``tests/pipelines`` regenerate and compare.

Generation is offline: every AWS call the SDK makes goes to moto, with fixed fake credentials.
What only a deployment knows (the role, the buckets, the code objects, the framework image of
the region) is written as ``__PLACEHOLDER__`` strings that the ``RetrainPipeline`` construct
substitutes at synth; see ``mlops_cdk.pipelines.PLACEHOLDERS``.

Usage:
    .venv-pipeline/bin/python -m scripts.generate_pipeline [--check] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_cdk.pipelines import (
    DEFINITION_PATH,
    FRAMEWORK_IMAGES_PATH,
    PARAMETER_INPUT_BUCKET,
    PARAMETER_INPUT_PREFIX,
    PARAMETER_MIN_ROC_AUC,
    PARAMETER_MODEL_APPROVAL_STATUS,
    PLACEHOLDERS,
    SKLEARN_FRAMEWORK_VERSION,
    TEMPLATE_PIPELINE_NAME,
    code_uri,
)

ROOT = Path(__file__).resolve().parents[1]

FAKE_REGION = "us-east-1"
FAKE_ACCOUNT = "123456789012"
PLACEHOLDER_BUCKET = "mlops-cdk-generation-bucket"
"""moto-only bucket for the SDK's default bucket; the definition must never reference it."""


def _offline_environment() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": FAKE_REGION,
            "AWS_REGION": FAKE_REGION,
            "SAGEMAKER_VALIDATE_ROLE": "false",
        }
    )
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


@dataclass(frozen=True)
class _Parameters:
    """The pipeline's parameters; the dispatcher sends the first two."""

    input_bucket: Any
    input_prefix: Any
    min_roc_auc: Any
    approval: Any

    def as_list(self) -> list[Any]:
        return [self.input_bucket, self.input_prefix, self.min_roc_auc, self.approval]


def build_definition() -> dict:
    """The pipeline definition (a dict) with placeholders, built with the SDK under moto."""
    import boto3
    from moto import mock_aws
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow import Pipeline

    with mock_aws():
        boto_session = boto3.Session(region_name=FAKE_REGION)
        boto_session.client("s3").create_bucket(Bucket=PLACEHOLDER_BUCKET)
        session = PipelineSession(boto_session=boto_session, default_bucket=PLACEHOLDER_BUCKET)
        parameters = _parameters()
        preprocess = _preprocess_step(session, parameters)
        train = _train_step(session, preprocess)
        evaluate, evaluation_report = _evaluate_step(session, preprocess, train)
        gate = _quality_gate(session, parameters, train, evaluate, evaluation_report)
        pipeline = Pipeline(
            name=TEMPLATE_PIPELINE_NAME,
            parameters=parameters.as_list(),
            steps=[preprocess, train, evaluate, gate],
            sagemaker_session=session,
        )
        definition = json.loads(pipeline.definition())
    return _without_generation_values(definition)


def _without_generation_values(definition: dict) -> dict:
    """The definition with the session's region replaced by its placeholder, checked clean."""
    # The model step records the session's region; the construct writes the stack's.
    text = json.dumps(definition).replace(f'"{FAKE_REGION}"', f'"{PLACEHOLDERS["region"]}"')
    if FAKE_REGION in text or PLACEHOLDER_BUCKET in text:
        raise RuntimeError(
            f"the definition references {FAKE_REGION} or {PLACEHOLDER_BUCKET}, which exist only "
            "at generation (a step uploaded local files?); pass placeholders instead"
        )
    return json.loads(text)


def _parameters() -> _Parameters:
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString

    return _Parameters(
        input_bucket=ParameterString(
            PARAMETER_INPUT_BUCKET, default_value=PLACEHOLDERS["data_bucket"]
        ),
        input_prefix=ParameterString(PARAMETER_INPUT_PREFIX, default_value="incoming/"),
        min_roc_auc=ParameterFloat(PARAMETER_MIN_ROC_AUC, default_value=0.8),
        approval=ParameterString(
            PARAMETER_MODEL_APPROVAL_STATUS, default_value="PendingManualApproval"
        ),
    )


def _processor(session: Any, base_job_name: str) -> Any:
    """A scikit-learn script processor on one ml.m5.large."""
    from sagemaker.core.processing import ScriptProcessor

    return ScriptProcessor(
        role=PLACEHOLDERS["execution_role_arn"],
        image_uri=PLACEHOLDERS["sklearn_image_uri"],
        command=["python3"],
        instance_type="ml.m5.large",
        instance_count=1,
        max_runtime_in_seconds=3600,
        base_job_name=base_job_name,
        sagemaker_session=session,
    )


def _s3_input(name: str, s3_uri: Any) -> Any:
    """A processing input downloaded from ``s3_uri`` to ``/opt/ml/processing/<name>``."""
    from sagemaker.core.processing import ProcessingInput
    from sagemaker.core.shapes import ProcessingS3Input

    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri,
            local_path=f"/opt/ml/processing/{name}",
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _s3_output(name: str) -> Any:
    """A processing output uploaded under the run prefix at the end of the job."""
    from sagemaker.core.processing import ProcessingOutput
    from sagemaker.core.shapes import ProcessingS3Output
    from sagemaker.core.workflow.functions import Join

    run_prefix = Join(
        on="/", values=[f"s3://{PLACEHOLDERS['artifacts_bucket']}", "pipelines", "retrain"]
    )
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[run_prefix, name]),
            local_path=f"/opt/ml/processing/{name}",
            s3_upload_mode="EndOfJob",
        ),
    )


def _processing_output_uri(step: Any, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def _preprocess_step(session: Any, parameters: _Parameters) -> Any:
    """Split the raw CSVs under the input prefix into train and test sets."""
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow import ProcessingStep

    raw = Join(on="", values=["s3://", parameters.input_bucket, "/", parameters.input_prefix])
    return ProcessingStep(
        name="Preprocess",
        step_args=_processor(session, "fraud-preprocess").run(
            code=code_uri("preprocess"),
            inputs=[_s3_input("raw", raw)],
            outputs=[_s3_output("train"), _s3_output("test")],
        ),
    )


def _train_step(session: Any, preprocess: Any) -> Any:
    """Train the model on the preprocessed training set."""
    from sagemaker.mlops.workflow import TrainingStep
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig
    from sagemaker.train.model_trainer import ModelTrainer

    trainer = ModelTrainer(
        training_image=PLACEHOLDERS["sklearn_image_uri"],
        role=PLACEHOLDERS["execution_role_arn"],
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        base_job_name="fraud-train",
        hyperparameters={
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": code_uri("train"),
        },
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{PLACEHOLDERS['artifacts_bucket']}/pipelines/retrain/models",
        ),
        sagemaker_session=session,
    )
    train_data = InputData(
        channel_name="train", data_source=_processing_output_uri(preprocess, "train")
    )
    return TrainingStep(name="Train", step_args=trainer.train(input_data_config=[train_data]))


def _evaluate_step(session: Any, preprocess: Any, train: Any) -> tuple[Any, Any]:
    """Score the trained model on the test set; the report holds ``metrics.roc_auc``."""
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import ProcessingStep

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    step = ProcessingStep(
        name="Evaluate",
        step_args=_processor(session, "fraud-evaluate").run(
            code=code_uri("evaluate"),
            inputs=[
                _s3_input("model", train.properties.ModelArtifacts.S3ModelArtifacts),
                _s3_input("test", _processing_output_uri(preprocess, "test")),
            ],
            outputs=[_s3_output("evaluation")],
        ),
        property_files=[report],
    )
    return step, report


def _quality_gate(
    session: Any, parameters: _Parameters, train: Any, evaluate: Any, report: Any
) -> Any:
    """Register the model when its ROC AUC reaches the minimum; fail the run otherwise."""
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.mlops.workflow import ConditionStep, FailStep, ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    builder = ModelBuilder(
        image_uri=PLACEHOLDERS["serving_image_uri"],
        s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
        role_arn=PLACEHOLDERS["execution_role_arn"],
        sagemaker_session=session,
    )
    register = ModelStep(
        name="Register",
        step_args=builder.register(
            model_package_group_name=PLACEHOLDERS["model_package_group"],
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=["ml.m5.large"],
            approval_status=parameters.approval,
        ),
    )
    roc_auc = JsonGet(step_name=evaluate.name, property_file=report, json_path="metrics.roc_auc")
    failure = Join(
        on=" ", values=["roc_auc below", parameters.min_roc_auc, "; model not registered"]
    )
    return ConditionStep(
        name="QualityGate",
        conditions=[ConditionGreaterThanOrEqualTo(left=roc_auc, right=parameters.min_roc_auc)],
        if_steps=[register],
        else_steps=[FailStep(name="GateFailed", error_message=failure)],
    )


def framework_images() -> dict[str, str]:
    """The scikit-learn framework image of every region the SDK knows (offline lookup)."""
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework("sklearn")["training"]["versions"]
    regions = sorted(config[SKLEARN_FRAMEWORK_VERSION]["registries"])
    return {
        region: image_uris.retrieve(
            "sklearn",
            region=region,
            version=SKLEARN_FRAMEWORK_VERSION,
            py_version="py3",
            instance_type="ml.m5.large",
            image_scope="training",
        )
        for region in regions
    }


def render(obj: dict) -> str:
    """Stable JSON text: what is committed and compared."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Write (or with ``--check`` compare) the definition and the image table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if committed files differ")
    args = parser.parse_args()
    _offline_environment()
    outputs = {
        DEFINITION_PATH: render(build_definition()),
        FRAMEWORK_IMAGES_PATH: render(framework_images()),
    }
    stale = [
        path for path, text in outputs.items() if not path.exists() or path.read_text() != text
    ]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `make pipeline-definition`")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
