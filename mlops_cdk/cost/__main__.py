"""``python -m mlops_cdk.cost <cloud assembly dir> [--format text|json]``.

Exits 2 when the templates contain a resource type that is neither priced nor listed as free.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlops_cdk.cost.estimate import estimate_assembly, reference_design
from mlops_cdk.cost.render import render_json, render_text


def main(argv: list[str] | None = None) -> int:
    """Print the estimate of the assembly given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m mlops_cdk.cost", description=__doc__)
    parser.add_argument("outdir", type=Path, help="cloud assembly, e.g. cdk.out/cost-prod-eks")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    if not (args.outdir / "manifest.json").is_file():
        parser.error(f"{args.outdir} is not a cloud assembly (no manifest.json); synth first")
    result = estimate_assembly(args.outdir)
    if args.format == "json":
        print(json.dumps(render_json(result, reference_design()), indent=2))
    else:
        print(render_text(result))
    if result.unpriced_resource_types:
        unpriced = ", ".join(result.unpriced_resource_types)
        print(
            f"error: no price for {unpriced}; add a rule in mlops_cdk/cost/pricing.py "
            "or a FREE entry in mlops_cdk/cost/free.py",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
