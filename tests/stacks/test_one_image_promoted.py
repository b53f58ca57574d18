"""One artifact, promoted: every environment of an account serves the one image, by digest.

The environment with ``registry.create`` (dev) creates the account's repository; staging and
prod import it by name, so the digest retraining pushed and gated is the digest each of them
references in its templates.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

DIGEST = "sha256:" + "0123456789abcdef" * 4
TAG = "abc1234-m7"
IMAGE_REFERENCE = re.compile(
    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9./_-]+(?:@sha256:[0-9a-f]{64}|:[\w.-]+)"
)


def _resolve(node: Any, synthesized) -> Any:
    """``node`` with joins, the URL suffix and references to the registry's outputs resolved."""
    if isinstance(node, list):
        return [_resolve(item, synthesized) for item in node]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": "AWS::URLSuffix"}:
        return "amazonaws.com"
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        resolved = _resolve(parts, synthesized)
        return separator.join(part if isinstance(part, str) else "<token>" for part in resolved)
    output = node.get("Fn::GetStackOutput")
    if output and output["StackName"] == synthesized.stacks.registry.stack_name:
        registry = synthesized.template(synthesized.stacks.registry).to_json()
        value = registry["Outputs"][output["OutputName"]]["Value"]
        if "Ref" in value:
            return registry["Resources"][value["Ref"]]["Properties"]["RepositoryName"]
        return node
    return {key: _resolve(value, synthesized) for key, value in node.items()}


@pytest.fixture(scope="module")
def released(synth):
    """dev (SageMaker) and prod (EKS) synthesized for one tag and its digest."""
    return {env: synth(env, image_tag=TAG, image_digest=DIGEST) for env in ("dev", "prod")}


def _image_references(synthesized, stack) -> set[str]:
    """Every model-server image URI the stack's template references, fully resolved."""
    text = json.dumps(_resolve(synthesized.template(stack).to_json(), synthesized))
    return set(IMAGE_REFERENCE.findall(text))


def test_dev_and_prod_serve_the_same_digest(released):
    dev, prod = released["dev"], released["prod"]
    assert dev.settings.serving == "sagemaker" and prod.settings.serving == "eks"
    expected = {f"123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-cdk/model-server@{DIGEST}"}
    assert _image_references(dev, dev.stacks.serving) == expected
    assert _image_references(prod, prod.stacks.serving) == expected


def test_without_a_digest_the_tag_is_referenced(synth):
    dev = synth("dev")
    assert _image_references(dev, dev.stacks.serving) == {
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-cdk/model-server:latest"
    }


def test_the_tag_stays_a_label_next_to_the_digest(released):
    registry = released["prod"].template(released["prod"].stacks.registry)
    registry.has_output("ImageTag", {"Value": TAG})
    registry.has_output("ImageDigest", {"Value": DIGEST})


def test_dev_creates_the_shared_repository_and_prod_imports_it(released):
    dev, prod = released["dev"], released["prod"]
    assert dev.settings.registry.create and not prod.settings.registry.create
    created = dev.template(dev.stacks.registry).find_resources("AWS::ECR::Repository")
    assert [repo["Properties"]["RepositoryName"] for repo in created.values()] == [
        "mlops-cdk/model-server"
    ]
    assert prod.template(prod.stacks.registry).find_resources("AWS::ECR::Repository") == {}


def test_an_importing_environment_grants_on_the_shared_repository(released):
    prod = released["prod"]
    name = prod.settings.registry.repository_name
    assert prod.stacks.registry.repository.repository_name == name
    cicd = json.dumps(prod.template(prod.stacks.cicd).to_json())
    assert f":repository/{name}" in cicd, "prod's retrain role must push to the shared repository"
    prod.template(prod.stacks.cicd).has_output("EcrRepositoryName", {"Value": name})
