"""Where the Director ran the jobs: the share of each Subagent
(AGT-SUBAGENT-ACTIVE-ACTIVE) and the highest available priority
(AGT-SUBAGENT-FIXED-PRIORITY).

Executions are ``ok`` operations with ``f=run_f`` whose value is a dict
``{"id": order id, "subagent": SubagentId}`` — one per observed execution,
typically a job's own side effect on the Subagent that ran it, or the
``subagentId`` of its ``OrderProcessingStarted``. ``fail``/``info``
observations are not executions and are ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.checkers.base import CheckResult
from harness.history import Record, completed_ops


def _runs(records: Iterable[Record], run_f: str) -> tuple[list[dict[str, Any]], int]:
    """(readable executions, how many could not be read)."""
    runs: list[dict[str, Any]] = []
    unreadable = 0
    for invoke, done in completed_ops(records):
        if invoke.get("f") != run_f or done is None or done.get("type") != "ok":
            continue
        value = done.get("value")
        if isinstance(value, dict) and "id" in value and isinstance(value.get("subagent"), str):
            runs.append(value)
        else:
            unreadable += 1
    return runs, unreadable


def subagent_share(
    records: Iterable[Record],
    *,
    subagents: Sequence[str],
    tolerance: float = 0.10,
    run_f: str = "run",
) -> CheckResult:
    """Equal priorities: each of ``subagents`` ran its equal share of the
    executions, within ``tolerance`` of that share (0.10: ±10 %), and no
    other Subagent ran any.

    ``False`` when a share is outside the band (``off-share``) or a job ran
    elsewhere (``unexpected-subagent``). ``"unknown"`` when nothing ran or an
    execution could not be read and nothing else is wrong.
    """
    name = "subagent-share"
    runs, unreadable = _runs(records, run_f)
    counts = Counter(r["subagent"] for r in runs)
    total = sum(counts[s] for s in subagents)
    fair = total / len(subagents) if subagents else 0.0
    low, high = fair * (1 - tolerance), fair * (1 + tolerance)
    off = {s: counts[s] for s in subagents if not low <= counts[s] <= high}
    elsewhere = {s: n for s, n in counts.items() if s not in subagents}
    details: dict[str, Any] = {
        "runs": len(runs),
        "shares": {s: counts[s] for s in subagents},
        "fair-share": fair,
        "band": [round(low, 3), round(high, 3)],
        "off-share": off,
        "unexpected-subagent": elsewhere,
        "unreadable": unreadable,
    }
    if off or elsewhere:
        return CheckResult(False, details, name)
    if not runs or unreadable:
        return CheckResult("unknown", details, name)
    return CheckResult(True, details, name)


def highest_available(
    records: Iterable[Record],
    *,
    expected: Mapping[Any, str],
    run_f: str = "run",
) -> CheckResult:
    """Fixed priority: every order ran on the Subagent ``expected`` names for
    it (the highest-priority one available while it started — the test knows
    which were up when it added the order), once.

    ``False`` for an order that ran elsewhere (``wrong-subagent``), ran more
    than once (``duplicated``) or never ran (``missing``); ``"unknown"`` when
    nothing was expected or an execution could not be read.
    """
    name = "highest-available"
    runs, unreadable = _runs(records, run_f)
    by_order: dict[Any, list[str]] = {}
    for r in runs:
        by_order.setdefault(r["id"], []).append(r["subagent"])
    wrong = {
        oid: {"ran-on": subs, "expected": expected[oid]}
        for oid, subs in by_order.items()
        if oid in expected and any(s != expected[oid] for s in subs)
    }
    duplicated = {oid: len(subs) for oid, subs in by_order.items() if len(subs) > 1}
    missing = sorted((oid for oid in expected if oid not in by_order), key=str)
    unexpected = sorted((oid for oid in by_order if oid not in expected), key=str)
    details: dict[str, Any] = {
        "expected-count": len(expected),
        "runs": len(runs),
        "per-subagent": dict(Counter(r["subagent"] for r in runs)),
        "wrong-subagent": wrong,
        "duplicated": duplicated,
        "missing": missing,
        "unexpected": unexpected,
        "unreadable": unreadable,
    }
    if wrong or duplicated or missing or unexpected:
        return CheckResult(False, details, name)
    if not expected or unreadable:
        return CheckResult("unknown", details, name)
    return CheckResult(True, details, name)
