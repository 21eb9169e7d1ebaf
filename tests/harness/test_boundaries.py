"""The judge shares nothing with the judged but the wire (STYLE.md, issue
14): no module of the harness or the suites imports the components, and no
component imports the harness. A test, not a convention: an import that
crosses is named here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def crossings(folder: str, forbidden: str) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                if name == forbidden or name.startswith(forbidden + "."):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    return found


def test_the_harness_and_the_suites_import_no_component():
    assert crossings("harness", "components") + crossings("suites", "components") == []


def test_no_component_imports_the_harness():
    assert crossings("components", "harness") + crossings("components", "suites") == []
