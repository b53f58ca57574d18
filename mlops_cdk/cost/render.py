"""Render estimates: a text table for people, JSON for machines, a markdown comparison table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_cdk.cost.pricing import reference_design

if TYPE_CHECKING:
    from mlops_cdk.cost.estimate import Estimate


def render_text(estimate: Estimate, reference: tuple[str, float] | None = None) -> str:
    """A readable table with the total, the reference design, assumptions and price date."""
    description, reference_usd = reference or reference_design()
    lines = estimate.line_items
    width = max(len(line.item) for line in lines) if lines else 10
    text = [
        f"Monthly estimate for env={estimate.env} serving={estimate.serving} "
        f"({estimate.region} on-demand prices as of {estimate.prices_as_of})",
        "",
        f"{'item':<{width}}  {'USD/month':>10}  quantity",
        *(f"{line.item:<{width}}  {line.monthly_usd:>10.2f}  {line.quantity}" for line in lines),
        f"{'total':<{width}}  {estimate.total_monthly_usd:>10.2f}",
        "",
        f"Reference: {description}: {reference_usd:.2f} USD/month",
        _assumptions_line(estimate.assumptions),
        *(f"WARNING: {warning}" for warning in estimate.warnings),
    ]
    if estimate.unpriced_resource_types:
        text.append("UNPRICED resource types: " + ", ".join(estimate.unpriced_resource_types))
    return "\n".join(text)


def _assumptions_line(assumptions: Mapping[str, Any]) -> str:
    return (
        f"Assumptions: {assumptions['requests_per_month']:,} requests/month, 730 h/month, "
        f"{assumptions['nat_data_processed_gb_per_month']} GB through NAT; "
        "see mlops_cdk/cost/prices.json"
    )


def render_json(estimate: Estimate, reference: tuple[str, float]) -> dict[str, Any]:
    """The estimate's JSON form with the reference design's description and total."""
    description, total = reference
    return {
        **estimate.to_dict(),
        "reference_design": {"description": description, "total_monthly_usd": total},
    }


def render_markdown(estimates: Sequence[Estimate], reference: tuple[str, float]) -> str:
    """One column per estimate, one row per line item, the total, then what it rests on."""
    rows = [
        "| USD/month | " + " | ".join(_column(estimate) for estimate in estimates) + " |",
        "| --- |" + " ---: |" * len(estimates),
    ]
    for item in _items_in_order(estimates):
        cells = [_cell(estimate, item) for estimate in estimates]
        rows.append(f"| {item} | " + " | ".join(cells) + " |")
    totals = [f"**{estimate.total_monthly_usd:.2f}**" for estimate in estimates]
    rows.append("| **total** | " + " | ".join(totals) + " |")
    missing = [_column(estimate) for estimate in estimates if estimate.warnings]
    if missing:
        rows += [
            "",
            f"**Serving path not included** for {', '.join(missing)}: the templates of this "
            "revision hold no EKS cluster or SageMaker endpoint yet; run `make cost-readme` "
            "again once the serving stacks are part of the app.",
        ]
    description, reference_usd = reference
    first = estimates[0]
    rows += [
        "",
        f"Reference design: {description}: **{reference_usd:.2f} USD/month** (same price "
        f"table). Prices: {first.region} on-demand as of {first.prices_as_of}; traffic and "
        "storage assumptions in `mlops_cdk/cost/prices.json`.",
    ]
    return "\n".join(rows)


def _column(estimate: Estimate) -> str:
    return f"{estimate.env}/{estimate.serving}"


def _items_in_order(estimates: Sequence[Estimate]) -> list[str]:
    """Every line item name, in the order it first appears."""
    items: list[str] = []
    for estimate in estimates:
        items += [line.item for line in estimate.line_items if line.item not in items]
    return items


def _cell(estimate: Estimate, item: str) -> str:
    matches = [line.monthly_usd for line in estimate.line_items if line.item == item]
    return f"{sum(matches):.2f}" if matches else "-"
