"""The Controller's Locks: who holds one, who waits, whether an order gets
its demands now — all read from the orders themselves, so the journaled
orders are the Locks' state and nothing can disagree with them.

An order holds the Locks of every lock block its position is in
(``[nr, "lock", …]``) — a Fork's child not those of its parent's blocks,
before its fork branch; an order queues while it has ``lockQueued`` (after
``OrderLocksQueued``), in the order of its ``queuedAt``. What must hold is
JS7's LockState (js7-data/shared/src/main/scala/js7/data/lock/LockState.scala):
a count fits beside the others' within the Lock's ``limit``, no count needs
the Lock free, and a count above the limit is a problem, never a wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.common.position import LOCK, Position, is_fork_branch
from components.common.workflow import Lock, Workflow
from components.wire import lock as lw

TERMINAL = ("finished", "failed", "cancelled")
Orders = Mapping[str, Mapping[str, Any]]


def holders(orders: Orders, workflows: Mapping[str, Workflow], path: str) -> dict[str, int | None]:
    """Who holds Lock ``path`` with which count (None: exclusively)."""
    out: dict[str, int | None] = {}
    for oid, o in orders.items():
        if o["state"] in TERMINAL or LOCK not in o["position"]:
            continue
        segments = Position.parse(o["position"]).branch_path
        wf = workflows[o["workflowKey"]]
        for depth, (nr, branch) in enumerate(segments):
            if is_fork_branch(branch):
                out.pop(oid, None)  # the parent's block, not the child's
            if branch != LOCK:
                continue
            ins = wf.instruction(Position(segments[:depth], nr))
            assert isinstance(ins, Lock)
            for d in ins.demands:
                if d.lock_path == path:
                    out[oid] = d.count
    return out


def check(
    orders: Orders, workflows: Mapping[str, Workflow], limits: Mapping[str, int], ins: Lock
) -> bool | str:
    """Whether an order at ``ins`` gets every demand now; JS7's problem when
    it never can (LockState.enqueue, isAvailable)."""
    available = True
    for d in ins.demands:
        limit = limits.get(d.lock_path)
        if limit is None:
            return f"UnknownKey: Lock:{d.lock_path}"
        if d.count is not None and d.count > limit:
            return f"Cannot fulfill lock count={d.count} with Lock:{d.lock_path} limit={limit}"
        held = holders(orders, workflows, d.lock_path)
        if d.count is None:
            available = available and not held
        else:
            used = sum(c for c in held.values() if c is not None)
            exclusive = any(c is None for c in held.values())
            available = available and not exclusive and used + d.count <= limit
    return available


def queue(orders: Orders) -> list[str]:
    """The orders queued for a Lock, first come first."""
    queued = [
        (o.get("queuedAt") or 0, oid)
        for oid, o in orders.items()
        if o.get("lockQueued") and o["state"] not in TERMINAL
    ]
    return [oid for _, oid in sorted(queued)]


def state(
    item: Mapping[str, Any], orders: Orders, workflows: Mapping[str, Workflow]
) -> lw.LockState:
    """JS7's ``LockState`` of the Lock ``item`` (LockStateTest.scala:13-25)."""
    path = str(item["path"])
    held = holders(orders, workflows, path)
    acquired: lw.Available | lw.Exclusive | lw.NonExclusive = lw.Available()
    if any(c is None for c in held.values()):
        acquired = lw.Exclusive(orderId=next(oid for oid, c in held.items() if c is None))
    elif held:
        acquired = lw.NonExclusive(orderToCount={oid: int(c or 0) for oid, c in held.items()})
    waiting = []
    for oid in queue(orders):
        o = orders[oid]
        ins = workflows[o["workflowKey"]].instruction(Position.parse(o["position"]))
        if isinstance(ins, Lock) and path in ins.lock_paths:
            waiting.append(oid)
    lock = lw.LockInState(path=path, limit=int(item.get("limit", 1)))
    return lw.LockState(lock=lock, acquired=acquired, queue=waiting)
