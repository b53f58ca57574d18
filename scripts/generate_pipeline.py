"""Generate the SageMaker Pipeline definition of the retraining pipeline with the sagemaker SDK.

The SDK (v3, about 1 GB installed) lives in its own venv, ``.venv-pipeline`` (``make
pipeline-definition``), never in the app's: synthesis reads the committed output,
``mlops_cdk/pipelines/retrain_pipeline.json``, and ``tests/pipelines`` regenerate and compare.

Generation is offline: every AWS call the SDK makes goes to moto, with fixed fake credentials.
What only a deployment knows (the role, the buckets, the code objects, the framework image of
the region) is written as ``__PLACEHOLDER__`` strings that the ``RetrainPipeline`` construct
substitutes at synth; see ``mlops_cdk.pipelines.PLACEHOLDERS``.

Usage:
    .venv-pipeline/bin/python scripts/generate_pipeline.py [--check] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_cdk.pipelines import (  # noqa: E402 - the path above makes the package importable
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


def build_definition() -> dict:
    """The pipeline definition (a dict) with placeholders, built with the SDK under moto."""
    import boto3
    from moto import mock_aws
    from sagemaker.core.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.core.shapes import ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        ConditionStep,
        FailStep,
        ModelStep,
        Pipeline,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig
    from sagemaker.train.model_trainer import ModelTrainer

    p = PLACEHOLDERS
    with mock_aws():
        boto_session = boto3.Session(region_name=FAKE_REGION)
        boto_session.client("s3").create_bucket(Bucket=PLACEHOLDER_BUCKET)
        session = PipelineSession(boto_session=boto_session, default_bucket=PLACEHOLDER_BUCKET)

        input_bucket = ParameterString(PARAMETER_INPUT_BUCKET, default_value=p["data_bucket"])
        input_prefix = ParameterString(PARAMETER_INPUT_PREFIX, default_value="incoming/")
        min_roc_auc = ParameterFloat(PARAMETER_MIN_ROC_AUC, default_value=0.8)
        approval = ParameterString(
            PARAMETER_MODEL_APPROVAL_STATUS, default_value="PendingManualApproval"
        )
        run_prefix = Join(on="/", values=[f"s3://{p['artifacts_bucket']}", "pipelines", "retrain"])

        def processor(base_job_name: str) -> ScriptProcessor:
            return ScriptProcessor(
                role=p["execution_role_arn"],
                image_uri=p["sklearn_image_uri"],
                command=["python3"],
                instance_type="ml.m5.large",
                instance_count=1,
                max_runtime_in_seconds=3600,
                base_job_name=base_job_name,
                sagemaker_session=session,
            )

        def s3_output(name: str) -> ProcessingOutput:
            return ProcessingOutput(
                output_name=name,
                s3_output=ProcessingS3Output(
                    s3_uri=Join(on="/", values=[run_prefix, name]),
                    local_path=f"/opt/ml/processing/{name}",
                    s3_upload_mode="EndOfJob",
                ),
            )

        preprocess = ProcessingStep(
            name="Preprocess",
            step_args=processor("fraud-preprocess").run(
                code=code_uri("preprocess"),
                inputs=[
                    ProcessingInput(
                        input_name="raw",
                        s3_input=ProcessingS3Input(
                            s3_uri=Join(on="", values=["s3://", input_bucket, "/", input_prefix]),
                            local_path="/opt/ml/processing/raw",
                            s3_data_type="S3Prefix",
                            s3_input_mode="File",
                        ),
                    )
                ],
                outputs=[s3_output("train"), s3_output("test")],
            ),
        )

        trainer = ModelTrainer(
            training_image=p["sklearn_image_uri"],
            role=p["execution_role_arn"],
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            base_job_name="fraud-train",
            hyperparameters={
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": code_uri("train"),
            },
            output_data_config=OutputDataConfig(
                s3_output_path=f"s3://{p['artifacts_bucket']}/pipelines/retrain/models",
            ),
            sagemaker_session=session,
        )
        train = TrainingStep(
            name="Train",
            step_args=trainer.train(
                input_data_config=[
                    InputData(
                        channel_name="train",
                        data_source=preprocess.properties.ProcessingOutputConfig.Outputs[
                            "train"
                        ].S3Output.S3Uri,
                    )
                ]
            ),
        )

        evaluation_report = PropertyFile(
            name="EvaluationReport", output_name="evaluation", path="evaluation.json"
        )
        evaluate = ProcessingStep(
            name="Evaluate",
            step_args=processor("fraud-evaluate").run(
                code=code_uri("evaluate"),
                inputs=[
                    ProcessingInput(
                        input_name="model",
                        s3_input=ProcessingS3Input(
                            s3_uri=train.properties.ModelArtifacts.S3ModelArtifacts,
                            local_path="/opt/ml/processing/model",
                            s3_data_type="S3Prefix",
                            s3_input_mode="File",
                        ),
                    ),
                    ProcessingInput(
                        input_name="test",
                        s3_input=ProcessingS3Input(
                            s3_uri=preprocess.properties.ProcessingOutputConfig.Outputs[
                                "test"
                            ].S3Output.S3Uri,
                            local_path="/opt/ml/processing/test",
                            s3_data_type="S3Prefix",
                            s3_input_mode="File",
                        ),
                    ),
                ],
                outputs=[s3_output("evaluation")],
            ),
            property_files=[evaluation_report],
        )

        builder = ModelBuilder(
            image_uri=p["serving_image_uri"],
            s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
            role_arn=p["execution_role_arn"],
            sagemaker_session=session,
        )
        register = ModelStep(
            name="Register",
            step_args=builder.register(
                model_package_group_name=p["model_package_group"],
                content_types=["application/json"],
                response_types=["application/json"],
                inference_instances=["ml.m5.large"],
                approval_status=approval,
            ),
        )
        gate = ConditionStep(
            name="QualityGate",
            conditions=[
                ConditionGreaterThanOrEqualTo(
                    left=JsonGet(
                        step_name=evaluate.name,
                        property_file=evaluation_report,
                        json_path="metrics.roc_auc",
                    ),
                    right=min_roc_auc,
                )
            ],
            if_steps=[register],
            else_steps=[
                FailStep(
                    name="GateFailed",
                    error_message=Join(
                        on=" ", values=["roc_auc below", min_roc_auc, "; model not registered"]
                    ),
                )
            ],
        )
        pipeline = Pipeline(
            name=TEMPLATE_PIPELINE_NAME,
            parameters=[input_bucket, input_prefix, min_roc_auc, approval],
            steps=[preprocess, train, evaluate, gate],
            sagemaker_session=session,
        )
        definition = json.loads(pipeline.definition())
    # The model step records the session's region; the construct writes the stack's.
    text = json.dumps(definition).replace(f'"{FAKE_REGION}"', f'"{PLACEHOLDERS["region"]}"')
    if FAKE_REGION in text or PLACEHOLDER_BUCKET in text:
        raise RuntimeError(
            f"the definition references {FAKE_REGION} or {PLACEHOLDER_BUCKET}, which exist only "
            "at generation (a step uploaded local files?); pass placeholders instead"
        )
    return json.loads(text)


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
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
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
