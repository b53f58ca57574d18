"""The model package's shape: no import cycles between its modules, no overlong functions."""

import ast
from pathlib import Path

from server_process import MODEL_SRC

PACKAGE = MODEL_SRC / "fraud_model"


def imports_of(path: Path) -> set[str]:
    """The ``fraud_model`` modules a module imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fraud_model."):
            found.add(node.module.removeprefix("fraud_model."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("fraud_model.")
                for alias in node.names
                if alias.name.startswith("fraud_model.")
            )
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a path of module names, or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module) :], module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_no_import_cycle_between_the_model_modules():
    graph = {path.stem: imports_of(path) for path in PACKAGE.glob("*.py")}
    assert graph["train"] and graph["package"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_the_cycle_that_was_there():
    assert find_cycle({"train": {"package"}, "package": {"train"}}) == [
        "package",
        "train",
        "package",
    ]


def test_no_function_in_model_is_longer_than_100_lines():
    too_long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in MODEL_SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 100
    ]
    assert too_long == []
