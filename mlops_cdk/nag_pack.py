"""MlopsCdkChecks: the kit's own cdk-nag rules for what the AWS Solutions pack does not cover.

cdk-nag's EKS rules read the ``aws_eks`` (v1) cluster; the kit's ``aws_eks_v2`` cluster is a
different L1 class, so its endpoint and logging go unchecked there. These rules read any
``AWS::EKS::Cluster``:

- ``MlopsCdk-EKS1``: a public API endpoint is restricted to ``publicAccessCidrs`` other than
  ``0.0.0.0/0`` / ``::/0``.
- ``MlopsCdk-EKS2``: in a stack tagged ``mlops-cdk:env=prod`` all five control-plane log types
  (api, audit, authenticator, controllerManager, scheduler) are enabled. Other environments are
  not held to it (the extra two logs cost money and matter for incident forensics).

Registered like ``AwsSolutionsChecks`` (``platform.add_security_checks``): a finding fails
synthesis unless acknowledged with ``Validations.of(scope).acknowledge(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import jsii
from aws_cdk import CfnResource, Stack
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

PACK_NAME = "MlopsCdk"
ENV_TAG = "mlops-cdk:env"
UNRESTRICTED_CIDRS = ("0.0.0.0/0", "::/0")
ALL_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

Check = Callable[[CfnResource], NagRuleCompliance]


def _resolved(node: CfnResource, property_name: str) -> Any:
    """An L1 property (by its jsii name), with tokens resolved."""
    return Stack.of(node).resolve(jsii.get(node, property_name))


def public_endpoint_is_restricted(node: CfnResource) -> NagRuleCompliance:
    """``MlopsCdk-EKS1``: no public endpoint, or one open only to named CIDRs."""
    config = _resolved(node, "resourcesVpcConfig") or {}
    if config.get("endpointPublicAccess") is False:
        return NagRuleCompliance.COMPLIANT
    cidrs = config.get("publicAccessCidrs") or []
    if not cidrs or any(cidr in UNRESTRICTED_CIDRS for cidr in cidrs):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def prod_logs_every_control_plane_type(node: CfnResource) -> NagRuleCompliance:
    """``MlopsCdk-EKS2``: a prod cluster sends all five control-plane log types."""
    if Stack.of(node).tags.tag_values().get(ENV_TAG) != "prod":
        return NagRuleCompliance.NOT_APPLICABLE
    logging = _resolved(node, "logging") or {}
    enabled = logging.get("clusterLogging", {}).get("enabledTypes") or []
    types = {entry.get("type") for entry in enabled}
    missing = set(ALL_LOG_TYPES) - types
    return NagRuleCompliance.NON_COMPLIANT if missing else NagRuleCompliance.COMPLIANT


@dataclass(frozen=True)
class NagRule:
    """One rule of the pack: its id suffix, the finding, the fix and the check."""

    suffix: str
    info: str
    explanation: str
    check: Check


RULES = (
    NagRule(
        "EKS1",
        "The EKS cluster's public API endpoint is open to the whole internet.",
        "Set endpoint_access = 'private' (the default), or public_and_private with "
        "public_access_cidrs naming your networks: an open endpoint exposes the API "
        "server to credential stuffing and to any unpatched API-server flaw.",
        public_endpoint_is_restricted,
    ),
    NagRule(
        "EKS2",
        "The prod EKS cluster does not send all five control-plane log types.",
        "Enable api, audit, authenticator, controllerManager and scheduler logs in "
        "prod: without them a scheduling or controller incident cannot be reconstructed.",
        prod_logs_every_control_plane_type,
    ),
)
"""The rules, applied to every ``AWS::EKS::Cluster``."""


@jsii.implements(IApplyRule)
class _AppliedRule:
    """A rule applied to one resource, in the shape ``NagPack.applyRule`` reads.

    jsii reads an interface's properties only through descriptors on the class, so each member
    is a read-only ``property`` over the node or the rule.
    """

    node = property(attrgetter("_node"))
    rule_suffix_override = property(attrgetter("_nag_rule.suffix"))
    info = property(attrgetter("_nag_rule.info"))
    explanation = property(attrgetter("_nag_rule.explanation"))
    level = property(lambda _applied: NagMessageLevel.ERROR)

    def __init__(self, node: CfnResource, nag_rule: NagRule) -> None:
        self._node, self._nag_rule = node, nag_rule

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        return self._nag_rule.check(node)


class MlopsCdkChecks(NagPack):
    """The ``MlopsCdk`` rule pack (see the module docstring for its rules).

    Args:
        scope: The app (as for ``AwsSolutionsChecks``).
        verbose: Print the explanations with the findings.
    """

    def __init__(self, scope: IConstruct | None = None, *, verbose: bool = False) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME

    @property
    def name(self) -> str:
        """The plugin name shown in the validation report."""
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        if node.cfn_resource_type != "AWS::EKS::Cluster":
            return
        for nag_rule in RULES:
            self._apply_rule(_AppliedRule(node, nag_rule))
