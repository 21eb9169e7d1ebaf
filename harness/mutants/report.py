"""The outcome of a mutants run: a rich table on the terminal and a JSON file."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.mutants.catalog import Mutant
from harness.mutants.classify import Outcome
from harness.mutants.runner import Run

STYLE = {"caught": "green", "caught-by-error": "yellow", "survived": "red", "unknown": "magenta"}


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    outcome: Outcome
    run: Run | None  # None: not run (the baseline failed)

    @property
    def accepted(self) -> bool:
        """A survivor the catalog explains does not fail the run."""
        return self.outcome == "survived" and bool(self.mutant.explained)


def _why(r: Result) -> str:
    if r.run is None:
        return "not run: the baseline did not pass"
    if r.run.problem:
        return r.run.problem
    if r.outcome == "survived":
        return r.mutant.explained or "every selected test passed"
    kinds = ("verdict",) if r.outcome == "caught" else ("error",)
    first = next((c for c in r.run.cases if c.kind in kinds), None)
    why = f"{first.nodeid}: {first.message}" if first else ""
    # A survivor's explanation that no longer holds should leave the catalog.
    return why + (" [caught now: drop its 'explained']" if r.mutant.explained else "")


def table(baseline: Run | None, baseline_ok: bool, results: Sequence[Result]) -> Table:
    t = Table(title="js7ha mutants", show_lines=False)
    for col in ("mutant", "family", "guarantees", "outcome", "tests", "s", "why"):
        t.add_column(col, overflow="fold")
    if baseline is not None:
        outcome = "passed" if baseline_ok else "FAILED"
        t.add_row(
            "(baseline)",
            "",
            "",
            f"[{'green' if baseline_ok else 'red'}]{outcome}[/]",
            str(len(baseline.cases)),
            f"{baseline.seconds:.0f}",
            baseline.problem or "",
        )
    for r in results:
        label = r.outcome + (" (explained)" if r.accepted else "")
        t.add_row(
            r.mutant.id,
            r.mutant.family,
            ", ".join(r.mutant.guarantees),
            f"[{STYLE[r.outcome]}]{label}[/]",
            str(len(r.run.cases)) if r.run else "",
            f"{r.run.seconds:.0f}" if r.run else "",
            _why(r)[:200],
        )
    return t


def _run_doc(run: Run) -> dict[str, Any]:
    return {
        "seconds": round(run.seconds, 1),
        "exit_code": run.exit_code,
        "problem": run.problem,
        "log": run.log,
        "tests": [{"nodeid": c.nodeid, "kind": c.kind, "message": c.message} for c in run.cases],
    }


def document(baseline: Run | None, baseline_ok: bool, results: Sequence[Result]) -> dict[str, Any]:
    return {
        "schema": 1,
        "baseline": {"ok": baseline_ok, **(_run_doc(baseline) if baseline else {})},
        "mutants": [
            {
                "id": r.mutant.id,
                "family": r.mutant.family,
                "guarantees": list(r.mutant.guarantees),
                "target": r.mutant.target,
                "selection": r.mutant.pytest_selection(),
                "outcome": r.outcome,
                "explained": r.mutant.explained,
                "why": _why(r),
                **({"run": _run_doc(r.run)} if r.run else {}),
            }
            for r in results
        ],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def show(baseline: Run | None, baseline_ok: bool, results: Sequence[Result]) -> None:
    # Off a terminal (CI logs) rich would fold the table at 80 columns.
    Console(width=None if sys.stdout.isatty() else 160).print(table(baseline, baseline_ok, results))
