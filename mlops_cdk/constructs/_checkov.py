"""Recording checkov skips on the narrowest CloudFormation resource, always with a reason.

checkov reads ``Metadata.checkov.skip`` on each resource, so a skip applies to that resource
alone and a new resource with the same finding still fails ``make scan``.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

LOG_GROUP_KMS_REASON = (
    "No secrets are logged; CloudWatch Logs encrypts at rest. A customer-managed key per log "
    "group would add cost without a reader to restrict."
)
"""Why the kit's log groups skip CKV_AWS_158 (KMS on log groups); flow logs do use a key."""


def skip_checkov(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip ``check_id`` on ``scope``'s CloudFormation resource (its default child for an L2)."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource to annotate")
    metadata: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    if all(skip["id"] != check_id for skip in metadata["skip"]):
        metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)


CDK_HANDLER_IDS = (
    "CustomResourceProvider",  # CDK's singleton providers (auto-delete, restrict default SG, ...)
    "BucketNotificationsHandler",
    "KubectlProvider",
)
"""Construct ids of CDK's own deploy-time custom-resource handlers."""

_CDK_HANDLER_SKIPS = {
    "AWS::Lambda::Function": {
        "CKV_AWS_115": "CDK's deploy-time custom-resource handler: CloudFormation invokes it a few "
        "times per deployment, so a concurrency reservation would only risk failing deploys.",
        "CKV_AWS_116": "CDK's deploy-time custom-resource handler, invoked synchronously by "
        "CloudFormation, which reports every failure; a DLQ would never receive anything.",
        "CKV_AWS_117": "CDK's deploy-time custom-resource handler calls only public AWS APIs "
        "(or the kubectl provider is placed by aws_eks_v2 itself); nothing private to reach.",
        "CKV_AWS_173": "CDK's handler environment holds resource names and ARNs only, no secrets.",
    },
    "AWS::Logs::LogGroup": {
        "CKV_AWS_158": "Logs of CDK's deploy-time handler: no secrets, encrypted at rest by "
        "CloudWatch Logs; a customer-managed key per handler adds cost without a reader to "
        "restrict.",
    },
}


@jsii.implements(IAspect)
class CdkHandlerCheckovSkips:
    """Records the checkov skips above on CDK's own custom-resource handlers and their logs."""

    def visit(self, node: IConstruct) -> None:
        """Annotate ``node`` when it is (the log group of) a CDK-internal handler."""
        if not isinstance(node, CfnResource):
            return
        skips = _CDK_HANDLER_SKIPS.get(node.cfn_resource_type)
        if skips and any(part in node.node.path for part in CDK_HANDLER_IDS):
            for check_id, reason in skips.items():
                skip_checkov(node, check_id, reason)
