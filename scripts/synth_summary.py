"""Print what a synthesized cloud assembly holds: environment, serving path, stacks, resources.

Usage: python -m scripts.synth_summary [cdk.out]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from mlops_cdk.cost.assembly import stack_templates


def summarize(outdir: Path) -> str:
    """A short, human-readable summary of the stacks in ``outdir``."""
    lines: list[str] = []
    tags: dict[str, str] = {}
    total = 0
    for stack in sorted(stack_templates(outdir), key=lambda stack: stack.artifact_id):
        tags = tags if stack.tags is None else stack.tags
        resources = stack.resources
        total += len(resources)
        kinds = Counter(resource["Type"].split("::", 1)[1] for resource in resources)
        top = ", ".join(f"{kind} x{count}" for kind, count in kinds.most_common(3))
        lines.append(f"  {stack.artifact_id:<32} {len(resources):>4} resources  ({top})")
    header = [
        f"environment:  {tags.get('mlops-cdk:env', '?')}",
        f"serving path: {tags.get('mlops-cdk:serving', '?')}",
        f"stacks ({len(lines)}, {total} resources):",
    ]
    return "\n".join(header + lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
