"""Writing a run folder's report: ``results.json`` (raw + derived) and the
self-contained ``index.html``.

What must hold: ``index.html`` and ``results.json`` say the same thing (both
come from one ``analyse`` view); the HTML needs nothing but itself to open;
the raw part of ``results.json`` is never changed by a re-render, so
``js7ha report`` can re-derive from it again and again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jinja2

from reports.catalog import Catalog, load_catalog
from reports.model import analyse, derived_json
from reports.templates import REPORT
from reports.timeline import legend

RAW_KEYS = (
    "schema",
    "run_id",
    "started",
    "finished",
    "options",
    "environment",
    "tests",
    "exit_status",
)


def render_html(raw: dict[str, Any], view: dict[str, Any], catalog: Catalog) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(REPORT)
    return template.render(
        run={**raw, "rechecked": raw.get("rechecked")},
        view=view,
        systems=catalog.systems,
        tests_by_id={t["nodeid"]: t for t in view["tests"]},
        legend=legend(),
    )


def write_report(
    run_dir: Path, raw: dict[str, Any], catalog: Catalog | None = None
) -> dict[str, Any]:
    """Analyse ``raw`` against the artifacts under ``run_dir`` and write
    ``results.json`` and ``index.html`` there; returns the view."""
    catalog = catalog or load_catalog()
    view = analyse(run_dir, raw, catalog)
    doc = {k: raw[k] for k in RAW_KEYS if k in raw}
    if raw.get("rechecked"):
        doc["rechecked"] = raw["rechecked"]
    doc.update(derived_json(view))
    tmp = run_dir / "results.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    tmp.replace(run_dir / "results.json")
    (run_dir / "index.html").write_text(render_html(raw, view, catalog), encoding="utf-8")
    return view


def rerender(run_dir: Path, catalog: Catalog | None = None) -> tuple[dict[str, Any], list[str]]:
    """``js7ha report DIR``: re-derive a kept run with the current checkers
    and catalog. Returns the new view and the differences from what the run
    folder said before (verdicts that changed, re-checks that differ)."""
    old = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    raw = {k: old[k] for k in RAW_KEYS if k in old}
    raw["rechecked"] = time.strftime("%Y-%m-%d %H:%M:%S")
    view = write_report(run_dir, raw, catalog)
    notes: list[str] = []
    before = {g["id"]: g["verdict"] for g in old.get("guarantees", [])}
    for g in view["guarantees"]:
        if g["id"] in before and before[g["id"]] != g["verdict"]:
            notes.append(f"{g['id']}: was {before[g['id']]}, now {g['verdict']} ({g['reason']})")
        elif g["id"] not in before:
            notes.append(f"{g['id']}: new in this rendering, {g['verdict']}")
    for t in view["tests"]:
        for r in t["rechecks"]:
            if r["differs"]:
                notes.append(
                    f"{t['nodeid']}: {r['name']} recorded {r['recorded']}, re-checked {r['valid']}"
                )
    return view, notes
