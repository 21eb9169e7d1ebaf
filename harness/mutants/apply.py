"""A copy of the project with one mutant applied; the original is never
touched (the components stay as they are; only copies are broken)."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.mutants.catalog import Mutant, check_matches

# What a copy leaves out: environments, caches, run output, git metadata.
EXCLUDED = (
    ".git",
    ".venv",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
    "*.egg-info",
    "out",  # reports/out and bench/out
)


def copy_tree(root: Path, dest: Path) -> Path:
    """Copy the project at ``root`` into ``dest`` (which must not exist)."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*EXCLUDED), symlinks=True)
    return dest


def apply(m: Mutant, tree: Path) -> None:
    """Replace the mutant's search text (checked to occur once) in ``tree``."""
    check_matches(m, tree)
    target = tree / m.target
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace(m.search, m.replace, 1), encoding="utf-8")
