"""The guarantee catalog (``suites/catalog.toml``) and where the suites check it.

What must hold: every ``@pytest.mark.guarantee`` id in ``suites/`` is an id of
the catalog, and every catalog entry lists exactly the suite modules whose
tests carry its id — except entries with ``status = "not-yet-checked"``,
which list none and which no test carries. ``tests/reports/test_catalog.py``
enforces that; the report and ``js7ha run --system/--guarantee`` read the
catalog through ``load_catalog``.

``scan_suites`` finds the markers by parsing the suite modules (no import:
it works in xdist's controller process, which never collects, and on a
machine without the components' dependencies).
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "suites" / "catalog.toml"
SUITES = ROOT / "suites"
NOT_YET_CHECKED = "not-yet-checked"
QUOTE_PARTS = " … "


@dataclass(frozen=True)
class Guarantee:
    """One documented promise, as the catalog states it."""

    id: str
    system: str
    component: str
    title: str
    seeds: tuple[str, ...]
    quote: str
    documented: str
    reference: str
    documented_bound_s: float | None = None
    reference_bound_s: float | None = None
    suites: tuple[str, ...] = ()
    status: str = "checked"
    # What the suites observe that a real JS7 does not offer (each entry
    # "reference-only: …"): empty when the verdict carries over unchanged.
    needs: tuple[str, ...] = ()
    # What the suites check in addition where the target offers it (each
    # "reference-only extra: …"): against a real JS7 those checks are not
    # made, and the rest of the verdict carries over.
    extras: tuple[str, ...] = ()
    # Where the documented bound cannot be met with JS7's documented default
    # settings (the js7-documented profile's), why: a broken verdict under
    # that profile then says so instead of a bare "broken".
    documented_defaults: str = ""

    @property
    def carries_over(self) -> bool:
        """Whether the suites' verdict would mean the same against a real JS7
        (a guarantee no suite checks yet has no verdict to carry over)."""
        return self.checked and not self.needs

    @property
    def checked(self) -> bool:
        return self.status != NOT_YET_CHECKED

    def quote_parts(self) -> list[str]:
        """The verbatim fragments of the seed the quote is made of."""
        return [p.strip() for p in self.quote.split(QUOTE_PARTS) if p.strip()]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "component": self.component,
            "title": self.title,
            "seeds": list(self.seeds),
            "quote": self.quote,
            "documented": self.documented,
            "reference": self.reference,
            "documented_bound_s": self.documented_bound_s,
            "reference_bound_s": self.reference_bound_s,
            "suites": list(self.suites),
            "status": self.status,
            "needs": list(self.needs),
            "extras": list(self.extras),
            "documented_defaults": self.documented_defaults,
            "carries_over": self.carries_over,
        }


@dataclass(frozen=True)
class Catalog:
    systems: dict[str, str]
    guarantees: dict[str, Guarantee] = field(default_factory=dict)

    def system_title(self, system: str) -> str:
        return self.systems.get(system, system)

    def of_system(self, system: str) -> list[Guarantee]:
        return [g for g in self.guarantees.values() if g.system == system]


class CatalogError(ValueError):
    """Raised when the catalog file is malformed (a missing field, a repeated id)."""


def _bound(entry: dict[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else float(value)


def load_catalog(path: Path = CATALOG) -> Catalog:
    """Read and validate the catalog: required fields present, ids unique,
    systems known."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    systems = dict(data.get("systems", {}))
    out: dict[str, Guarantee] = {}
    for entry in data.get("guarantee", []):
        missing = [
            k
            for k in ("id", "system", "title", "seeds", "quote", "documented", "reference")
            if k not in entry
        ]
        if missing:
            raise CatalogError(f"{path}: entry {entry.get('id', '?')} lacks {', '.join(missing)}")
        gid = entry["id"]
        if gid in out:
            raise CatalogError(f"{path}: {gid} appears twice")
        if entry["system"] not in systems:
            raise CatalogError(f"{path}: {gid} has unknown system {entry['system']!r}")
        odd = [n for n in entry.get("needs", ()) if not str(n).startswith("reference-only: ")]
        if odd:
            raise CatalogError(f"{path}: {gid}'s needs must say 'reference-only: …', not {odd}")
        odd = [
            n for n in entry.get("extras", ()) if not str(n).startswith("reference-only extra: ")
        ]
        if odd:
            raise CatalogError(
                f"{path}: {gid}'s extras must say 'reference-only extra: …', not {odd}"
            )
        out[gid] = Guarantee(
            id=gid,
            system=entry["system"],
            component=entry.get("component", entry["system"]),
            title=entry["title"],
            seeds=tuple(entry["seeds"]),
            quote=entry["quote"],
            documented=entry["documented"],
            reference=entry["reference"],
            documented_bound_s=_bound(entry, "documented_bound_s"),
            reference_bound_s=_bound(entry, "reference_bound_s"),
            suites=tuple(entry.get("suites", ())),
            status=entry.get("status", "checked"),
            needs=tuple(entry.get("needs", ())),
            extras=tuple(entry.get("extras", ())),
            documented_defaults=str(entry.get("documented_defaults", "")),
        )
    return Catalog(systems, out)


# -- where the suites check what ---------------------------------------------


def _guarantee_ids(decorators: list[ast.expr]) -> list[str]:
    """Ids of ``pytest.mark.guarantee("A", "B")`` among decorators or a
    ``pytestmark`` value."""
    ids: list[str] = []
    for dec in decorators:
        if (
            isinstance(dec, ast.Call)
            and isinstance(dec.func, ast.Attribute)
            and dec.func.attr == "guarantee"
        ):
            ids += [
                a.value
                for a in dec.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
    return ids


def _module_marks(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            elts = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            return _guarantee_ids(list(elts))
    return []


def scan_suites(suites: Path = SUITES, root: Path = ROOT) -> dict[str, list[str]]:
    """``{"suites/x/test_y.py::test_z": [ids...]}`` for every test function
    (also methods of ``Test*`` classes, as ``::Class::test_z``) that carries a
    guarantee marker, from its decorators, its class's and ``pytestmark``."""
    found: dict[str, list[str]] = {}
    for path in sorted(suites.rglob("test_*.py")):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        module_ids = _module_marks(tree)

        def visit(body: list[ast.stmt], prefix: str, inherited: list[str]) -> None:
            for node in body:
                if isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef
                ) and node.name.startswith("test"):
                    ids = inherited + _guarantee_ids(node.decorator_list)
                    if ids:
                        found[f"{prefix}::{node.name}"] = list(dict.fromkeys(ids))
                elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                    visit(
                        node.body,
                        f"{prefix}::{node.name}",
                        inherited + _guarantee_ids(node.decorator_list),
                    )

        visit(tree.body, rel, module_ids)
    return found


_PARAMS = re.compile(r"\[.*\]$")


def strip_params(nodeid: str) -> str:
    """A node id without its parameters: the key ``scan_suites`` uses."""
    return _PARAMS.sub("", nodeid)


def modules_by_guarantee(scan: dict[str, list[str]]) -> dict[str, set[str]]:
    """``{id: {suite module paths}}`` from ``scan_suites``' result."""
    out: dict[str, set[str]] = {}
    for test, ids in scan.items():
        for gid in ids:
            out.setdefault(gid, set()).add(test.split("::", 1)[0])
    return out
