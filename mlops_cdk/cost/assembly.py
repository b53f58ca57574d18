"""Read a synthesized cloud assembly: stack templates, their resources and Kubernetes manifests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Resource = dict[str, Any]
"""One CloudFormation resource: ``{"Type": ..., "Properties": {...}}``."""

KUBERNETES_RESOURCE_TYPE = "Custom::AWSCDK-EKS-KubernetesResource"


@dataclass(frozen=True)
class StackTemplate:
    """One stack of an assembly: its artifact id, stack tags (``None`` if unset) and template."""

    artifact_id: str
    tags: dict[str, str] | None
    template: dict[str, Any]

    @property
    def resources(self) -> list[Resource]:
        """The template's resources, in template order."""
        return list(self.template.get("Resources", {}).values())


def stack_templates(outdir: Path) -> Iterator[StackTemplate]:
    """Every CloudFormation stack of the cloud assembly in ``outdir``, in manifest order."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact["properties"]
        template = json.loads((outdir / properties["templateFile"]).read_text())
        yield StackTemplate(artifact_id, properties.get("tags"), template)


def read_assembly(outdir: Path) -> tuple[dict[str, str], list[Resource]]:
    """Stack tags and every resource of every stack in a cloud assembly directory."""
    tags: dict[str, str] = {}
    resources: list[Resource] = []
    for stack in stack_templates(outdir):
        tags = tags if stack.tags is None else stack.tags
        resources.extend(stack.resources)
    return tags, resources


class Inventory:
    """The resources of one assembly indexed by type, with the Kubernetes objects they apply."""

    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.by_type: dict[str, list[Resource]] = {}
        for resource in resources:
            self.by_type.setdefault(resource["Type"], []).append(resource)
        self.kubernetes_objects = list(kubernetes_objects(resources))

    def of(self, *resource_types: str) -> list[Resource]:
        """Resources of any of ``resource_types``."""
        return [
            resource
            for resource_type in resource_types
            for resource in self.by_type.get(resource_type, [])
        ]

    def count(self, *resource_types: str) -> int:
        """How many resources of any of ``resource_types`` there are."""
        return len(self.of(*resource_types))

    def kubernetes_kind(self, kind: str) -> list[dict[str, Any]]:
        """The rendered Kubernetes objects of ``kind`` (``Deployment``, ``Ingress``...)."""
        return [obj for obj in self.kubernetes_objects if obj.get("kind") == kind]

    def availability_zones(self) -> int:
        """AZs the VPC spans, from the subnets (2 if unknown)."""
        zones = {
            json.dumps(properties(subnet).get("AvailabilityZone"))
            for subnet in self.of("AWS::EC2::Subnet")
        }
        return len(zones) or 2


def properties(resource: Resource) -> dict[str, Any]:
    """A resource's ``Properties`` (empty when it has none)."""
    return resource.get("Properties", {})


def kubernetes_objects(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    """Kubernetes objects inside ``Custom::AWSCDK-EKS-KubernetesResource`` manifests."""
    for resource in resources:
        if resource["Type"] != KUBERNETES_RESOURCE_TYPE:
            continue
        text = flatten_intrinsics(properties(resource).get("Manifest"))
        try:
            objects = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            continue
        yield from (obj for obj in as_list(objects) if isinstance(obj, dict))


def runs_image(manifest: Mapping[str, Any], image: str) -> bool:
    """Whether a Deployment runs a container whose image name contains ``image``."""
    if manifest.get("kind") != "Deployment":
        return False
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return any(image in str(container.get("image", "")) for container in pod.get("containers", []))


def flatten_intrinsics(value: Any) -> str:
    """A template string with intrinsics (``Fn::Join``, ``Ref``...) replaced by placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten_intrinsics(part) for part in parts)
    return "TOKEN"


def as_list(value: Any) -> list[Any]:
    """``value`` as a list: ``None`` is empty, a single item is wrapped."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
