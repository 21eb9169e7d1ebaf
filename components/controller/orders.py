"""The Controller's moves of the orders it holds (on no Agent): to their
next Agent, into a Fork's children and back (joined), into and out of Lock
blocks, to their end — by the same rules the Agents follow
(``components/common/instructions.py``).

What must hold: every move is recorded in the caller's transaction
(``Controller.put_order``), never acted on before the transaction is
committed; a move that needs the clock leaves a wake-up in it (``tx.wakes``).
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from components.common import instructions
from components.common.journal import Event
from components.common.position import FORK_LIST, Position, fork_branch
from components.common.workflow import Fork, ForkList, Lock
from components.controller import locks, notices, simple_items, snapshot
from components.controller.transaction import Tx

if TYPE_CHECKING:
    from components.controller.controller import Controller


def move_on(c: Controller, tx: Tx, oid: str) -> None:
    """An order that is on no Agent: the Controller moves it on
    (``components/common/instructions.py``) to its next Agent, to its end,
    or lets it wait here (a sleep, a retry's delay, a prompt)."""
    o = c.orders[oid]
    if o.get("mark") == "cancel":
        # Out of its lock blocks first, as JS7 cancels (leaveBlocks).
        left = instructions.leave_lock_blocks(c.workflows[o["workflowKey"]], o)
        if left.events:
            c.put_order(tx, oid, left.events, {**left.order, "state": o["state"]})
        terminate(c, tx, oid, "cancelled", {"TYPE": "OrderCancelled"})
        return
    if o.get("mark") == "suspend" and o["state"] != "prompting":
        # Suspended here and now, as JS7 suspends an order it holds.
        here = {**o, "state": "detached", "mark": None, "suspended": True}
        c.put_order(tx, oid, [{"TYPE": "OrderSuspended"}], here)
    if c.orders[oid].get("suspended"):
        if c.orders[oid].get("mark") != "resume":
            tx.wakes.append((oid, None))  # no wake-up while suspended
            return
        resumed = {**c.orders[oid], "mark": None, "suspended": False}
        c.put_order(tx, oid, [{"TYPE": "OrderResumed"}], resumed)
        o = resumed
    wf = c.workflows[o["workflowKey"]]
    now = int(time.time() * 1000)
    nxt = instructions.next_events(
        wf, o, here=None, now=now, locks=partial(lock_check, c), notices=notices.BoardView(c, now)
    )
    new = {**nxt.order, "state": "detached"}
    if any(e["TYPE"] == "OrderLocksQueued" for e in nxt.events):
        new["queuedAt"] = time.time_ns()  # the queue's order (LockState.queue)
    last_kind = nxt.events[-1]["TYPE"] if nxt.events else None
    if last_kind in snapshot.STATE_AFTER_EVENT:
        new["js7State"] = snapshot.STATE_AFTER_EVENT[last_kind]
    if nxt.action == "terminated":
        *events, last = nxt.events
        c.put_order(tx, oid, events, new)
        state = "finished" if last["TYPE"] == "OrderFinished" else "failed"
        terminate(c, tx, oid, state, last)
    elif nxt.action == "forked":
        c.put_order(tx, oid, nxt.events, {**new, "state": "forked"})
        fork(c, tx, oid)
    elif nxt.action == "joinable":
        c.put_order(tx, oid, nxt.events, {**new, "state": "joinable"})
        join(c, tx, o["parent"])
    elif nxt.action == "attach":
        c.put_order(tx, oid, nxt.events, {**new, "state": "attaching", "agent": nxt.agent})
        tx.after.append(("attach", oid))
    else:
        if nxt.action == "prompted":
            new["state"] = "prompting"
        if nxt.events:
            c.put_order(tx, oid, nxt.events, new)
        if nxt.action in ("wait", "continue"):
            # JS7 would wake it by its clock; so does a timer here.
            tx.wakes.append((oid, 0 if nxt.action == "continue" else nxt.until))
    released = {p for e in nxt.events if e["TYPE"] == "OrderLocksReleased" for p in e["lockPaths"]}
    if released:
        wake_lock_queue(c, tx, released)
    posted_by_order(c, tx, nxt.events)


def terminate(c: Controller, tx: Tx, oid: str, state: str, event: Event) -> None:
    o = c.orders[oid]
    if o.get("deleteWhenTerminated"):
        c.put_order(tx, oid, [event, {"TYPE": "OrderDeleted"}], None)
    else:
        c.put_order(tx, oid, [event], {**o, "state": state, "agent": None})
    if state == "cancelled" and o.get("parent"):
        join(c, tx, o["parent"])  # a cancelled child is joinable (EngineState.scala:180)
    if state == "cancelled":
        wake_lock_queue(c, tx, None)  # it may have held a Lock


def lock_check(c: Controller, oid: str, ins: Lock) -> bool | str:
    limits = simple_items.lock_limits(c.journal.state(simple_items.ITEM))
    return locks.check(c.orders, c.workflows, limits, ins)


def wake_lock_queue(c: Controller, tx: Tx, paths: set[str] | None) -> None:
    """Locks were released: the orders queued for them try again, in
    their queue's order."""
    for qid in locks.queue(c.orders):
        o = c.orders[qid]
        ins = c.workflows[o["workflowKey"]].instruction(Position.parse(o["position"]))
        if o["state"] != "detached" or not isinstance(ins, Lock):
            continue
        if paths is None or paths & set(ins.lock_paths):
            move_on(c, tx, qid)


def fork(c: Controller, tx: Tx, oid: str) -> None:
    """The children of ``OrderForked``, as JS7's ``Order.newForkedOrders``
    makes them (Order.scala:69-84): Ready at their branch's first
    instruction, with the parent's arguments and outcomes. They have no
    event of their own: ``OrderForked`` on the parent is their birth."""
    parent = c.orders[oid]
    at = Position.parse(parent["position"])
    for child in parent["children"]:
        cid = child["orderId"]
        c.put_order(
            tx,
            cid,
            [],
            {
                "id": cid,
                "workflowKey": parent["workflowKey"],
                "workflowPath": parent["workflowPath"],
                # A Fork's child in its branch, a ForkList's in the list's block.
                "position": at.child(
                    fork_branch(child["branchId"]) if "branchId" in child else FORK_LIST
                ).to_json(),
                "state": "detached",
                "scheduledFor": None,
                # The parent's arguments and the ForkList child's own (Order.scala newForkedOrders).
                "arguments": {**(parent.get("arguments") or {}), **child.get("arguments", {})},
                "agent": None,
                "mark": None,
                "started": True,
                "js7State": "Ready",
                "historicOutcomes": list(parent.get("historicOutcomes") or []),
                "deleteWhenTerminated": False,
                "parent": oid,
            },
        )
    for child in parent["children"]:
        if c.orders.get(child["orderId"], {}).get("state") == "detached":
            move_on(c, tx, child["orderId"])
    if not parent["children"]:
        join(c, tx, oid)  # an empty list: joined at once


def join(c: Controller, tx: Tx, pid: str) -> None:
    """``OrderJoined`` once every child is joinable (at its branch's end,
    ``OrderFailedInFork`` or cancelled); the children leave the state
    with it, and the parent moves on (ForkInstructionExecutor.scala:156-172)."""
    parent = c.orders.get(pid)
    if parent is None or parent["state"] != "forked":
        return
    ids = [c["orderId"] for c in parent["children"]]
    states = [c.orders.get(cid, {}).get("state") for cid in ids]
    if not all(st in ("joinable", "cancelled") for st in states):
        return
    fork = c.workflows[parent["workflowKey"]].instruction(Position.parse(parent["position"]))
    assert isinstance(fork, Fork | ForkList)
    outcome = instructions.joined_outcome(
        fork,
        [(c.orders[cid], st == "cancelled") for cid, st in zip(ids, states, strict=True)],
    )
    for cid in ids:
        c.put_order(tx, cid, [], None)
    joined: Event = {"TYPE": "OrderJoined", "outcome": outcome}
    after = {**instructions.apply(parent, joined), "state": "detached", "js7State": "Processed"}
    c.put_order(tx, pid, [joined], after)
    move_on(c, tx, pid)


def posted_by_order(c: Controller, tx: Tx, events: list[Event]) -> None:
    """An order's ``OrderNoticePosted`` events: the Notices are the Boards'
    now, and the orders waiting for them go on."""
    ids = []
    for e in events:
        if e["TYPE"] == "OrderNoticePosted":
            board, key = e["noticeId"]
            notices.put(c, tx, board, key, int(e["endOfLife"]))
            ids.append([board, key])
    if ids:
        wake_expecting(c, tx, ids)


def wake_expecting(c: Controller, tx: Tx, posted: list[list[str]]) -> None:
    """The orders waiting for one of the ``posted`` Notices try again
    (``toExpectingOrderEvents``)."""
    for oid, o in list(c.orders.items()):
        expected = o.get("expectedNoticeIds") or []
        if o["state"] == "detached" and any(i in expected for i in posted):
            move_on(c, tx, oid)
