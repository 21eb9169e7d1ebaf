"""The judge shares nothing with the judged but the wire (STYLE.md, issue
14): no module of the harness or the suites imports the components, and no
component imports the harness. A test, not a convention: an import that
crosses is named here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.harness.imports import imported

ROOT = Path(__file__).resolve().parents[2]


def crossings(folder: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            for name in imported(node):
                if name == forbidden or name.startswith(forbidden + "."):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    return found


def test_the_harness_and_the_suites_import_no_component():
    assert crossings("harness", "components") + crossings("suites", "components") == []


def test_no_component_imports_the_harness():
    assert crossings("components", "harness") + crossings("components", "suites") == []


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph(package: str) -> dict[str, set[str]]:
    """Module → the package's modules it imports, anywhere in it (a function's
    local import counts: hiding a cycle inside a function keeps the cycle),
    except under ``if TYPE_CHECKING``."""
    paths = sorted((ROOT / package).rglob("*.py"))
    modules = {_module(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        me = _module(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        deps: set[str] = set()
        for node in ast.walk(tree):
            names = imported(node, members=True)
            if not names or _type_checking_only(node, parents):
                continue
            deps |= {n for n in names if n in modules and n != me}
        # A package's __init__ is imported with any of its modules: not a
        # dependency of its own modules for the cycle's sake.
        graph[me] = {d for d in deps if not me.startswith(d + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", ["harness", "components", "reports", "suites"])
def test_no_import_cycle(package):
    assert cycles(import_graph(package)) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
