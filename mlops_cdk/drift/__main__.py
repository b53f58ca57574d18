"""``python -m mlops_cdk.drift --capture DIR``: PSI per feature of captured traffic.

Exit status 0 whether or not drift is found (the output says which); 2 for bad input (no
capture, no rows, a bad baseline), with the reason on standard error.
"""

from __future__ import annotations

import argparse
import sys

from mlops_cdk.drift.baseline import BaselineError, load_baseline
from mlops_cdk.drift.capture import CaptureError
from mlops_cdk.drift.check import check_directory, render_json, render_text
from mlops_cdk.drift.psi import DEFAULT_THRESHOLD

DEFAULT_BASELINE = "model/artifacts/baseline.json"


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive PSI threshold such as 0.2")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the check and print the result; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m mlops_cdk.drift", description="Data drift (PSI) of capture vs baseline"
    )
    parser.add_argument("--capture", required=True, help="directory of capture *.jsonl files")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="baseline.json to compare")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--threshold", type=_positive, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    try:
        baseline = load_baseline(args.baseline)
        result, capture = check_directory(args.capture, baseline, threshold=args.threshold)
    except (BaselineError, CaptureError) as error:
        print(f"drift check failed: {error}", file=sys.stderr)
        return 2
    print(render_json(result) if args.format == "json" else render_text(result, capture))
    return 0


if __name__ == "__main__":
    sys.exit(main())
