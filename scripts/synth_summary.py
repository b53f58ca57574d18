"""Print what a synthesized cloud assembly holds: environment, serving path, stacks, resources.

Usage: python scripts/synth_summary.py [cdk.out]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(outdir: Path) -> str:
    """A short, human-readable summary of the stacks in ``outdir``."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    lines: list[str] = []
    tags: dict[str, str] = {}
    total = 0
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        tags = props.get("tags", tags)
        template = json.loads((outdir / props["templateFile"]).read_text())
        resources = template.get("Resources", {})
        total += len(resources)
        kinds = Counter(r["Type"].split("::", 1)[1] for r in resources.values())
        top = ", ".join(f"{k} x{n}" for k, n in kinds.most_common(3))
        lines.append(f"  {name:<32} {len(resources):>4} resources  ({top})")
    header = [
        f"environment:  {tags.get('mlops-cdk:env', '?')}",
        f"serving path: {tags.get('mlops-cdk:serving', '?')}",
        f"stacks ({len(lines)}, {total} resources):",
    ]
    return "\n".join(header + lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
