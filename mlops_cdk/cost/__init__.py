"""Monthly cost estimate of a synthesized environment: ``python -m mlops_cdk.cost cdk.out``."""

from mlops_cdk.cost.estimate import (
    FREE,
    PRICED,
    Estimate,
    LineItem,
    classify,
    estimate,
    estimate_assembly,
    load_prices,
    reference_design,
    render_text,
)

__all__ = [
    "FREE",
    "PRICED",
    "Estimate",
    "LineItem",
    "classify",
    "estimate",
    "estimate_assembly",
    "load_prices",
    "reference_design",
    "render_text",
]
