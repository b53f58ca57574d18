"""The version table, checked against the version strings themselves rather than against itself."""

from __future__ import annotations

import importlib
import importlib.metadata
import re

import pytest

from mlops_cdk.versions import DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS, KubectlLayer


def check_layers(table: dict[str, KubectlLayer]) -> None:
    """Each Kubernetes ``1.NN`` maps to the ``vNN`` layer: module, class and distribution."""
    for version, layer in table.items():
        minor = re.fullmatch(r"1\.(\d+)", version).group(1)
        assert layer.version == version, (version, layer)
        assert layer.module == f"aws_cdk.lambda_layer_kubectl_v{minor}", (version, layer)
        assert layer.class_name == f"KubectlV{minor}Layer", (version, layer)
        assert layer.distribution == f"aws-cdk.lambda-layer-kubectl-v{minor}", (version, layer)


def test_every_kubernetes_version_maps_to_its_own_kubectl_layer():
    check_layers(KUBERNETES_VERSIONS)


def test_kubernetes_1_36_is_the_default_and_uses_the_v36_layer():
    assert DEFAULT_KUBERNETES_VERSION == "1.36"
    layer = KUBERNETES_VERSIONS["1.36"]
    assert "v36" in layer.module
    assert "V36" in layer.class_name


@pytest.mark.parametrize("version", sorted(KUBERNETES_VERSIONS))
def test_the_installed_layer_package_is_the_one_for_the_version(version):
    layer = KUBERNETES_VERSIONS[version]
    module = importlib.import_module(layer.module)
    assert module.__name__.endswith("v" + version.split(".")[1])
    assert hasattr(module, layer.class_name)
    assert importlib.metadata.version(layer.distribution)


def test_a_table_mapping_1_36_to_the_v35_layer_is_caught():
    mutated = dict(KUBERNETES_VERSIONS)
    mutated["1.36"] = KubectlLayer(
        version="1.36", module="aws_cdk.lambda_layer_kubectl_v35", class_name="KubectlV35Layer"
    )
    with pytest.raises(AssertionError):
        check_layers(mutated)
