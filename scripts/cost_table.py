"""Synthesize dev/prod x eks/sagemaker, estimate each, and refresh the README cost table.

Usage: python -m scripts.cost_table [--check]   (``make cost-readme``)

The table sits between ``<!-- cost-table:start -->`` and ``<!-- cost-table:end -->`` in
README.md. ``--check`` exits 1 if the README is out of date instead of rewriting it;
``tests/cost/test_readme_table.py`` runs the same check on the test session's assemblies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops_cdk.cost.estimate import Estimate, estimate_assembly, reference_design
from mlops_cdk.cost.render import render_markdown

ROOT = Path(__file__).resolve().parents[1]

COMBINATIONS = (("dev", "eks"), ("dev", "sagemaker"), ("prod", "eks"), ("prod", "sagemaker"))
START, END = "<!-- cost-table:start -->", "<!-- cost-table:end -->"
README = ROOT / "README.md"


def synth(env: str, serving: str) -> Path:
    """Synthesize one combination into ``cdk.out/cost-<env>-<serving>`` exactly like app.py."""
    outdir = ROOT / "cdk.out" / f"cost-{env}-{serving}"
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    environ = {name: value for name, value in os.environ.items() if not name.startswith("CDK_")}
    environ |= {
        "CDK_CONTEXT_JSON": json.dumps({**context, "env": env, "serving": serving}),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=environ, check=True)
    return outdir


def table(estimates: Sequence[Estimate]) -> str:
    """Markdown: one column per combination, one row per line item, then the total."""
    return render_markdown(estimates, reference_design())


def with_table(readme: str, estimates: Sequence[Estimate]) -> str:
    """``readme`` with the text between the cost-table markers replaced by ``table(estimates)``."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        raise ValueError(f"README.md has no {START} ... {END} markers around the cost table")
    return f"{head}{START}\n{table(estimates)}\n{END}{tail}"


def main(check: bool = False) -> int:
    """Regenerate (or check) the README table."""
    estimates = [estimate_assembly(synth(env, serving)) for env, serving in COMBINATIONS]
    text = README.read_text()
    updated = with_table(text, estimates)
    if check:
        return 0 if updated == text else 1
    README.write_text(updated)
    print(table(estimates))
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
