"""Synthesize dev/prod x eks/sagemaker, estimate each, and refresh the README cost table.

Usage: python scripts/cost_table.py [--check]   (``make cost-readme``)

The table sits between ``<!-- cost-table:start -->`` and ``<!-- cost-table:end -->`` in
README.md. ``--check`` exits 1 if the README is out of date instead of rewriting it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_cdk.cost.estimate import Estimate, estimate_assembly, reference_design  # noqa: E402

COMBINATIONS = (("dev", "eks"), ("dev", "sagemaker"), ("prod", "eks"), ("prod", "sagemaker"))
START, END = "<!-- cost-table:start -->", "<!-- cost-table:end -->"


def synth(env: str, serving: str) -> Path:
    """Synthesize one combination into ``cdk.out/cost-<env>-<serving>`` exactly like app.py."""
    outdir = ROOT / "cdk.out" / f"cost-{env}-{serving}"
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    environ |= {
        "CDK_CONTEXT_JSON": json.dumps({**context, "env": env, "serving": serving}),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=environ, check=True)
    return outdir


def table(estimates: list[Estimate]) -> str:
    """Markdown: one column per combination, one row per line item, then the total."""
    items: list[str] = []
    for e in estimates:
        items += [i.item for i in e.line_items if i.item not in items]
    header = "| USD/month | " + " | ".join(f"{e.env}/{e.serving}" for e in estimates) + " |"
    rows = [header, "| --- |" + " ---: |" * len(estimates)]
    for item in items:
        cells = []
        for e in estimates:
            match = [i.monthly_usd for i in e.line_items if i.item == item]
            cells.append(f"{sum(match):.2f}" if match else "-")
        rows.append(f"| {item} | " + " | ".join(cells) + " |")
    rows.append(
        "| **total** | " + " | ".join(f"**{e.total_monthly_usd:.2f}**" for e in estimates) + " |"
    )
    missing = [f"{e.env}/{e.serving}" for e in estimates if e.warnings]
    if missing:
        rows += [
            "",
            f"**Serving path not included** for {', '.join(missing)}: the templates of this "
            "revision hold no EKS cluster or SageMaker endpoint yet; run `make cost-readme` "
            "again once the serving stacks are part of the app.",
        ]
    description, reference = reference_design()
    as_of = estimates[0].prices_as_of
    rows += [
        "",
        f"Reference design: {description}: **{reference:.2f} USD/month** (same price table). "
        f"Prices: {estimates[0].region} on-demand as of {as_of}; traffic and storage assumptions "
        "in `mlops_cdk/cost/prices.json`.",
    ]
    return "\n".join(rows)


def main(check: bool = False) -> int:
    """Regenerate (or check) the README table."""
    estimates = [estimate_assembly(synth(env, serving)) for env, serving in COMBINATIONS]
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    updated = f"{head}{START}\n{table(estimates)}\n{END}{tail}"
    if check:
        return 0 if updated == text else 1
    readme.write_text(updated)
    print(table(estimates))
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
