"""Fail-over time: from a fault taking effect to service on a new active node.

Measured per fault window: from the moment the fault is in effect — its
``in-effect`` record (the injection completed), else its ``start`` record —
to the first
``ok`` completion of an operation *invoked after* that start (an operation
already in flight may have been served before the fault took effect), whose
``node`` differs from the node that served the last ``ok`` operation
completed before the start. With ``f`` given (a name or a set of names), only
those operations count, both for the old node and for the new one.

The old node is "known" when some ``ok`` operation completed before the start
names a ``node``. When it is not known, or ``require_new_node=False``, the
first ``ok`` operation invoked after the start counts, whichever node served
it. When it is known and required, operations without a ``node`` do not
count: they cannot show that a new node took over.

Seconds are the difference of the two records' ``time`` fields (monotonic
clock, microsecond resolution), rounded to the microsecond.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from harness.checkers.base import CheckResult
from harness.history import Record, completed_ops, fault_windows, in_effect_times

NO_NEW_ACTIVE = "no successful operation on a new active after the fault"


def _wanted(f: str | Iterable[str] | None) -> frozenset[str] | None:
    if f is None:
        return None
    if isinstance(f, str):
        return frozenset([f])
    return frozenset(f)


def _measure(
    ops: Sequence[tuple[Record, Record | None]],
    start: Record,
    stop: Record | None,
    names: frozenset[str] | None,
    bound: float | None,
    require_new_node: bool,
    in_effect: float | None = None,
) -> dict[str, Any]:
    """One window's measurement: seconds is None when service never came back."""
    oks = [
        (inv, done)
        for inv, done in ops
        if done is not None and done["type"] == "ok" and (names is None or inv.get("f") in names)
    ]
    before = [done for _, done in oks if done["index"] < start["index"] and "node" in done]
    from_node = max(before, key=lambda r: r["index"])["node"] if before else None

    to: Record | None = None
    for inv, done in oks:
        if inv["index"] < start["index"]:
            continue
        if require_new_node and from_node is not None and done.get("node") in (None, from_node):
            continue
        if to is None or done["index"] < to["index"]:
            to = done

    t0 = in_effect if in_effect is not None else start["time"]
    out: dict[str, Any] = {
        "fault": start.get("fault"),
        "fault_name": start.get("f"),
        "started": start["time"],
        "in_effect": in_effect,
        "healed": None if stop is None else stop["time"],
        "from_node": from_node,
        "to_node": None if to is None else to.get("node"),
        "seconds": None if to is None else round(to["time"] - t0, 6),
        "op": None if to is None else to["index"],
        "bound": bound,
    }
    return out


def failover_time(
    records: Iterable[Record],
    *,
    fault: int | None = None,
    f: str | Iterable[str] | None = None,
    bound: float | None = None,
    require_new_node: bool = True,
) -> CheckResult:
    """Fail-over time of one fault window: ``fault`` (a fault id), else the
    history's first window.

    ``valid`` is ``False`` when no qualifying operation exists before the
    history ends (``reason`` says so) or when ``seconds > bound``;
    ``"unknown"`` when the history holds no such fault window; else ``True``.
    Details: ``seconds``, ``fault``, ``fault_name``, ``from_node``,
    ``to_node``, ``bound``, plus ``started``/``healed`` times and ``op`` (the
    index of the completion measured to).
    """
    records = list(records)
    name = "failover-time"
    windows = fault_windows(records)
    chosen = [w for w in windows if fault is None or w[0].get("fault") == fault][:1]
    if not chosen:
        what = "no fault window" if fault is None else f"no fault window with id {fault}"
        return CheckResult("unknown", {"reason": f"{what} in the history", "bound": bound}, name)
    start, stop = chosen[0]
    details = _measure(
        completed_ops(records),
        start,
        stop,
        _wanted(f),
        bound,
        require_new_node,
        in_effect_times(records).get(start.get("fault", -1)),
    )
    if details["seconds"] is None:
        return CheckResult(False, {**details, "reason": NO_NEW_ACTIVE}, name)
    if bound is not None and details["seconds"] > bound:
        reason = f"fail-over took {details['seconds']} s, more than {bound} s"
        return CheckResult(False, {**details, "reason": reason}, name)
    return CheckResult(True, details, name)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the value at 1-based rank ``ceil(p/100 * n)``
    of the ascending values (rank at least 1) — always one of the measured
    values, never an interpolation. ``p`` in (0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} outside (0, 100]")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def failover_times(
    records: Iterable[Record],
    *,
    fault_name: str | None = None,
    f: str | Iterable[str] | None = None,
    bound: float | None = None,
    require_new_node: bool = True,
) -> CheckResult:
    """Fail-over time of every fault window named ``fault_name`` (every
    window when ``None``), each measured as in ``failover_time``.

    Details: ``windows`` (one measurement per window, in start order),
    ``count``, ``p50``/``p99``/``max`` over the measured windows (nearest-rank,
    see ``percentile``; ``None`` when nothing was measured), ``exceeded`` and
    ``unrecovered`` (fault ids). ``valid`` is ``False`` when any window
    exceeded ``bound`` or never recovered; ``"unknown"`` when there is no such
    window; else ``True``. The search for a window's new active is not cut at
    the next window's start: if service came back only after a later fault,
    that is how long this one's fail-over took.
    """
    records = list(records)
    name = "failover-times"
    ops = completed_ops(records)
    names = _wanted(f)
    effective = in_effect_times(records)
    windows = [
        _measure(
            ops, start, stop, names, bound, require_new_node, effective.get(start.get("fault", -1))
        )
        for start, stop in fault_windows(records)
        if fault_name is None or start.get("f") == fault_name
    ]
    measured = [w["seconds"] for w in windows if w["seconds"] is not None]
    exceeded = [
        w["fault"]
        for w in windows
        if bound is not None and w["seconds"] is not None and w["seconds"] > bound
    ]
    unrecovered = [w["fault"] for w in windows if w["seconds"] is None]
    details: dict[str, Any] = {
        "fault_name": fault_name,
        "count": len(windows),
        "measured-count": len(measured),
        "p50": percentile(measured, 50) if measured else None,
        "p99": percentile(measured, 99) if measured else None,
        "max": max(measured) if measured else None,
        "percentile-method": "nearest-rank",
        "bound": bound,
        "exceeded": exceeded,
        "unrecovered": unrecovered,
        "windows": windows,
    }
    if not windows:
        what = "no fault window" if fault_name is None else f"no {fault_name!r} fault window"
        return CheckResult("unknown", {**details, "reason": f"{what} in the history"}, name)
    if unrecovered:
        return CheckResult(False, {**details, "reason": NO_NEW_ACTIVE}, name)
    if exceeded:
        reason = f"{len(exceeded)} of {len(windows)} fail-overs took more than {bound} s"
        return CheckResult(False, {**details, "reason": reason}, name)
    return CheckResult(True, details, name)
