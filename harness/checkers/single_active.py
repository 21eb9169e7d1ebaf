"""Single active: never two nodes of one role active at the same time.

Evidence is ``ok`` operations with ``f=f`` whose value is a dict naming the
``role`` and the ``node``, in one of two forms:

* a **sample** — ``{"role", "node", "active": bool}``: what the node said
  about itself when asked;
* a **self-reported interval** — ``{"role", "node", "active_from": t0,
  "active_until": t1}`` on the history's clock; ``t1`` may be ``None``
  (still active when the history ends).

An observation that failed (``fail``, ``info``, or never completed) tells
nothing about the node's state but does end a run of active samples: the
node is named by the completion's ``node`` or the value's ``"node"``; one that
names no node ends the runs of every node of the role.

How samples become intervals, and what that can and cannot show
-----------------------------------------------------------------
A sample's answer holds at some instant between its invocation and its
completion: its *window*. (When both records carry the same time — a
synthetic history — that is simply the record's time.) A maximal run of a
node's consecutive active samples, in completion order, is taken to mean the
node was active throughout, from the first to the last of those instants.
What is certain of that interval is that it covers ``[from, until]`` with
``from`` = the earliest completion time in the run and ``until`` = the latest
invocation time in the run. For a single sample whose window has width,
``from > until``: the node was active at least at one instant in
``[until, from]``.

Two intervals of different nodes are reported as an overlap only when they
overlap under *every* placement of the unknown instants: ``from_a <=
until_b`` and ``from_b <= until_a`` (sharing a single instant counts, so
touching intervals overlap). Hence:

* the checker never invents an overlap — provided a node seen active by two
  consecutive samples stayed active in between (a node that stepped down and
  came back between two samples without being seen inactive is taken as
  active throughout);
* it misses an overlap that lasted less than roughly one sampling gap plus
  one request's latency: the true interval extends beyond the certain one by
  up to a gap at each end, and a double-active episode that no sample hit is
  invisible. Self-reported intervals have no such gap; they are only as true
  as the node's own clock and honesty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import CheckResult
from harness.history import Record, completed_ops


@dataclass(frozen=True)
class _Interval:
    node: str
    source: str  # "samples" or "reported"
    lo: float  # the interval certainly began no later than this
    hi: float  # ... and certainly ended no earlier than this
    samples: int = 0
    reported_until: float | None = None  # as reported (None: still active)

    def to_json(self) -> dict[str, Any]:
        if self.source == "reported":
            return {"source": "reported", "from": self.lo, "until": self.reported_until}
        return {"source": "samples", "from": self.lo, "until": self.hi, "samples": self.samples}


def _is_time(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _overlaps(intervals: list[_Interval]) -> list[dict[str, Any]]:
    """Every pair of intervals of different nodes that certainly overlap."""
    ordered = sorted(intervals, key=lambda i: (i.lo, i.hi, i.node))
    found: list[dict[str, Any]] = []
    for k, a in enumerate(ordered):
        for b in ordered[k + 1 :]:
            if b.lo > a.hi:
                break  # every later b starts later still: none meets b.lo <= a.hi
            if a.node == b.node or not (b.lo <= a.hi and a.lo <= b.hi):
                continue
            p, q = max(a.lo, b.lo), min(a.hi, b.hi)
            first, second = sorted([a, b], key=lambda i: i.node)
            found.append(
                {
                    "nodes": [first.node, second.node],
                    "from": min(p, q),
                    "to": max(p, q),
                    "sources": [first.source, second.source],
                }
            )
    found.sort(key=lambda o: (o["from"], o["to"], o["nodes"]))
    return found


def single_active(
    records: Iterable[Record], *, role: str, f: str = "observe-active"
) -> CheckResult:
    """No two nodes of ``role`` are ever active at once.

    ``valid`` is ``False`` on any certain overlap (see the module docstring);
    ``"unknown"`` when there is no evidence for the role at all, or when some
    observation of the role was malformed and no overlap was found; else
    ``True``. Details: ``intervals`` per node, ``overlaps`` (each
    ``{nodes, from, to, sources}``: the overlap certainly covers ``[from,
    to]`` when both intervals are certain there, and otherwise contains at
    least one instant of it), ``samples``, ``reported``, ``breaks``.
    """
    records = list(records)
    name = f"single-active[{role}]"
    end_time = max((r["time"] for r in records), default=0.0)

    # Per node, events in completion order: (order, active-or-None, invoke t, completion t).
    events: dict[str, list[tuple[int, bool | None, float, float]]] = {}
    global_breaks: list[int] = []
    reported: list[_Interval] = []
    samples = breaks = malformed = 0

    for invoke, completion in completed_ops(records):
        if invoke.get("f") != f:
            continue
        if completion is None or completion["type"] != "ok":
            asked = invoke.get("value")
            if isinstance(asked, dict) and asked.get("role", role) != role:
                continue
            node = completion.get("node") if completion is not None else None
            if node is None and isinstance(asked, dict):
                node = asked.get("node")
            order = invoke["index"] if completion is None else completion["index"]
            breaks += 1
            if node is None:
                global_breaks.append(order)
            else:
                events.setdefault(str(node), []).append((order, None, 0.0, 0.0))
            continue

        value = completion.get("value")
        if not isinstance(value, dict):
            malformed += 1
            continue
        if "role" not in value:
            malformed += 1
            continue
        if value["role"] != role:
            continue
        node = value.get("node", completion.get("node"))
        if node is None:
            malformed += 1
            continue
        if "active_from" in value:
            t0, t1 = value["active_from"], value.get("active_until")
            if not _is_time(t0) or not (t1 is None or _is_time(t1)) or (t1 is not None and t1 < t0):
                malformed += 1
                continue
            hi = max(end_time, t0) if t1 is None else float(t1)
            reported.append(_Interval(str(node), "reported", float(t0), hi, reported_until=t1))
        elif isinstance(value.get("active"), bool):
            samples += 1
            events.setdefault(str(node), []).append(
                (completion["index"], value["active"], invoke["time"], completion["time"])
            )
        else:
            malformed += 1

    for node_events in events.values():
        node_events.extend((order, None, 0.0, 0.0) for order in global_breaks)
        node_events.sort(key=lambda e: e[0])

    from_samples: list[_Interval] = []
    for node, node_events in sorted(events.items()):
        run: list[tuple[float, float]] = []
        for _, active, invoked, completed in [*node_events, (0, None, 0.0, 0.0)]:
            if active is True:
                run.append((invoked, completed))
                continue
            if run:
                lo = min(c for _, c in run)
                hi = max(i for i, _ in run)
                from_samples.append(_Interval(node, "samples", lo, hi, samples=len(run)))
                run = []

    intervals = from_samples + reported
    overlaps = _overlaps(intervals)
    per_node: dict[str, list[dict[str, Any]]] = {}
    for interval in sorted(intervals, key=lambda i: (i.node, i.lo, i.hi)):
        per_node.setdefault(interval.node, []).append(interval.to_json())

    details: dict[str, Any] = {
        "role": role,
        "samples": samples,
        "reported": len(reported),
        "breaks": breaks,
        "overlap-count": len(overlaps),
        "overlaps": overlaps,
        "intervals": per_node,
    }
    if malformed:
        details["malformed"] = malformed
    if overlaps:
        return CheckResult(False, details, name)
    if samples == 0 and not reported:
        details["reason"] = f"no observation of role {role!r}"
        return CheckResult("unknown", details, name)
    if malformed:
        details["reason"] = f"{malformed} malformed observation(s) may hide an active node"
        return CheckResult("unknown", details, name)
    return CheckResult(True, details, name)
