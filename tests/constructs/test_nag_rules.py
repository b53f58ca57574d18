"""The kit's own cdk-nag rules (MlopsCdkChecks) for the aws_eks_v2 cluster."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks

from mlops_cdk.nag_pack import ALL_LOG_TYPES, MlopsCdkChecks
from mlops_cdk.platform import add_security_checks

ALL_LOGS = [
    eks.ClusterLoggingTypes.API,
    eks.ClusterLoggingTypes.AUDIT,
    eks.ClusterLoggingTypes.AUTHENTICATOR,
    eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    eks.ClusterLoggingTypes.SCHEDULER,
]


def cluster_app(env: str, endpoint: eks.EndpointAccess, logs: list) -> cdk.App:
    """A scratch app with one bare aws_eks_v2 cluster in a stack tagged like the kit's."""
    app = cdk.App()
    stack = cdk.Stack(app, "Scratch", tags={"mlops-cdk:env": env})
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    eks.Cluster(
        stack,
        "Cluster",
        vpc=vpc,
        version=eks.KubernetesVersion.of("1.32"),
        endpoint_access=endpoint,
        cluster_logging=logs,
    )
    return app


def findings(app: cdk.App) -> set[str]:
    report = MlopsCdkChecks().validate_scope(app)
    return {violation.rule_name for violation in report.violations}


@pytest.mark.parametrize(
    ("env", "endpoint", "logs", "expected"),
    [
        ("dev", eks.EndpointAccess.PUBLIC_AND_PRIVATE, ALL_LOGS[:3], {"MlopsCdk-EKS1"}),
        ("dev", eks.EndpointAccess.PUBLIC, ALL_LOGS[:3], {"MlopsCdk-EKS1"}),
        (
            "dev",
            eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from("0.0.0.0/0"),
            [],
            {"MlopsCdk-EKS1"},
        ),
        ("dev", eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from("203.0.113.0/24"), [], set()),
        ("dev", eks.EndpointAccess.PRIVATE, ALL_LOGS[:3], set()),
        ("prod", eks.EndpointAccess.PRIVATE, ALL_LOGS[:3], {"MlopsCdk-EKS2"}),
        ("prod", eks.EndpointAccess.PRIVATE, ALL_LOGS[:4], {"MlopsCdk-EKS2"}),
        ("prod", eks.EndpointAccess.PUBLIC, [], {"MlopsCdk-EKS1", "MlopsCdk-EKS2"}),
        ("prod", eks.EndpointAccess.PRIVATE, ALL_LOGS, set()),
    ],
)
def test_rules_flag_open_endpoints_and_prod_clusters_missing_logs(env, endpoint, logs, expected):
    assert findings(cluster_app(env, endpoint, logs)) == expected


def test_a_violating_cluster_fails_synth_like_aws_solutions_findings():
    app = cluster_app("prod", eks.EndpointAccess.PUBLIC, ALL_LOGS)
    add_security_checks(app)
    with pytest.raises(Exception, match=r"Acknowledge with 'MlopsCdk::MlopsCdk-EKS1'"):
        app.synth()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_kits_templates_pass(synth, env):
    s = synth(env, "eks")
    cluster = s.stacks.eks.fargate_cluster.cluster
    # Synthesis with the pack registered succeeded; the pack also finds nothing on its own.
    assert findings(cdk.Stack.of(cluster).node.scope) == set()
    enabled = s.template(s.stacks.eks).find_resources("AWS::EKS::Cluster")
    (props,) = [r["Properties"] for r in enabled.values()]
    types = {entry["Type"] for entry in props["Logging"]["ClusterLogging"]["EnabledTypes"]}
    assert (types == set(ALL_LOG_TYPES)) == (env == "prod")
