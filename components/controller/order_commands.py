"""The Controller's order commands: ``AddOrder``, ``CancelOrders``,
``SuspendOrders``, ``ResumeOrders``/``ResumeOrder``, ``AnswerOrderPrompt``,
``DeleteOrdersWhenTerminated`` (js7-data/shared/src/main/scala/js7/data/
controller/ControllerCommand.scala).

What must hold: a command that names an unknown order, or asks for what the
reference does not do, is a problem and changes nothing; a mark on an order
at an Agent is sent there only once it is committed (``tx.after``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from msgspec import UNSET

from components.common import instructions
from components.common.journal import Event
from components.common.node import Handler
from components.common.position import Position
from components.common.web import Problem
from components.controller import orders
from components.controller.transaction import TERMINAL, Tx
from components.wire import controller_commands as cc
from components.wire.codec import to_json

if TYPE_CHECKING:
    from components.controller.controller import Controller


def handlers(c: Controller) -> dict[type, Handler]:
    """The order commands' handlers, bound to Controller ``c``."""
    return {
        cc.AddOrder: partial(add_order, c),
        cc.CancelOrders: partial(cancel_orders, c),
        cc.SuspendOrders: partial(suspend_orders, c),
        cc.ResumeOrders: partial(resume_orders, c),
        cc.ResumeOrder: partial(resume_order, c),
        cc.AnswerOrderPrompt: partial(answer_prompt, c),
        cc.DeleteOrdersWhenTerminated: partial(delete_when_terminated, c),
    }


async def add_order(c: Controller, user: str, cmd: cc.AddOrder) -> cc.AddOrderResponse:
    fresh = cmd.order
    oid = fresh.id
    if not oid or len(oid) > 200 or "\n" in oid or "|" in oid:
        raise Problem(
            400,
            "InvalidOrderId",
            "an OrderId has 1 to 200 characters, no newline and no reserved character |",
        )
    unsupported = [
        name
        for name in ("startPosition", "stopPositions", "innerBlock")
        if getattr(fresh, name) is not UNSET
    ]
    if unsupported:
        raise Problem(
            400, "UnsupportedField", f"AddOrder: the reference does not support {unsupported}"
        )
    key = c.latest.get(fresh.workflowPath)
    if key is None:
        raise Problem(400, "UnknownItemPath", f"Unknown Workflow:{fresh.workflowPath}")
    scheduled = None if fresh.scheduledFor is UNSET else fresh.scheduledFor
    arguments = fresh.arguments or {}
    delete_when_terminated = fresh.deleteWhenTerminated is True
    if scheduled is not None and scheduled < 0:
        raise Problem(400, "InvalidOrder", "scheduledFor must be epoch milliseconds")
    if oid in c.orders:
        # JS7: an existing id is no error; the command is ignored.
        return cc.AddOrderResponse(ignoredBecauseDuplicate=True)
    wf = c.workflows[key]
    tx = Tx()
    order = {
        "id": oid,
        "workflowKey": key,
        "workflowPath": fresh.workflowPath,
        "position": [0],
        "state": "added",
        "scheduledFor": scheduled,
        "arguments": arguments,
        "agent": None,
        "mark": None,
        "started": False,
        "historicOutcomes": [],
        "deleteWhenTerminated": delete_when_terminated,
    }
    added: Event = {"TYPE": "OrderAdded", "workflowId": wf.id_json}
    if scheduled is not None:
        added["scheduledFor"] = scheduled
    if arguments:
        added["arguments"] = arguments
    if delete_when_terminated:
        added["deleteWhenTerminated"] = True
    c.put_order(tx, oid, [added], order)
    orders.move_on(c, tx, oid)
    await c.commit(tx)
    return cc.AddOrderResponse(ignoredBecauseDuplicate=False)


def order_ids(c: Controller, ids: list[str] | str, what: str) -> list[str]:
    if isinstance(ids, str):
        raise Problem(
            400, "UnsupportedField", f"{what}: the reference takes a list of OrderIds only"
        )
    unknown = [i for i in ids if i not in c.orders]
    if unknown:
        raise Problem(400, "UnknownOrder", f"Unknown OrderId: {', '.join(unknown[:10])}")
    return ids


async def mark(
    c: Controller,
    ids: list[str],
    mark: str,
    event: Event,
    kill: bool = False,
    fresh_only: bool = False,
) -> None:
    tx = Tx()
    for oid in ids:
        o = c.orders[oid]
        if mark == "cancel" and o["state"] == "failed" and o.get("parent") and not fresh_only:
            # JS7 cancels a Failed order at once (Order.isCancelable); a
            # Fork's failed child so becomes joinable and its parent goes on.
            orders.terminate(c, tx, oid, "cancelled", {"TYPE": "OrderCancelled"})
            continue
        if o["state"] in TERMINAL or o.get("mark") == mark:
            continue
        if fresh_only and o.get("started"):
            continue
        marked = {**o, "mark": mark, "kill": kill}
        if "mode" in event:
            marked["markMode"] = event["mode"]
        c.put_order(tx, oid, [dict(event)], marked)
        if o["state"] in ("attaching", "attached"):
            tx.after.append(("mark", oid))
        elif o["state"] == "detached" or (o["state"] == "prompting" and mark == "cancel"):
            orders.move_on(c, tx, oid)  # waiting here: cancelled or suspended at once
    if tx.events:
        await c.commit(tx)


async def cancel_orders(c: Controller, user: str, cmd: cc.CancelOrders) -> None:
    mode = cc.FreshOrStarted() if cmd.mode is UNSET else cmd.mode
    fresh_only = isinstance(mode, cc.FreshOnly)
    kill = isinstance(mode, cc.FreshOrStarted) and isinstance(mode.kill, cc.Kill)
    await mark(
        c,
        order_ids(c, cmd.orderIds, "CancelOrders"),
        "cancel",
        {"TYPE": "OrderCancellationMarked", "mode": to_json(mode)},
        kill=kill,
        fresh_only=fresh_only,
    )


async def suspend_orders(c: Controller, user: str, cmd: cc.SuspendOrders) -> None:
    mode = cc.SuspensionMode() if cmd.mode is UNSET else cmd.mode
    await mark(
        c,
        order_ids(c, cmd.orderIds, "SuspendOrders"),
        "suspend",
        {"TYPE": "OrderSuspensionMarked", "mode": to_json(mode)},
        kill=isinstance(mode.kill, cc.Kill),
    )


async def resume_orders(c: Controller, user: str, cmd: cc.ResumeOrders) -> None:
    await mark(
        c,
        order_ids(c, cmd.orderIds, "ResumeOrders"),
        "resume",
        {"TYPE": "OrderResumptionMarked"},
    )


async def resume_order(c: Controller, user: str, cmd: cc.ResumeOrder) -> None:
    if cmd.position is not None or cmd.historyOperations:
        raise Problem(
            400,
            "UnsupportedField",
            "ResumeOrder: the reference resumes at the order's position only",
        )
    await mark(
        c,
        order_ids(c, [cmd.orderId], "ResumeOrder"),
        "resume",
        {"TYPE": "OrderResumptionMarked"},
    )


async def answer_prompt(c: Controller, user: str, cmd: cc.AnswerOrderPrompt) -> None:
    """``OrderPromptAnswered`` and one move to the next instruction, then
    on (OrderEventSource.scala:550-561)."""
    oid = order_ids(c, [cmd.orderId], "AnswerOrderPrompt")[0]
    o = c.orders[oid]
    if o["state"] != "prompting":
        raise Problem(
            400,
            "CannotAnswerOrderPrompt",
            f"'{oid}' is expected to be in state Prompting, but is {o['state']}",
        )
    answered = instructions.apply(o, {"TYPE": "OrderPromptAnswered"})
    to = Position.parse(o["position"]).increment().to_json()
    moved: Event = {"TYPE": "OrderMoved", "to": to}
    tx = Tx()
    c.put_order(
        tx,
        oid,
        [{"TYPE": "OrderPromptAnswered"}, moved],
        {**instructions.apply(answered, moved), "state": "detached"},
    )
    orders.move_on(c, tx, oid)
    await c.commit(tx)


async def delete_when_terminated(
    c: Controller, user: str, cmd: cc.DeleteOrdersWhenTerminated
) -> None:
    tx = Tx()
    for oid in order_ids(c, cmd.orderIds, "DeleteOrdersWhenTerminated"):
        o = c.orders[oid]
        if o["state"] in TERMINAL:
            c.put_order(tx, oid, [{"TYPE": "OrderDeleted"}], None)
        else:
            c.put_order(
                tx, oid, [{"TYPE": "OrderDeletionMarked"}], {**o, "deleteWhenTerminated": True}
            )
    if tx.events:
        await c.commit(tx)
