"""SageMakerServingStack: endpoint config, rollout, autoscaling, role scope, API contract."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from mlops_cdk.constructs.model_api import ModelApi, SageMakerBackend
from mlops_cdk.versions import LAMBDA_RUNTIME


def stack_template(synth, env):
    s = synth(env, "sagemaker")
    return s, s.template(s.stacks.sagemaker)


def only(t, resource_type):
    found = t.find_resources(resource_type)
    assert len(found) == 1, found
    return next(iter(found.values()))["Properties"]


def statements(t, policy_prefix):
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in t.find_resources("AWS::IAM::Policy").items()
        if k.startswith(policy_prefix)
    ]
    assert len(policies) == 1
    return policies[0]


def actions_of(statement):
    a = statement["Action"]
    return [a] if isinstance(a, str) else a


def test_only_the_sagemaker_path_creates_the_stack(synth):
    assert synth("dev", "eks").stacks.sagemaker is None
    s = synth("dev", "sagemaker")
    assert s.stacks.sagemaker in s.stacks.all()


def test_prod_realtime_endpoint_config_has_kms_vpc_capture_and_instances(synth):
    _, t = stack_template(synth, "prod")
    config = only(t, "AWS::SageMaker::EndpointConfig")
    assert "EndpointKey" in json.dumps(config["KmsKeyId"])
    assert len(config["ProductionVariants"]) == 1
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.m5.xlarge",
        2,
    )
    assert "ServerlessConfig" not in variant
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 20
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    # The environment's capture prefix, which the drift check reads.
    assert json.dumps(capture["DestinationS3Uri"]).endswith('"/capture/prod"]]}')
    assert "StorageBucketKey" in json.dumps(capture["KmsKeyId"])
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})

    model = only(t, "AWS::SageMaker::Model")
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) == 3
    assert all("privateSubnet" in json.dumps(x) for x in model["VpcConfig"]["Subnets"])
    assert "ModelName" not in model and "EndpointConfigName" not in config
    image = json.dumps(model["PrimaryContainer"]["Image"])
    # prod imports the account's shared repository by name (dev creates it).
    assert "/mlops-cdk/model-server:latest" in image
    # Issue 18: the image holds the model; a fixed ModelDataUrl fails CreateModel until
    # someone uploads it, then shadows every later image.
    assert "ModelDataUrl" not in model["PrimaryContainer"]


def test_endpoint_security_group_allows_only_https_out(synth):
    _, t = stack_template(synth, "prod")
    sg = only(t, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in sg
    assert sg["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to S3 and ECR",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_dev_serverless_variant_has_no_vpc_capture_or_autoscaling(synth):
    _, t = stack_template(synth, "dev")
    config = only(t, "AWS::SageMaker::EndpointConfig")
    variant = config["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MaxConcurrency": 5, "MemorySizeInMB": 2048}
    assert "InstanceType" not in variant
    assert "DataCaptureConfig" not in config
    # AWS documents KmsKeyId for serverless endpoint configs (it encrypts the copied image):
    # docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-create-config.html
    assert "KmsKeyId" in config
    model = only(t, "AWS::SageMaker::Model")
    assert "ModelDataUrl" not in model["PrimaryContainer"]
    assert "VpcConfig" not in model and "EnableNetworkIsolation" not in model
    t.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    t.resource_count_is("AWS::EC2::SecurityGroup", 0)


def test_blue_green_rollout_rolls_back_on_5xx_and_latency_alarms(synth):
    _, t = stack_template(synth, "prod")
    endpoint = only(t, "AWS::SageMaker::Endpoint")
    assert endpoint["EndpointName"] == "mlopscdk-prod-fraud-detection"
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 300,
    }
    assert policy["TerminationWaitInSeconds"] == 600
    alarm_refs = {
        a["AlarmName"]["Ref"]
        for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    }
    alarms = t.find_resources("AWS::CloudWatch::Alarm")
    assert alarm_refs == set(alarms)
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    dims = [
        {"Name": "EndpointName", "Value": "mlopscdk-prod-fraud-detection"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    errors, latency = by_metric["Invocation5XXErrors"], by_metric["ModelLatency"]
    assert errors["Namespace"] == latency["Namespace"] == "AWS/SageMaker"
    assert sorted(errors["Dimensions"], key=str) == sorted(dims, key=str)
    assert (errors["Statistic"], errors["Threshold"], errors["ComparisonOperator"]) == (
        "Sum",
        5,
        "GreaterThanOrEqualToThreshold",
    )
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Threshold"] == 500_000  # 500 ms in microseconds
    assert errors["TreatMissingData"] == latency["TreatMissingData"] == "notBreaching"


def test_single_instance_and_serverless_fleets_shift_all_at_once(synth):
    for env in ("staging", "dev"):
        _, t = stack_template(synth, env)
        endpoint = only(t, "AWS::SageMaker::Endpoint")
        routing = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"][
            "TrafficRoutingConfiguration"
        ]
        assert routing == {"Type": "ALL_AT_ONCE"}
        assert len(endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]) == 2


def test_realtime_variant_autoscales_on_invocations_per_instance(synth):
    _, t = stack_template(synth, "prod")
    target = only(t, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ResourceId"] == "endpoint/mlopscdk-prod-fraud-detection/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint" in json.dumps(
        target["RoleARN"]
    )
    t.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "TargetValue": 1000,
                    "ScaleInCooldown": 300,
                    "ScaleOutCooldown": 60,
                }
            ),
        },
    )


def test_execution_role_is_scoped_to_model_capture_repository_and_logs(synth):
    _, t = stack_template(synth, "prod")
    t.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})
                    ]
                }
            )
        },
    )
    stmts = statements(t, "EndpointExecutionRole")
    by_action = {a: s for s in stmts for a in actions_of(s)}
    assert not any(a.endswith("*") for a in by_action), sorted(by_action)
    assert "s3:GetObject" not in by_action  # no model data: the image holds the model
    assert json.dumps(by_action["s3:PutObject"]["Resource"]).endswith('"/capture/prod/*"]]}')
    # The account's shared repository, imported by name in prod.
    assert json.dumps(by_action["ecr:BatchGetImage"]["Resource"]).endswith(
        ':repository/mlops-cdk/model-server"'
    )
    assert by_action["ecr:GetAuthorizationToken"]["Resource"] == "*"
    assert "EndpointLogs" in json.dumps(by_action["logs:PutLogEvents"]["Resource"])
    assert "NetworkVpc" in json.dumps(
        by_action["ec2:DeleteNetworkInterface"]["Condition"]["ArnEquals"]["ec2:Vpc"]
    )
    assert "privateSubnet" in json.dumps(by_action["ec2:CreateNetworkInterface"]["Resource"])
    star = [s for s in stmts if s["Resource"] == "*"]
    assert {a for s in star for a in actions_of(s)} == {
        "ecr:GetAuthorizationToken",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
    t.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": "/aws/sagemaker/Endpoints/mlopscdk-prod-fraud-detection",
            "RetentionInDays": 365,
        },
    )


def test_serverless_role_cannot_write_capture_or_touch_the_network(synth):
    _, t = stack_template(synth, "dev")
    actions = {a for s in statements(t, "EndpointExecutionRole") for a in actions_of(s)}
    assert "s3:PutObject" not in actions
    assert not any(a.startswith("ec2:") for a in actions)


def test_api_routes_need_iam_auth_and_stage_throttles_and_logs(synth):
    _, t = stack_template(synth, "dev")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in t.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"POST /v1/models/{proxy+}", "$default"}
    assert {r["AuthorizationType"] for r in routes.values()} == {"AWS_IAM"}
    assert len({json.dumps(r["Target"]) for r in routes.values()}) == 1
    stage = only(t, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "status", "routeKey", "integrationError"} <= set(log_format)
    integration = only(t, "AWS::ApiGatewayV2::Integration")
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
        "AWS_PROXY",
        "2.0",
    )


def test_predict_adapter_is_traced_limited_and_scoped(synth):
    _, t = stack_template(synth, "dev")
    fn = only(t, "AWS::Lambda::Function")
    assert (fn["Runtime"], fn["Architectures"], fn["Handler"]) == (
        LAMBDA_RUNTIME.name,
        ["arm64"],
        "handler.lambda_handler",
    )
    assert fn["TracingConfig"] == {"Mode": "Active"}
    # Reserved concurrency is opt-in (api.reserved_concurrency, issue 18).
    assert "ReservedConcurrentExecutions" not in fn
    assert fn["Timeout"] == 29
    assert fn["Environment"]["Variables"] == {
        "ENDPOINT_NAME": "mlopscdk-dev-fraud-detection",
        "MODEL_NAME": "fraud-detection",
        "MAX_REQUEST_BYTES": "65536",
        "POWERTOOLS_SERVICE_NAME": "predict-proxy",
    }
    assert "powertools" in json.dumps(fn["Layers"]).lower()
    stmts = statements(t, "ApiFunctionRole")
    invoke = [s for s in stmts if actions_of(s) == ["sagemaker:InvokeEndpoint"]]
    assert len(invoke) == 1
    resource = json.dumps(invoke[0]["Resource"])
    assert ":endpoint/mlopscdk-dev-fraud-detection" in resource and "*" not in resource


def test_outputs_give_endpoint_url_and_a_ready_awscurl(synth):
    _, t = stack_template(synth, "dev")
    outputs = t.find_outputs("*")
    assert outputs["EndpointName"]["Value"] == "mlopscdk-dev-fraud-detection"
    assert "ApiEndpoint" in json.dumps(outputs["ApiUrl"]["Value"])
    example = json.dumps(outputs["ExampleRequest"]["Value"])
    assert "awscurl --service execute-api --region us-east-1 -X POST" in example
    assert "/v1/models/fraud-detection:predict" in example


def test_stack_exposes_typed_attributes_for_observability(synth):
    s = synth("prod", "sagemaker")
    st = s.stacks.sagemaker
    assert (st.endpoint_name, st.variant_name, st.is_serverless) == (
        "mlopscdk-prod-fraud-detection",
        "AllTraffic",
        False,
    )
    assert st.http_api is st.model_api.http_api and st.function is st.model_api.function
    assert synth("dev", "sagemaker").stacks.sagemaker.is_serverless is True


def test_reserved_concurrency_is_opt_in():
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    ModelApi(stack, "Api", backend=SageMakerBackend(endpoint_name="e", reserved_concurrency=5))
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5}
    )
    with pytest.raises(ValueError, match="domain_name and certificate_arn go together"):
        ModelApi(stack, "Half", backend=SageMakerBackend(endpoint_name="e"), domain_name="a.b.co")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_both_paths_share_the_routes_and_the_authorizer_type(synth, env):
    """One front door: same route keys, same authorizer type, same stage settings."""
    shapes = []
    for serving in ("sagemaker", "eks"):
        s = synth(env, serving)
        t = s.template(s.stacks.serving)
        routes = {
            r["Properties"]["RouteKey"]: r["Properties"]["AuthorizationType"]
            for r in t.find_resources("AWS::ApiGatewayV2::Route").values()
        }
        (stage,) = t.find_resources("AWS::ApiGatewayV2::Stage").values()
        shapes.append((routes, stage["Properties"]["DefaultRouteSettings"]))
        outputs = t.find_outputs("*")
        assert "/v1/models/fraud-detection:predict" in json.dumps(outputs["PredictUrl"])
        assert "awscurl --service execute-api" in json.dumps(outputs["ExampleRequest"])
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == {"POST /v1/models/{proxy+}": "AWS_IAM", "$default": "AWS_IAM"}
