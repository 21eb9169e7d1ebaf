"""No take-over while the arbiter is gone: while fault ``fault`` is in effect
(the Cluster Watch stopped, say), ``node`` never acted as the active node.

Evidence is ``observe-active`` samples as ``single_active`` reads them
(``ok`` operations whose value names ``role``, ``node`` and ``active``). A
sample counts only if its whole window — invocation to completion — lies
inside the fault's effect (``FaultSpan.during``): one that straddles the heal
may show the take-over the heal allowed. Without a single such sample of the
node there is no evidence either way, and the check fails rather than
pass on nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.checkers.base import CheckResult
from harness.history import Record, completed_ops, fault_spans


def no_takeover(records: Iterable[Record], *, fault: int, role: str, node: str) -> CheckResult:
    records = list(records)
    spans = [s for s in fault_spans(records) if s.fault == fault]
    if not spans:
        return CheckResult(False, {"fault": fault, "error": "no such fault"}, "no-takeover")
    span = spans[0]
    seen = 0
    active: list[float] = []
    for inv, done in completed_ops(records):
        value = None if done is None else done.get("value")
        if (
            done is None
            or done["type"] != "ok"
            or inv.get("f") != "observe-active"
            or not isinstance(value, dict)
            or value.get("role") != role
            or value.get("node") != node
            or not span.during(inv["time"], done["time"])
        ):
            continue
        seen += 1
        if value.get("active"):
            active.append(done["time"])
    details = {"fault": fault, "node": node, "samples": seen, "active-at": active}
    if not seen:
        details["error"] = f"no sample of {node} while the fault was in effect"
    return CheckResult(seen > 0 and not active, details, f"no-takeover[{node}]")
