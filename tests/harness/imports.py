"""What an import statement names, for the tests that read the source's
imports (``test_boundaries``, ``test_dependencies``)."""

from __future__ import annotations

import ast


def imported(node: ast.AST, *, members: bool = False) -> list[str]:
    """The absolute module names ``node`` imports — none when it is no import
    statement, or a relative one; with ``members``, also ``module.name`` for
    each name of a ``from`` import (which may itself be a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        extra = [f"{node.module}.{a.name}" for a in node.names] if members else []
        return [node.module, *extra]
    return []
