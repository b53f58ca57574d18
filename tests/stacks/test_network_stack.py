"""NetworkStack / PlatformVpc: AZs, subnets, NAT per environment, endpoints, flow logs."""

from __future__ import annotations

from aws_cdk.assertions import Match


def test_dev_vpc_spans_pinned_azs_with_one_nat(synth):
    s = synth("dev")
    t = s.template(s.stacks.network)
    t.resource_count_is("AWS::EC2::NatGateway", 1)
    t.resource_count_is("AWS::EC2::Subnet", 6)
    azs = {
        r["Properties"]["AvailabilityZone"] for r in t.find_resources("AWS::EC2::Subnet").values()
    }
    assert azs == {"us-east-1a", "us-east-1b"}
    t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})


def test_prod_has_one_nat_per_az_and_interface_endpoints(synth):
    s = synth("prod")
    t = s.template(s.stacks.network)
    t.resource_count_is("AWS::EC2::NatGateway", 3)
    t.resource_count_is("AWS::EC2::Subnet", 9)
    endpoints = t.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    services = sorted(
        str(r["Properties"]["ServiceName"]).rsplit(".", 1)[-1] for r in endpoints.values()
    )
    assert services == sorted(["api", "dkr", "sts", "secretsmanager", "logs", "runtime"])
    t.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": "HTTPS from inside the VPC to its interface endpoints",
            "SecurityGroupIngress": [
                Match.object_like({"CidrIp": "10.0.0.0/16", "FromPort": 443, "ToPort": 443})
            ],
        },
    )


def test_dev_has_no_interface_endpoints_but_always_an_s3_gateway(synth):
    s = synth("dev")
    t = s.template(s.stacks.network)
    t.resource_count_is("AWS::EC2::VPCEndpoint", 1)
    t.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(synth):
    for env, days in (("dev", 30), ("prod", 365)):
        s = synth(env)
        t = s.template(s.stacks.network)
        t.has_resource_properties(
            "AWS::EC2::FlowLog", {"TrafficType": "ALL", "ResourceType": "VPC"}
        )
        t.has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "RetentionInDays": days,
                "KmsKeyId": Match.object_like({"Fn::GetAtt": Match.any_value()}),
            },
        )
        t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_subnet_tiers(synth):
    s = synth("dev")
    t = s.template(s.stacks.network)
    tiers = {
        next(tag["Value"] for tag in r["Properties"]["Tags"] if tag["Key"] == "aws-cdk:subnet-name")
        for r in t.find_resources("AWS::EC2::Subnet").values()
    }
    assert tiers == {"public", "private", "isolated"}
