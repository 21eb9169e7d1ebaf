"""From a run folder's raw record to verdicts: what the report says and why.

A run folder (``reports/out/<run-id>/``) holds ``results.json`` whose raw part
(``run_id``, ``options``, ``environment``, ``tests``) the plugin wrote, and
each test's artifacts folder (``history.jsonl``, ``results.json``, ``logs/``).
``analyse`` derives the rest — per test a verdict, per guarantee a verdict and
its measured figures, per system the counts — and must hold to these rules:

* a guarantee is **held** only when at least one of its tests ran and every
  one of them passed (and no re-check of a passed test's history by the
  current checkers contradicts a check it recorded);
* it is **broken** when a test of it failed in its call with a checker that
  said ``False`` (or no recorded verdict at all: a failed assertion is a
  failed promise), or a re-check contradicts a passed test;
* the *selected* guarantees are those asked for (``--guarantee``,
  ``--system``), else those the ``-k`` selection's tests carry, else (a full
  run) every catalog entry;
* everything else is **unknown**: no test of it ran (not yet checked, not
  selected), a test was skipped, a harness error in setup or teardown, or a
  checker that could not decide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.checkers import (
    Validity,
    failover_time,
    merge_validity,
    no_loss,
    percentile,
    single_active,
)
from harness.history import History, Record, completed_ops, fault_windows
from reports.catalog import Catalog, Guarantee
from reports.timeline import render_timeline, summarize_ops

Verdict = Literal["held", "broken", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("held", "broken", "unknown")
LOG_TAIL_LINES = 40
NO_FAULT = "no fault"
# The profile whose bounds are the seeds' own figures (harness/profiles.py).
JS7_DOCUMENTED = "js7-documented"


def merge_verdicts(values: Iterable[Verdict]) -> Verdict:
    """Broken beats unknown beats held; nothing at all is unknown."""
    vs = list(values)
    if not vs:
        return "unknown"
    if "broken" in vs:
        return "broken"
    if "unknown" in vs:
        return "unknown"
    return "held"


def _is_check(v: Any) -> bool:
    """A recorded check (``CheckResult.to_json()``), as opposed to a detail."""
    return isinstance(v, dict) and "valid" in v


def flatten_checks(checks: Iterable[Any]) -> list[dict[str, Any]]:
    """Every check of a recorded tree (``CheckResult.to_json()`` nested in
    ``details``), composed ones included, depth-first."""
    out: list[dict[str, Any]] = []

    def walk(c: Any) -> None:
        if not _is_check(c):
            return
        out.append(c)
        for v in (c.get("details") or {}).values():
            walk(v)

    for c in checks:
        walk(c)
    return out


# Checks of a bound on time: the only failures a profile's timing can explain.
TIMING_CHECKS = frozenset({"failover-time"})


def failed_leaves(flat: Iterable[dict[str, Any]]) -> list[str]:
    """The names of the checks that said false themselves (not a composition
    of others)."""
    return sorted(
        {
            str(c.get("name"))
            for c in flat
            if c.get("valid") is False
            and not any(_is_check(v) for v in (c.get("details") or {}).values())
        }
    )


def _validity(v: Any) -> Validity:
    return v if v is True or v is False else "unknown"


def _short(details: dict[str, Any]) -> str:
    """A one-line digest of a check's details (counts and reasons, no id lists)."""
    keep = []
    for k, v in details.items():
        if _is_check(v):
            continue
        if isinstance(v, list | dict) and len(json.dumps(v, default=str)) > 80:
            continue
        keep.append(f"{k}={json.dumps(v, default=str)}")
    return ", ".join(keep)[:400]


@dataclass
class Recheck:
    name: str
    valid: Any
    recorded: Any  # the recorded check's validity of the same name, or None
    comparable: bool
    summary: str
    details: dict[str, Any]

    @property
    def contradicts(self) -> bool:
        """A recorded ``True`` that the current checker finds ``False``."""
        return self.comparable and self.recorded is True and self.valid is False

    @property
    def differs(self) -> bool:
        return self.comparable and self.recorded is not None and self.recorded != self.valid

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "valid": self.valid,
            "recorded": self.recorded,
            "comparable": self.comparable,
            "differs": self.differs,
            "summary": self.summary,
        }


def recheck(
    records: list[Record], recorded: list[dict[str, Any]], bound: float | None
) -> list[Recheck]:
    """Re-run the current checkers where the history allows: ``no_loss``
    (adds and a read exist), ``single_active`` (per role observed) and
    ``failover_time`` (a fault window, and adds served by two or more nodes). A re-check is
    *comparable* to a recorded check of the same name only when it looked at
    the same evidence (same attempt or sample counts); only comparable ones
    can contradict the run."""
    by_name: dict[str, dict[str, Any]] = {}
    for c in recorded:
        by_name.setdefault(str(c.get("name")), c)
    fs = {inv.get("f") for inv, _ in completed_ops(records)}
    out: list[Recheck] = []

    def add(result: Any, evidence_key: str | None) -> None:
        rec = by_name.get(result.name)
        comparable = rec is not None and (
            evidence_key is None
            or (rec.get("details") or {}).get(evidence_key) == result.details.get(evidence_key)
        )
        out.append(
            Recheck(
                result.name,
                result.valid,
                None if rec is None else rec.get("valid"),
                comparable,
                _short(result.details),
                result.details,
            )
        )

    if "add" in fs and "read" in fs:
        add(no_loss(records), "attempt-count")
    roles = sorted(
        {
            str(d["value"]["role"])
            for _, d in completed_ops(records)
            if d is not None
            and d.get("type") == "ok"
            and isinstance(d.get("value"), dict)
            and "role" in d["value"]
            and _ is not None
            and _.get("f") == "observe-active"
        }
    )
    for role in roles:
        add(single_active(records, role=role), "samples")
    add_nodes = {
        d.get("node")
        for inv, d in completed_ops(records)
        if inv.get("f") == "add" and d is not None and d.get("type") == "ok" and d.get("node")
    }
    # Fail-over time only means something where adds were served by two nodes.
    if len(add_nodes) >= 2 and fault_windows(records):
        ft = failover_time(records, f="add", bound=bound)
        # Informational unless the test recorded one on the same window.
        rec = by_name.get(ft.name)
        same_window = rec is not None and (rec.get("details") or {}).get("fault") == ft.details.get(
            "fault"
        )
        out.append(
            Recheck(
                ft.name,
                ft.valid,
                None if rec is None else rec.get("valid"),
                same_window,
                _short(ft.details),
                ft.details,
            )
        )
    return out


def _log_tails(folder: Path) -> dict[str, str]:
    tails: dict[str, str] = {}
    for log in sorted(folder.glob("logs*/*.log")):
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        tails[log.relative_to(folder).as_posix()] = "\n".join(lines[-LOG_TAIL_LINES:])
    return tails


def _failover_seconds(checks: list[dict[str, Any]]) -> list[float]:
    secs: list[float] = []
    for c in checks:
        d = c.get("details") or {}
        if c.get("name") == "failover-time" and isinstance(d.get("seconds"), int | float):
            secs.append(float(d["seconds"]))
        if c.get("name") == "failover-times":
            secs += [
                float(w["seconds"])
                for w in d.get("windows", [])
                if isinstance(w, dict) and isinstance(w.get("seconds"), int | float)
            ]
    return secs


def analyse_test(
    run_dir: Path, raw: dict[str, Any], profile_bounds: dict[str, float]
) -> dict[str, Any]:
    """One test's view: verdict, checks, re-checks, faults, figures, timeline, logs."""
    t = dict(raw)
    folder = run_dir / t["artifacts"] if t.get("artifacts") else None
    recorded: list[dict[str, Any]] = []
    measurements: dict[str, Any] = {}
    records: list[Record] = []
    if folder is not None and (folder / "results.json").exists():
        doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        recorded = list(doc.get("checks", []))
        measurements = dict(doc.get("measurements", {}))
    if folder is not None and (folder / "history.jsonl").exists():
        records = History.load(folder / "history.jsonl")
    flat = flatten_checks(recorded)
    bounds = [profile_bounds[g] for g in t.get("guarantees", []) if g in profile_bounds]
    rechecks = recheck(records, flat, bounds[0] if bounds else None) if records else []
    windows = fault_windows(records)
    faults = [
        {
            "name": s.get("f"),
            "value": s.get("value"),
            "start": s.get("time"),
            "stop": None if e is None else e.get("time"),
        }
        for s, e in windows
    ]
    kinds = sorted({str(f["name"]) for f in faults}) or [NO_FAULT]

    outcome = t.get("outcome", "unknown")
    recorded_validity = (
        merge_validity(_validity(c.get("valid")) for c in recorded) if recorded else None
    )
    reason = ""
    verdict: Verdict
    if outcome == "passed":
        verdict, reason = "held", "passed"
        broken_by = [r for r in rechecks if r.contradicts]
        if broken_by:
            verdict = "broken"
            reason = "re-check with the current checkers: " + ", ".join(r.name for r in broken_by)
    elif outcome == "failed":
        if recorded_validity == "unknown":
            verdict, reason = "unknown", "a checker could not decide"
        else:
            verdict, reason = "broken", "the test's check failed"
    elif outcome == "error":
        verdict, reason = "unknown", f"harness error in {t.get('phase') or 'setup/teardown'}"
    elif outcome == "skipped":
        verdict, reason = "unknown", "skipped: " + (t.get("longrepr") or "")[:200]
    else:
        verdict, reason = "unknown", f"outcome {outcome}"

    t.update(
        verdict=verdict,
        reason=reason,
        failed_checks=failed_leaves(flat),
        checks=[
            {
                "name": c.get("name"),
                "valid": c.get("valid"),
                "summary": _short(c.get("details") or {}),
            }
            for c in flat
        ],
        recorded_checks=recorded,
        rechecks=[r.to_json() for r in rechecks],
        measurements=measurements,
        faults=faults,
        fault_kinds=kinds,
        ops=summarize_ops(records),
        failover_seconds=_failover_seconds(flat)
        or _failover_seconds(
            [{"name": r.name, "details": r.details} for r in rechecks if r.name == "failover-time"]
        ),
        lost=sum(
            int((c.get("details") or {}).get("lost-count", 0) or 0)
            for c in flat
            if c.get("name") == "no-loss"
        ),
        duplicated=sum(
            int((c.get("details") or {}).get("duplicated-count", 0) or 0)
            for c in flat
            if c.get("name") == "no-loss"
        )
        + sum(
            len((c.get("details") or {}).get("duplicated", {}) or {})
            for c in flat
            if c.get("name") == "exactly-once"
        ),
        timeline=render_timeline(records) if records else "",
        logs=_log_tails(folder) if folder is not None and verdict != "held" else {},
        history_file=(f"{t['artifacts']}/history.jsonl" if records else None),
    )
    return t


def _figures(tests: list[dict[str, Any]]) -> dict[str, Any]:
    secs = [s for t in tests for s in t["failover_seconds"]]
    fig: dict[str, Any] = {
        "lost": sum(t["lost"] for t in tests),
        "duplicated": sum(t["duplicated"] for t in tests),
        "failover_count": len(secs),
    }
    if secs:
        fig.update(p50=percentile(secs, 50), p99=percentile(secs, 99), max=max(secs))
    return fig


def _selected(catalog: Catalog, raw: dict[str, Any], tests: list[dict[str, Any]]) -> list[str]:
    sel = raw.get("options", {}).get("selection", {}) or {}
    touched = [g for t in tests for g in t.get("guarantees", [])]
    ids: list[str] = list(sel.get("guarantees") or [])
    ids += [g.id for s in sel.get("systems") or [] for g in catalog.of_system(s)]
    if ids:
        # Only what was asked for: a test that also carries another id is
        # partial evidence for that one, not a verdict.
        return list(dict.fromkeys(ids))
    if sel.get("keyword"):
        return list(dict.fromkeys(touched))
    return list(dict.fromkeys(list(catalog.guarantees) + touched))  # a full run


def _documented_defaults_reason(g: Guarantee, gtests: list[dict[str, Any]], reason: str) -> str:
    """Under js7-documented: the catalog's account of why JS7's defaults cannot
    meet the documented bound — only where every broken test failed on a time
    bound alone; a lost order or two actives is not explained by timing."""
    broken = [t for t in gtests if t["verdict"] == "broken"]
    other = sorted(
        {c for t in broken for c in t.get("failed_checks", []) if c not in TIMING_CHECKS}
    )
    if all(t.get("failed_checks") for t in broken) and not other:
        return (
            "the documented bound cannot be met with JS7's documented defaults: "
            f"{g.documented_defaults} ({reason})"
        )
    beyond = ", ".join(other) or "a check other than a time bound"
    return (
        f"{reason}; not only late: {beyond} failed, which JS7's documented defaults do not explain"
    )


def analyse(run_dir: Path, raw: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The whole derived view of a run (see the module docstring for the rules)."""
    profile_name = raw.get("options", {}).get("profile", "reference")
    profile_bounds: dict[str, float] = {}
    for ge in catalog.guarantees.values():
        b = ge.documented_bound_s if profile_name == JS7_DOCUMENTED else ge.reference_bound_s
        if b is not None:
            profile_bounds[ge.id] = b
    profile_bounds.update(raw.get("options", {}).get("profile_bounds", {}) or {})
    tests = [analyse_test(run_dir, t, profile_bounds) for t in raw.get("tests", [])]
    selected = _selected(catalog, raw, tests)
    guarantees: list[dict[str, Any]] = []
    for gid in selected:
        g = catalog.guarantees.get(gid) or Guarantee(
            gid, "uncatalogued", "?", "(not in the catalog)", (), "", "—", "—"
        )
        gtests = [t for t in tests if gid in t.get("guarantees", [])]
        if not gtests:
            verdict: Verdict = "unknown"
            reason = (
                "not yet checked by any suite"
                if not g.checked
                else "no test of it ran in this selection"
            )
        else:
            verdict = merge_verdicts(t["verdict"] for t in gtests)
            reason = "; ".join(
                sorted({f"{t['reason']}" for t in gtests if t["verdict"] == verdict})
            )
            if verdict == "broken" and profile_name == JS7_DOCUMENTED and g.documented_defaults:
                reason = _documented_defaults_reason(g, gtests, reason)
        kinds: dict[str, Verdict] = {}
        for t in gtests:
            for k in t["fault_kinds"]:
                kinds[k] = merge_verdicts([kinds.get(k, t["verdict"]), t["verdict"]])
        guarantees.append(
            {
                **g.to_json(),
                "system_title": catalog.system_title(g.system),
                "verdict": verdict,
                "reason": reason,
                "tests": [t["nodeid"] for t in gtests],
                "profile_bound_s": profile_bounds.get(gid),
                "figures": _figures(gtests),
                "fault_kinds": kinds,
            }
        )
    summary: dict[str, dict[str, int]] = {}
    for entry in guarantees:
        row = summary.setdefault(entry["system"], {v: 0 for v in VERDICTS})
        row[entry["verdict"]] += 1
    totals = {v: sum(1 for e in guarantees if e["verdict"] == v) for v in VERDICTS}
    failing_tests = [t["nodeid"] for t in tests if t.get("outcome") in ("failed", "error")]
    held = bool(guarantees) and totals["held"] == len(guarantees) and not failing_tests
    all_kinds = sorted(
        {k for t in tests for k in t["fault_kinds"]}, key=lambda k: (k == NO_FAULT, k)
    )
    return {
        "tests": tests,
        "guarantees": guarantees,
        "summary": summary,
        "totals": totals,
        "fault_kinds": all_kinds,
        "failing_tests": failing_tests,
        "held": held,
    }


def derived_json(view: dict[str, Any]) -> dict[str, Any]:
    """The derived part of ``results.json``: no SVG, no log text."""
    strip = {"timeline", "logs", "recorded_checks"}
    return {
        "held": view["held"],
        "totals": view["totals"],
        "summary": view["summary"],
        "guarantees": view["guarantees"],
        "failing_tests": view["failing_tests"],
        "fault_kinds": view["fault_kinds"],
        "verdicts": {
            t["nodeid"]: {k: v for k, v in t.items() if k not in strip} for t in view["tests"]
        },
    }
