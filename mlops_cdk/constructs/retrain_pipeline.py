"""RetrainPipeline: the SageMaker Pipeline that preprocesses, trains, gates and registers."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import ArnFormat, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_cdk.constructs._image import image_uri
from mlops_cdk.constructs._nag import acknowledge_findings, bucket_grant_findings
from mlops_cdk.constructs._props import ConstructValidator
from mlops_cdk.pipelines import CODE_DIR, DEFINITION_PATH, FRAMEWORK_IMAGES_PATH, PLACEHOLDERS
from mlops_cdk.s3_keys import check_key_prefix


def render_definition(template: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder of ``PLACEHOLDERS`` in ``template`` by ``values[name]``.

    Raises:
        ValueError: A placeholder has no value, or a ``__NAME__`` token is left over.
    """
    missing = sorted(set(PLACEHOLDERS) - set(values))
    if missing:
        raise ValueError(f"no value for pipeline placeholders {missing}")
    text = template
    for name, placeholder in PLACEHOLDERS.items():
        text = text.replace(placeholder, values[name])
    leftover = sorted(set(re.findall(r"__[A-Z_]+__", text)))
    if leftover:
        raise ValueError(f"the pipeline definition has unknown placeholders {leftover}")
    return text


def _deterministic_tar_gz(source: Path, arcname: str) -> Path:
    """``source`` as a reproducible ``.tar.gz`` (fixed mtimes), so the asset hash is stable."""
    info = tarfile.TarInfo(arcname)
    data = source.read_bytes()
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(data))
    target = Path(tempfile.mkdtemp(prefix="mlops-cdk-train-")) / "sourcedir.tar.gz"
    with target.open("wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return target


class RetrainPipeline(Construct):
    """The retraining pipeline: Preprocess → Train → Evaluate → QualityGate → Register.

    The definition is ``mlops_cdk/pipelines/retrain_pipeline.json``, generated with the
    sagemaker SDK (``make pipeline-definition``) and committed; this construct substitutes its
    placeholders (role, buckets, step code uploaded as CDK assets, the region's scikit-learn
    image, the serving image) and creates the model package group it registers into. Start it
    with the parameters ``InputBucket`` and ``InputPrefix`` (see ``mlops_cdk.pipelines``).

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        pipeline_name: Pipeline name; the retraining dispatcher derives it with
            ``mlops_cdk.pipelines.retrain_pipeline_name``.
        data_bucket: Bucket of the training data (read).
        artifacts_bucket: Bucket of step outputs and models (read/write under ``pipelines/``).
        serving_image_repository: Repository of the image registered models are served with.
        serving_image_tag: Its tag.
        serving_image_digest: Its digest; when given the image is referenced by digest.
        data_prefix: Prefix the pipeline may read in ``data_bucket``. Default ``incoming/``.

    Attributes:
        pipeline_name: The name.
        pipeline_arn: The ARN.
        role: Execution role of the pipeline and its jobs.
        model_package_group_name: Model registry group the pipeline registers into.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        serving_image_repository: ecr.IRepository,
        serving_image_tag: str,
        serving_image_digest: str | None = None,
        data_prefix: str = "incoming/",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        images: dict[str, str] = json.loads(FRAMEWORK_IMAGES_PATH.read_text())
        self._validate(stack.region, images, data_prefix)
        self.pipeline_name = pipeline_name
        self.model_package_group_name = f"{pipeline_name}-models"
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker pipeline {pipeline_name} and its processing/training jobs",
        )
        data_bucket.grant_read(self.role, f"{data_prefix}*")
        artifacts_bucket.grant_read_write(self.role, "pipelines/*")
        serving_image_repository.grant_pull(self.role)

        code = self._step_code()

        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.model_package_group_name,
            model_package_group_description=f"Models registered by {pipeline_name}",
        )
        self._allow_pipeline_jobs(stack, images[stack.region])
        self._acknowledge_wildcards(stack, data_bucket, artifacts_bucket, data_prefix)

        body = render_definition(
            DEFINITION_PATH.read_text(),
            {
                "execution_role_arn": self.role.role_arn,
                "data_bucket": data_bucket.bucket_name,
                "artifacts_bucket": artifacts_bucket.bucket_name,
                "sklearn_image_uri": images[stack.region],
                "serving_image_uri": image_uri(
                    serving_image_repository, serving_image_tag, serving_image_digest
                ),
                "code_bucket": code["preprocess"].s3_bucket_name,
                **{f"{step}_code_key": asset.s3_object_key for step, asset in code.items()},
                "model_package_group": self.model_package_group_name,
                "region": stack.region,
            },
        )
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_description="Preprocess, train, evaluate and (if the gate passes) register",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": body},
        )
        self.pipeline.node.add_dependency(group)
        self.pipeline.node.add_dependency(self.role)
        self.pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=pipeline_name.lower()
        )

    def _validate(self, region: str, images: Mapping[str, str], data_prefix: str) -> None:
        check = ConstructValidator(self)
        if Token.is_unresolved(region):
            check.add(
                "region",
                region,
                "the stack has no explicit region (the scikit-learn image is per region)",
                "give the stack env=Environment(account=..., region=...)",
            )
        elif region not in images:
            check.add(
                "region",
                region,
                "has no known SageMaker scikit-learn image",
                "regenerate mlops_cdk/pipelines/sklearn_images.json with a newer sagemaker SDK",
            )
        check_key_prefix(check, "data_prefix", data_prefix, "incoming/")
        check.raise_if_any()

    def _step_code(self) -> dict[str, s3_assets.Asset]:
        """The step scripts as assets the execution role may read, by step name."""
        code = {
            "preprocess": s3_assets.Asset(
                self, "PreprocessCode", path=str(CODE_DIR / "preprocess.py")
            ),
            "train": s3_assets.Asset(
                self,
                "TrainCode",
                path=str(_deterministic_tar_gz(CODE_DIR / "train.py", "train.py")),
            ),
            "evaluate": s3_assets.Asset(self, "EvaluateCode", path=str(CODE_DIR / "evaluate.py")),
        }
        # Only the code objects themselves: asset.grant_read would cover the whole bootstrap
        # assets bucket, every other stack's assets included.
        for asset in code.values():
            asset.bucket.grant_read(self.role, asset.s3_object_key)
        return code

    def _scoped_arns(self, stack: Stack) -> dict[str, list[str]]:
        """The resources the execution role's statements name, by statement."""
        group = self.model_package_group_name

        def sagemaker_arn(resource: str, resource_name: str) -> str:
            return stack.format_arn(
                service="sagemaker", resource=resource, resource_name=resource_name
            )

        def log_group_arn(name: str) -> str:
            return stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/sagemaker/{name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )

        return {
            # Pipelines name every job it starts "pipelines-<execution id>-<step>-...".
            "jobs": [
                sagemaker_arn("processing-job", "pipelines-*"),
                sagemaker_arn("training-job", "pipelines-*"),
            ],
            "models": [
                sagemaker_arn("model-package-group", group),
                sagemaker_arn("model-package", f"{group}/*"),
            ],
            "logs": [log_group_arn("ProcessingJobs"), log_group_arn("TrainingJobs")],
        }

    def _allow_pipeline_jobs(self, stack: Stack, sklearn_image_uri: str) -> None:
        """What SageMaker needs to run the steps as this role: hand-written, each scoped."""
        scoped = self._scoped_arns(stack)
        role = self.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunPipelineJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=scoped["jobs"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterModels",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                ],
                resources=scoped["models"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassRoleToJobs",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        registry, _, repository = sklearn_image_uri.partition("/")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullFrameworkImage",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[
                    stack.format_arn(
                        service="ecr",
                        account=registry.split(".")[0],
                        resource="repository",
                        resource_name=repository.split(":")[0],
                    )
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=scoped["logs"],
            )
        )

    def _acknowledge_wildcards(
        self,
        stack: Stack,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        data_prefix: str,
    ) -> None:
        scoped = self._scoped_arns(stack)
        wildcards = [*scoped["jobs"], scoped["models"][1], *scoped["logs"]]
        findings = {
            *bucket_grant_findings(data_bucket, [data_prefix], write=False),
            *bucket_grant_findings(artifacts_bucket, ["pipelines/"], write=True),
            *(f"Resource::{arn}" for arn in wildcards),
            "Resource::*",
        }
        acknowledge_findings(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            sorted(findings),
            "Each wildcard is a prefix this pipeline owns: its input prefix, pipelines/ in the "
            "artifacts bucket, the jobs SageMaker Pipelines "
            "names pipelines-<execution>-*, versions in its own model package group and the "
            "SageMaker job log groups; Resource::* is ecr:GetAuthorizationToken, which has no "
            "resource-level permissions.",
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start this pipeline and follow its executions."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
            ],
            resource_arns=[self.pipeline_arn, f"{self.pipeline_arn}/execution/*"],
        )
