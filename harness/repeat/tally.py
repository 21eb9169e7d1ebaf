"""What repeated runs said: per test and per suite family, how often each
verdict came out, and every verdict that was not *held* with its evidence.

Reads only the run folders' ``results.json`` (``reports/model.derived_json``:
``verdicts`` by test node id), so a tally can be re-made from kept folders.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERDICTS = ("held", "broken", "unknown")


@dataclass(frozen=True)
class Alarm:
    """One test's verdict other than *held* in one run."""

    run: str  # the run folder's name
    backend: str
    nodeid: str
    verdict: str
    reason: str
    failed_checks: tuple[str, ...]  # "name: summary" of each check that said false
    artifacts: str | None

    def line(self) -> str:
        checks = "; ".join(self.failed_checks) or self.reason
        where = f" ({self.artifacts})" if self.artifacts else ""
        return f"{self.verdict.upper():7} {self.backend:6} {self.nodeid}: {checks}{where}"


@dataclass
class Tally:
    runs: list[dict[str, Any]] = field(default_factory=list)  # run, backend, seconds, held
    by_test: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    alarms: list[Alarm] = field(default_factory=list)

    def add_run(self, run_dir: Path, backend: str, seconds: float | None) -> None:
        """Count one run folder. A run that left no ``results.json`` (pytest
        stopped before its report) counts as a run with nothing to count."""
        entry: dict[str, Any] = {
            "run": run_dir.name,
            "backend": backend,
            "seconds": seconds,
            "tests": 0,
        }
        results = run_dir / "results.json"
        if not results.exists():
            self.runs.append({**entry, "held": False, "problem": "no results.json"})
            return
        doc = json.loads(results.read_text(encoding="utf-8"))
        verdicts: dict[str, dict[str, Any]] = doc.get("verdicts", {})
        for nodeid, t in sorted(verdicts.items()):
            verdict = str(t.get("verdict", "unknown"))
            self.by_test.setdefault((backend, nodeid), Counter())[verdict] += 1
            if verdict != "held":
                self.alarms.append(_alarm(run_dir, backend, nodeid, t))
        self.runs.append({**entry, "tests": len(verdicts), "held": bool(doc.get("held"))})

    def families(self) -> dict[tuple[str, str], Counter[str]]:
        """Verdict counts per (backend, family); a family is the suites folder
        a test lives in (``suites/controller/…`` → ``controller``)."""
        out: dict[tuple[str, str], Counter[str]] = {}
        for (backend, nodeid), counts in self.by_test.items():
            out.setdefault((backend, family(nodeid)), Counter()).update(counts)
        return dict(sorted(out.items()))

    def runs_per_family(self) -> dict[tuple[str, str], int]:
        """In how many runs each (backend, family) was run: its most-counted test."""
        out: dict[tuple[str, str], int] = {}
        for (backend, nodeid), counts in self.by_test.items():
            key = (backend, family(nodeid))
            out[key] = max(out.get(key, 0), sum(counts.values()))
        return out

    def to_json(self) -> dict[str, Any]:
        runs = self.runs_per_family()
        return {
            "runs": self.runs,
            "families": [
                {
                    "backend": b,
                    "family": f,
                    "runs": runs[(b, f)],
                    **{v: c[v] for v in VERDICTS},
                }
                for (b, f), c in self.families().items()
            ],
            "alarms": [a.__dict__ for a in self.alarms],
        }


def family(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "suites" else parts[0]


def _alarm(run_dir: Path, backend: str, nodeid: str, t: dict[str, Any]) -> Alarm:
    failed = tuple(
        f"{c.get('name')}: {c.get('summary')}"
        for c in t.get("checks", [])
        if c.get("valid") is False or c.get("valid") == "unknown"
    )
    return Alarm(
        run=run_dir.name,
        backend=backend,
        nodeid=nodeid,
        verdict=str(t.get("verdict", "unknown")),
        reason=str(t.get("reason", "")),
        failed_checks=failed,
        artifacts=str(run_dir / t["artifacts"]) if t.get("artifacts") else None,
    )
