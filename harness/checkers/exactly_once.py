"""Exactly once: every acknowledged submission is executed once, no more.

Submissions are operations with ``f=submit_f`` (value = the id). Executions
are ``ok`` operations with ``f=run_f`` whose value is the id, or a dict with
an ``"id"`` — typically job side effects observed after the workload drained,
one operation per observed execution. ``fail``/``info`` observations are not
executions and are ignored.

Submission outcomes are folded over retries of the same id exactly as in
``no_loss``: ``ok`` if any attempt was acknowledged, ``fail`` only if every
attempt certainly failed, otherwise indeterminate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Any

from harness.checkers.base import CheckResult
from harness.checkers.no_loss import Attempts, sorted_counts, sorted_ids
from harness.history import Record, completed_ops


def _run_id(value: Any) -> tuple[bool, Any]:
    """(readable, id) of an execution's value."""
    if isinstance(value, dict):
        if "id" not in value:
            return False, None
        value = value["id"]
    return isinstance(value, Hashable) and value is not None, value


def exactly_once(
    records: Iterable[Record],
    *,
    submit_f: str = "add",
    run_f: str = "run",
    require_all: bool = True,
) -> CheckResult:
    """Each acknowledged id ran exactly once; nothing else ran.

    ``valid`` is ``False`` when any of these is non-empty:

    * ``missing`` — acknowledged, never ran. With ``require_all=False`` these
      are still reported but allowed: for guarantees that promise at most once
      (e.g. starts due during a take-over are skipped, not caught up).
    * ``duplicated`` — ``{id: runs}`` for every id that ran more than once.
    * ``unexpected`` — ran, never submitted.
    * ``failed-but-ran`` — every submission certainly failed, yet it ran.

    Fine: ``indeterminate-ran`` (outcome unknown, ran once) and
    ``indeterminate-not-ran``. ``"unknown"`` when nothing was submitted and
    nothing ran (there is nothing to check), or when some execution's id could
    not be read and nothing else is wrong.
    """
    records = list(records)
    name = "exactly-once"
    submits = Attempts(records, submit_f)
    acknowledged = submits.having("ok")
    failed = submits.having("fail")
    indeterminate = submits.having("info")

    runs: Counter[Hashable] = Counter()
    unreadable = 0
    for invoke, completion in completed_ops(records):
        if invoke.get("f") != run_f or completion is None or completion["type"] != "ok":
            continue
        value = completion.get("value")
        if value is None:
            value = invoke.get("value")
        readable, run_id = _run_id(value)
        if readable:
            runs[run_id] += 1
        else:
            unreadable += 1

    ran = set(runs)
    missing = acknowledged - ran
    duplicated = {i: c for i, c in runs.items() if c > 1}
    unexpected = ran - set(submits.outcomes)
    failed_ran = failed & ran
    indeterminate_ran = {i for i in indeterminate & ran if runs[i] == 1}
    indeterminate_not_ran = indeterminate - ran

    details: dict[str, Any] = {
        "attempt-count": submits.count,
        "acknowledged-count": len(acknowledged),
        "failed-count": len(failed),
        "indeterminate-count": len(indeterminate),
        "run-count": sum(runs.values()),
        "ran-count": len(ran),
        "missing-count": len(missing),
        "duplicated-count": len(duplicated),
        "unexpected-count": len(unexpected),
        "failed-but-ran-count": len(failed_ran),
        "indeterminate-ran-count": len(indeterminate_ran),
        "indeterminate-not-ran-count": len(indeterminate_not_ran),
        "require-all": require_all,
        "missing": sorted_ids(missing),
        "duplicated": sorted_counts(duplicated),
        "unexpected": sorted_ids(unexpected),
        "failed-but-ran": sorted_ids(failed_ran),
        "indeterminate-ran": sorted_ids(indeterminate_ran),
        "indeterminate-not-ran": sorted_ids(indeterminate_not_ran),
    }
    if unreadable:
        details["unreadable-run-count"] = unreadable
    if submits.malformed:
        details["malformed-attempt-count"] = submits.malformed

    if (missing and require_all) or duplicated or unexpected or failed_ran:
        return CheckResult(False, details, name)
    if unreadable or submits.malformed:
        details["reason"] = "some ids could not be read; they may hide a duplicate"
        return CheckResult("unknown", details, name)
    if submits.count == 0 and not runs:
        details["reason"] = "nothing was submitted and nothing ran"
        return CheckResult("unknown", details, name)
    return CheckResult(True, details, name)
