"""What the conformance job imports, ``pip install -e .`` installs.

The README's first command installs the project without its ``dev`` extras
and runs the suites. A module-level import of a package only ``dev`` brings
(found on a fresh clone: the HIS-EXPORT suite imported ``openpyxl``) makes
its suite fail to collect, and the run ends "NOT every selected guarantee
held" for a reason that has nothing to do with JS7. Imports inside a
function or a ``try`` (an optional extra, such as Playwright for a
reference-only page) are the importer's to guard and are not counted."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tests.harness.imports import imported

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("components", "harness", "reports", "suites")


def _top_level_imports() -> dict[str, str]:
    """Top-level module → where it is first imported at module level."""
    found: dict[str, str] = {}
    for folder in SHIPPED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in tree.body:  # module level only: not in a def or a try
                for name in imported(node):
                    found.setdefault(name.split(".")[0], f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _installed_by_main_dependencies() -> set[str]:
    """The distributions ``pip install -e .`` brings: the main dependencies
    and, transitively, theirs (no extras)."""
    todo = [Requirement(r) for r in metadata.requires("js7ha") or []]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(Requirement(r) for r in metadata.requires(req.name) or [])
        except metadata.PackageNotFoundError:
            continue
    return seen


def test_every_module_level_import_is_installed_without_the_dev_extras():
    provided = metadata.packages_distributions()
    installed = _installed_by_main_dependencies()
    local = set(SHIPPED) | {"tests"}
    missing = {}
    for module, where in _top_level_imports().items():
        if module in local or module in sys.stdlib_module_names:
            continue
        dists = {d.lower().replace("_", "-") for d in provided.get(module, [])}
        if not dists & installed:
            missing[module] = (where, sorted(dists))
    assert missing == {}, f"imported at module level, not installed by pip install -e .: {missing}"
