"""Every function in `mlops_cdk/` and `model/` stays at or under 100 lines.

Long functions hide more than one idea; the limit keeps each one readable in a screen or two.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED_PACKAGES = ("mlops_cdk", "model")
MAX_FUNCTION_LINES = 100


def _long_functions() -> list[str]:
    """Return `path:line name (N lines)` for every function over the limit, sorted."""
    offenders = []
    for package in CHECKED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                first_line = min(
                    [node.lineno, *(decorator.lineno for decorator in node.decorator_list)]
                )
                length = node.end_lineno - first_line + 1
                relative = path.relative_to(ROOT).as_posix()
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{relative}:{node.lineno} {node.name} ({length} lines)")
    return sorted(offenders)


def test_no_function_longer_than_the_limit():
    offenders = "\n".join(_long_functions())
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n{offenders}"
