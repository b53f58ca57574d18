"""Monthly cost estimate of a synthesized environment, read from its CloudFormation templates.

Every resource type the templates contain is either priced by a rule in
:mod:`mlops_cdk.cost.pricing` (``PRICED``) or listed as free or negligible in
:mod:`mlops_cdk.cost.free` (``FREE``) with the reason; anything else is reported as unpriced, so a
new resource type cannot slip into the platform without a price. Prices and traffic assumptions
live in ``prices.json`` next to this module. This module is the public API; reading the
assembly, the rules and rendering live in ``assembly``, ``pricing`` and ``render``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_cdk.cost.assembly import Inventory, Resource, read_assembly
from mlops_cdk.cost.free import FREE
from mlops_cdk.cost.pricing import (
    PRICED,
    PRICES_FILE,
    LineItem,
    PriceTable,
    UnpricedError,
    line_items,
    load_prices,
    reference_design,
)
from mlops_cdk.cost.render import render_text

SERVING_RESOURCES: Mapping[str, tuple[str, ...]] = {
    "eks": ("AWS::EKS::Cluster", "Custom::AWSCDK-EKS-Cluster"),
    "sagemaker": ("AWS::SageMaker::EndpointConfig",),
}
"""What each serving path must contribute to the templates for its cost to be estimated."""


@dataclass
class Estimate:
    """The estimate of one environment and serving path."""

    env: str
    serving: str
    region: str
    prices_as_of: str
    line_items: list[LineItem]
    assumptions: dict[str, Any]
    unpriced_resource_types: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_monthly_usd(self) -> float:
        """Sum of the line items, rounded to cents."""
        return round(sum(line.monthly_usd for line in self.line_items), 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``total_monthly_usd``, ``line_items`` and what they rest on."""
        return {
            "env": self.env,
            "serving": self.serving,
            "region": self.region,
            "prices_as_of": self.prices_as_of,
            "total_monthly_usd": self.total_monthly_usd,
            "line_items": [asdict(line) for line in self.line_items],
            "assumptions": self.assumptions,
            "unpriced_resource_types": self.unpriced_resource_types,
            "warnings": self.warnings,
        }


def classify(resource_type: str) -> str:
    """``priced``, ``free`` (with a reason in ``FREE``), ``custom`` or ``unpriced``."""
    if resource_type in PRICED:
        return "priced"
    if resource_type in FREE:
        return "free"
    if resource_type.startswith("Custom::"):
        return "custom"
    return "unpriced"


def estimate(
    resources: list[Resource],
    prices: Mapping[str, Any] | None = None,
    *,
    env: str = "?",
    serving: str = "?",
) -> Estimate:
    """Price ``resources`` (CloudFormation resource dicts) with ``prices``."""
    prices = prices or load_prices()
    types = Counter(resource["Type"] for resource in resources)
    warnings = [
        f"serving = {serving}, but the templates hold no {', '.join(wanted)}: the serving "
        "stack is not part of this app, so the serving path is not in the total"
        for path, wanted in SERVING_RESOURCES.items()
        if serving == path and not any(types[resource_type] for resource_type in wanted)
    ]
    return Estimate(
        env=env,
        serving=serving,
        region=prices["region"],
        prices_as_of=prices["as_of"],
        line_items=line_items(Inventory(resources), PriceTable(prices)),
        assumptions=dict(prices["assumptions"]),
        unpriced_resource_types=sorted(
            resource_type for resource_type in types if classify(resource_type) == "unpriced"
        ),
        warnings=warnings,
    )


def estimate_assembly(outdir: Path, prices: Mapping[str, Any] | None = None) -> Estimate:
    """Estimate the environment synthesized into ``outdir``."""
    tags, resources = read_assembly(outdir)
    return estimate(
        resources,
        prices,
        env=tags.get("mlops-cdk:env", "?"),
        serving=tags.get("mlops-cdk:serving", "?"),
    )


__all__ = [
    "FREE",
    "PRICED",
    "PRICES_FILE",
    "Estimate",
    "LineItem",
    "UnpricedError",
    "classify",
    "estimate",
    "estimate_assembly",
    "load_prices",
    "reference_design",
    "render_text",
]
