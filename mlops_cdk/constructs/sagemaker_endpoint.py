"""SageMakerModelEndpoint: the model server image as a SageMaker endpoint with safe rollouts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_cdk.config import SageMakerVariant
from mlops_cdk.constructs._checkov import skip_checkov
from mlops_cdk.constructs._image import image_uri
from mlops_cdk.constructs._kms import build_encryption_key
from mlops_cdk.constructs._logs import build_log_group
from mlops_cdk.constructs._nag import acknowledge, acknowledge_reference
from mlops_cdk.constructs._props import ConstructValidator, merge_props

VARIANT_NAME = "AllTraffic"
"""The production variant's name; blue/green updates require it to stay the same."""


class SageMakerModelEndpoint(Construct):
    """A SageMaker endpoint serving the model-server image, which holds the model.

    The container is the same image the EKS path runs (it answers SageMaker's ``GET /ping`` and
    ``POST /invocations`` on port 8080), so both paths give identical answers. The model is the
    one baked into the image: no ``ModelDataUrl`` is set, so the image tag alone names what is
    served (a fixed model-data key would fail ``CreateModel`` until uploaded, then shadow every
    later image).

    Real-time variant: instances in the VPC's private subnets behind a security group that only
    allows HTTPS out, network isolation, a KMS-encrypted volume, data capture to
    ``data_capture_prefix``, target-tracking autoscaling on invocations per instance, and
    blue/green updates (canary of one instance when there are at least two, else all at once)
    that roll back automatically when the 5xx or p99 model-latency alarm fires.

    Serverless variant (low-traffic dev): SageMaker does not support VPC configuration, network
    isolation, data capture or autoscaling policies for serverless endpoints, so none are set
    (a ``data_capture_percent`` above 0 is rejected); updates are blue/green all at once with the
    same alarms for auto-rollback.

    Naming: the endpoint has a fixed name (alarms, autoscaling, logs and IAM refer to it, and
    CloudFormation updates an endpoint in place, which is what triggers the blue/green
    rollout). The model and endpoint config are left unnamed: a new image tag or setting
    replaces them under fresh generated names, so updates never collide with the old ones,
    which CloudFormation deletes after the endpoint has moved.

    Args:
        scope: Parent construct.
        construct_id: Construct id.
        endpoint_name: Endpoint name (lowercase letters, digits, '-'; at most 63).
        repository: ECR repository of the model-server image; the role may pull only from it.
        image_tag: Image tag to serve (tags are immutable, so a tag names one image).
        image_digest: ``sha256:...`` of that image; when given the model references the image
            by digest (the tag is then a label). Default none.
        model_artifacts_bucket: Bucket receiving data capture (real-time only).
        vpc: VPC for real-time instances (required for ``realtime``, unused for serverless).
        variant: ``realtime`` (default) or ``serverless``.
        instance_type: Real-time instance type. Default ``ml.m5.large``.
        initial_instance_count: Instances at creation and for each new (green) fleet. Default 1.
        min_capacity: Autoscaling minimum. Default 1.
        max_capacity: Autoscaling maximum. Default 2.
        invocations_per_instance: Target of the target-tracking policy, in invocations per
            instance per minute. Default 1000.
        serverless_memory_mb: Serverless memory. Default 2048.
        serverless_max_concurrency: Serverless maximum concurrency. Default 5.
        data_capture_percent: Share of requests and responses captured (real-time only).
            Default 20; 0 turns capture off.
        data_capture_prefix: Where captured data lands. Default ``data-capture/``.
        latency_alarm_threshold: p99 ``ModelLatency`` that triggers rollback. Default 500 ms.
        error_alarm_threshold: ``Invocation5XXErrors`` per minute, for 2 minutes, that trigger
            rollback. Default 5.
        canary_wait: How long the canary serves before the rest of the traffic shifts.
            Default 5 minutes.
        bake_time: How long the old fleet is kept after the full shift while the alarms are
            watched (the rollback window). Default 10 minutes.
        log_retention: Retention of ``/aws/sagemaker/Endpoints/<name>``. Default one month.
        removal_policy: For the key and the log group. Default ``RETAIN``.
        existing_encryption_key: Key for the endpoint's storage volume (and, serverless, the
            image SageMaker copies); default a new key with rotation.
        existing_security_group: Security group for real-time instances instead of a new one.
        security_group_props: ``ec2.SecurityGroup`` keyword arguments merged over the defaults;
            ``vpc`` stays as given.
        model_environment: Extra environment variables of the container.

    Attributes:
        endpoint: The ``CfnEndpoint``.
        endpoint_name: Its name.
        variant_name: The production variant (``AllTraffic``).
        is_serverless: Whether the variant is serverless.
        model: The ``CfnModel``; endpoint_config: the ``CfnEndpointConfig``.
        execution_role: The role SageMaker assumes for this model.
        encryption_key: The volume key.
        security_group: The instances' security group, or ``None`` when serverless.
        log_group: The endpoint's container log group.
        error_alarm, latency_alarm: The rollback alarms.
        scalable_target: The autoscaling target, or ``None`` when serverless.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        repository: ecr.IRepository,
        image_tag: str,
        image_digest: str | None = None,
        model_artifacts_bucket: s3.IBucket,
        vpc: ec2.IVpc | None = None,
        variant: SageMakerVariant = "realtime",
        instance_type: str = "ml.m5.large",
        initial_instance_count: int = 1,
        min_capacity: int = 1,
        max_capacity: int = 2,
        invocations_per_instance: int = 1000,
        serverless_memory_mb: int = 2048,
        serverless_max_concurrency: int = 5,
        data_capture_percent: int = 20,
        data_capture_prefix: str = "data-capture/",
        latency_alarm_threshold: Duration = Duration.millis(500),  # noqa: B008
        error_alarm_threshold: int = 5,
        canary_wait: Duration = Duration.minutes(5),
        bake_time: Duration = Duration.minutes(10),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        existing_encryption_key: kms.IKey | None = None,
        existing_security_group: ec2.ISecurityGroup | None = None,
        security_group_props: Mapping[str, Any] | None = None,
        model_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._validate(
            endpoint_name,
            variant,
            vpc,
            data_capture_percent,
            data_capture_prefix,
            existing_security_group,
            security_group_props,
        )
        self.endpoint_name = endpoint_name
        self.variant_name = VARIANT_NAME
        self.is_serverless = variant == "serverless"

        self.encryption_key: kms.IKey = existing_encryption_key or build_encryption_key(
            self,
            "Key",
            description=f"Encrypts the storage volume of SageMaker endpoint {endpoint_name}",
            removal_policy=removal_policy,
        )
        self.log_group = self._log_group(log_retention, removal_policy)
        self.execution_role = self._execution_role(
            repository, model_artifacts_bucket, data_capture_prefix
        )

        self.security_group: ec2.ISecurityGroup | None = None
        vpc_config = None
        if not self.is_serverless:
            assert vpc is not None
            vpc_config = self._vpc_config(vpc, existing_security_group, security_group_props)

        self.model = self._model(
            image_uri(repository, image_tag, image_digest), vpc_config, model_environment
        )

        production_variant = self._production_variant(
            instance_type, initial_instance_count, serverless_memory_mb, serverless_max_concurrency
        )
        data_capture = self._data_capture(
            model_artifacts_bucket, data_capture_percent, data_capture_prefix
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[production_variant],
            kms_key_id=self.encryption_key.key_arn,
            data_capture_config=data_capture,
        )

        self.error_alarm, self.latency_alarm = self._rollback_alarms(
            latency_alarm_threshold, error_alarm_threshold
        )
        canary = not self.is_serverless and initial_instance_count >= 2
        self.endpoint = self._endpoint(self._deployment_config(canary, canary_wait, bake_time))
        self.endpoint_arn = Stack.of(self).format_arn(
            service="sagemaker", resource="endpoint", resource_name=endpoint_name
        )

        self.scalable_target: appscaling.ScalableTarget | None = None
        if not self.is_serverless:
            self.scalable_target = self._autoscaling(
                min_capacity, max_capacity, invocations_per_instance
            )

    def _endpoint(
        self, deployment_config: sagemaker.CfnEndpoint.DeploymentConfigProperty
    ) -> sagemaker.CfnEndpoint:
        """The endpoint, created after its log group so the group's retention applies."""
        endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=deployment_config,
        )
        endpoint.node.add_dependency(self.log_group)
        return endpoint

    def _log_group(
        self, log_retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        """``/aws/sagemaker/Endpoints/<name>``, made before the endpoint so retention applies."""
        return build_log_group(
            self,
            "Logs",
            retention=log_retention,
            removal_policy=removal_policy,
            log_group_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
        )

    def _model(
        self,
        image: str,
        vpc_config: sagemaker.CfnModel.VpcConfigProperty | None,
        model_environment: Mapping[str, str] | None,
    ) -> sagemaker.CfnModel:
        """The image alone: no ``ModelDataUrl``, so the tag names exactly what is served."""
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image,
                environment=dict(model_environment or {}) or None,
            ),
            vpc_config=vpc_config,
            enable_network_isolation=None if self.is_serverless else True,
        )
        if self.is_serverless:
            skip_checkov(
                model,
                "CKV_AWS_370",
                "Serverless inference does not support network isolation; the real-time "
                "variant (staging, prod) enables it.",
            )
        # SageMaker checks the image with the role when the model is created.
        model.node.add_dependency(self.execution_role)
        return model

    def _vpc_config(
        self,
        vpc: ec2.IVpc,
        existing_security_group: ec2.ISecurityGroup | None,
        security_group_props: Mapping[str, Any] | None,
    ) -> sagemaker.CfnModel.VpcConfigProperty:
        self.security_group = existing_security_group or self._security_group(
            vpc, security_group_props
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self._grant_vpc_access(vpc, subnets.subnet_ids)
        return sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=[self.security_group.security_group_id],
            subnets=subnets.subnet_ids,
        )

    def _production_variant(
        self,
        instance_type: str,
        initial_instance_count: int,
        serverless_memory_mb: int,
        serverless_max_concurrency: int,
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        if self.is_serverless:
            return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=serverless_max_concurrency,
                    memory_size_in_mb=serverless_memory_mb,
                ),
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=self.model.attr_model_name,
            instance_type=instance_type,
            initial_instance_count=initial_instance_count,
            initial_variant_weight=1.0,
        )

    def _data_capture(
        self, bucket: s3.IBucket, data_capture_percent: int, data_capture_prefix: str
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
        if self.is_serverless or data_capture_percent == 0:
            return None
        capture_key = bucket.encryption_key
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=data_capture_percent,
            destination_s3_uri=bucket.s3_url_for_object(data_capture_prefix.rstrip("/")),
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=["application/json"]
            ),
            kms_key_id=capture_key.key_arn if capture_key else None,
        )

    def _deployment_config(
        self, canary: bool, canary_wait: Duration, bake_time: Duration
    ) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        """Blue/green: a canary of one instance when there are >= 2, rolled back on alarms."""
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                    # A canary may be at most half the green fleet: one of >= 2 instances.
                    type="CANARY" if canary else "ALL_AT_ONCE",
                    canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                        type="INSTANCE_COUNT", value=1
                    )
                    if canary
                    else None,
                    wait_interval_in_seconds=canary_wait.to_seconds() if canary else None,
                ),
                termination_wait_in_seconds=bake_time.to_seconds(),
            ),
            auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[
                    sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)
                    for alarm in (self.error_alarm, self.latency_alarm)
                ]
            ),
        )

    def _validate(
        self,
        endpoint_name: str,
        variant: str,
        vpc: ec2.IVpc | None,
        data_capture_percent: int,
        data_capture_prefix: str,
        existing_security_group: ec2.ISecurityGroup | None,
        security_group_props: Mapping[str, Any] | None,
    ) -> None:
        check = ConstructValidator(self)
        check.check_existing_or_props(
            "existing_security_group",
            existing_security_group,
            "security_group_props",
            security_group_props,
        )
        check.check(
            "endpoint_name",
            endpoint_name,
            lambda name: re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name) is not None,
            "is not a SageMaker endpoint name",
            "use at most 63 letters, digits or '-', starting with a letter or digit",
        )
        check.check(
            "variant",
            variant,
            variant in ("realtime", "serverless"),
            "unknown variant",
            "use 'realtime' or 'serverless'",
        )
        if variant == "realtime":
            check.check(
                "vpc",
                vpc,
                vpc is not None,
                "variant = 'realtime' needs a vpc",
                "pass the VPC whose private subnets hold the instances",
            )
        if variant == "serverless":
            check.check(
                "data_capture_percent",
                data_capture_percent,
                data_capture_percent == 0,
                "serverless endpoints cannot capture data",
                "pass 0 or use variant = 'realtime'",
            )
        check.check(
            "data_capture_percent",
            data_capture_percent,
            0 <= data_capture_percent <= 100,
            "out of range",
            "use 0-100",
        )
        check.check(
            "data_capture_prefix",
            data_capture_prefix,
            lambda prefix: prefix.endswith("/"),
            "must end with '/'",
            "e.g. 'data-capture/'",
        )
        check.raise_if_any()

    def _security_group(
        self, vpc: ec2.IVpc, security_group_props: Mapping[str, Any] | None
    ) -> ec2.SecurityGroup:
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            **merge_props(
                self,
                {
                    "description": f"SageMaker endpoint {self.endpoint_name}: HTTPS out only",
                    "allow_all_outbound": False,
                },
                security_group_props,
                {"vpc": vpc},
                security_keys=("allow_all_outbound",),
            ),
        )
        # The image and data capture go through the VPC (S3 gateway endpoint, ECR through NAT
        # or interface endpoints): HTTPS out is all the instances need.
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 and ECR"
        )
        return security_group

    def _execution_role(
        self,
        repository: ecr.IRepository,
        bucket: s3.IBucket,
        data_capture_prefix: str,
    ) -> iam.Role:
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker model of endpoint {self.endpoint_name}: pull image, write "
            "own logs and data capture",
        )
        if not self.is_serverless:
            # Hand-written rather than grant_put: that adds s3:Abort* and tagging actions
            # SageMaker never uses.
            capture_objects = bucket.arn_for_objects(f"{data_capture_prefix}*")
            role.add_to_policy(
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[capture_objects])
            )
            if bucket.encryption_key is not None:
                bucket.encryption_key.grant(role, "kms:Encrypt", "kms:GenerateDataKey")
            acknowledge_reference(
                role,
                "AwsSolutions-IAM5[Resource::{}]",
                capture_objects,
                "SageMaker writes captured requests under the data-capture prefix with keys it "
                "generates (endpoint/variant/date/uuid); the role can only put objects there.",
            )
        repository.grant_pull(role)
        # SageMaker also creates log streams in the endpoint's group (it exists already).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.log_group.log_group_arn],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken (image pull) and the ec2:Describe* calls SageMaker makes "
            "to place instances in the VPC support no resource-level permissions.",
        )
        return role

    def _grant_vpc_access(self, vpc: ec2.IVpc, subnet_ids: list[str]) -> None:
        """ENI permissions SageMaker needs to place the instances in the VPC."""
        stack = Stack.of(self)
        self.execution_role.add_to_policy(
            iam.PolicyStatement(
                # Describe calls support no resource-level permissions.
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )
        network_interfaces = stack.format_arn(
            service="ec2", resource="network-interface", resource_name="*"
        )
        assert self.security_group is not None
        self.execution_role.add_to_policy(
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    network_interfaces,
                    stack.format_arn(
                        service="ec2",
                        resource="security-group",
                        resource_name=self.security_group.security_group_id,
                    ),
                    *(
                        stack.format_arn(service="ec2", resource="subnet", resource_name=subnet_id)
                        for subnet_id in subnet_ids
                    ),
                ],
            )
        )
        self.execution_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[network_interfaces],
                conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
            )
        )
        acknowledge_reference(
            self.execution_role,
            "AwsSolutions-IAM5[Resource::{}]",
            network_interfaces,
            "SageMaker creates the instances' network interfaces, whose ids are unknown "
            "beforehand; creation is limited to this endpoint's subnets and security group, "
            "changes and deletion to interfaces in this VPC.",
        )

    def _rollback_alarms(
        self, latency_threshold: Duration, error_threshold: int
    ) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": VARIANT_NAME}

        def per_minute(metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric_name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=Duration.minutes(1),
            )

        errors = cloudwatch.Alarm(
            self,
            "Invocation5xxAlarm",
            alarm_description=f"{self.endpoint_name}: model 5xx errors; rolls back an update",
            metric=per_minute("Invocation5XXErrors", "Sum"),
            threshold=error_threshold,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency = cloudwatch.Alarm(
            self,
            "ModelLatencyAlarm",
            alarm_description=f"{self.endpoint_name}: p99 model latency above "
            f"{latency_threshold.to_milliseconds()} ms; rolls back an update",
            metric=per_minute("ModelLatency", "p99"),
            # ModelLatency is reported in microseconds.
            threshold=latency_threshold.to_milliseconds() * 1000,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return errors, latency

    def _autoscaling(
        self, min_capacity: int, max_capacity: int, invocations_per_instance: int
    ) -> appscaling.ScalableTarget:
        stack = Stack.of(self)
        # Application Auto Scaling uses its SageMaker service-linked role (created on first use).
        service_linked_role = iam.Role.from_role_arn(
            self,
            "AutoScalingRole",
            stack.format_arn(
                service="iam",
                region="",
                resource="role",
                resource_name="aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            ),
        )
        target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role=service_linked_role,
        )
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_out_cooldown=Duration.minutes(1),
            scale_in_cooldown=Duration.minutes(5),
        )
        return target
