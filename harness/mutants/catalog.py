"""The mutant files: one TOML file per seeded bug in ``tests/mutants/``.

What must hold for every file: the fields below are present and typed, the
family is one of the suites' families, the target lies under
``components/``, and the search text occurs in the target *exactly once* —
so a mutant cannot silently rot (match nothing, or the wrong place) when the
code it breaks changes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

FAMILIES = (
    "controller",
    "agents",
    "agent_cluster",
    "events",
    "history",
    "joc",
    "jobscheduler1",
    "security",
)
CATALOG_DIR = Path("tests") / "mutants"


class CatalogError(Exception):
    """A mutant file is malformed or no longer matches its target."""


@dataclass(frozen=True)
class Mutant:
    id: str
    family: str
    guarantees: tuple[str, ...]
    description: str
    target: str  # relative to the project root, under components/
    search: str
    replace: str
    select: tuple[str, ...]  # pytest node ids (or files), relative to the root
    keyword: str = ""  # an optional pytest -k expression
    explained: str = ""  # why a survivor is accepted (empty: it must be caught)

    def pytest_selection(self) -> list[str]:
        return [*self.select, *([f"-k={self.keyword}"] if self.keyword else [])]


def _str(doc: dict[str, object], key: str, path: Path, *, required: bool = True) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise CatalogError(f"{path.name}: '{key}' must be a non-empty string")
    return value


def _strs(doc: dict[str, object], key: str, path: Path) -> tuple[str, ...]:
    value = doc.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{path.name}: '{key}' must be a non-empty list of strings")
    return tuple(value)


def parse(path: Path) -> Mutant:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: {exc}") from exc
    known = set(Mutant.__dataclass_fields__)
    extra = sorted(set(doc) - known)
    if extra:
        raise CatalogError(f"{path.name}: unknown field(s) {', '.join(extra)}")
    m = Mutant(
        id=_str(doc, "id", path),
        family=_str(doc, "family", path),
        guarantees=_strs(doc, "guarantees", path),
        description=_str(doc, "description", path),
        target=_str(doc, "target", path),
        search=_str(doc, "search", path),
        replace=_str(doc, "replace", path, required=False),
        select=_strs(doc, "select", path),
        keyword=_str(doc, "keyword", path, required=False),
        explained=_str(doc, "explained", path, required=False),
    )
    if m.id != path.stem:
        raise CatalogError(f"{path.name}: id {m.id!r} differs from the file name")
    if m.family not in FAMILIES:
        raise CatalogError(f"{path.name}: family {m.family!r} is not one of {', '.join(FAMILIES)}")
    if not m.target.startswith("components/") or ".." in Path(m.target).parts:
        raise CatalogError(f"{path.name}: target {m.target!r} is not under components/")
    if m.search == m.replace:
        raise CatalogError(f"{path.name}: the replacement changes nothing")
    return m


def check_matches(m: Mutant, root: Path) -> None:
    """The search text occurs exactly once in the target under ``root``."""
    target = root / m.target
    if not target.is_file():
        raise CatalogError(f"{m.id}: target {m.target} does not exist")
    n = target.read_text(encoding="utf-8").count(m.search)
    if n != 1:
        raise CatalogError(f"{m.id}: search text occurs {n} times in {m.target} (must be once)")


def load(root: Path, *, check: bool = True) -> list[Mutant]:
    """Every mutant of the project at ``root``, sorted by id; ``check``: each
    one's search text is verified against its target."""
    mutants = [parse(p) for p in sorted((root / CATALOG_DIR).glob("*.toml"))]
    if check:
        for m in mutants:
            check_matches(m, root)
    return mutants
