"""JS7's ``GET /controller/api/snapshot/``: the Controller's committed state
as NDJSON snapshot objects, in the order and shapes JS7 writes them
(js7-data/.../controller/ControllerState.scala ``toSnapshotStream`` and
``snapshotObjectJsonCodec``; js7-controller/.../api/SnapshotRoute.scala)::

    {"TYPE":"SnapshotEventId","eventId":…}
    {"TYPE":"ClusterStateSnapshot","clusterState":{…}}   (a cluster only)
    {"TYPE":"AgentRefState","agentRef":{…},"couplingState":{…},"eventId":…}
    {"TYPE":"SubagentItemState","subagentItem":{…},"couplingState":{…},…}
    {"TYPE":"SubagentBundle","id":…,"subagentToPriority":{…}}
    {"TYPE":"VersionAdded","versionId":…}                 (the repo, as events)
    {"TYPE":"VersionedItemAdded","signed":{…}}
    {"TYPE":"Order","id":…,"workflowPosition":{…},"state":{…},…}

It is the public way, in JS7 2.x, to read a Controller's orders and its view
of each Agent (JS7 has no ``GET`` for orders): what a client of a real
Controller reads, the harness reads here.

What must hold: every object comes from the *committed* state, read in one
step with the eventId it belongs to (no ``await`` between), so a snapshot
never shows what a crash could take back. ``?eventId=`` (JS7's historic
snapshot from journal files) is refused with JS7's problem
``SnapshotForUnknownEventId``: the reference keeps no historic snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import msgspec
from aiohttp import web
from msgspec import UNSET

from components.common.eventid import event_id_string
from components.common.node import query_int
from components.common.web import Problem
from components.controller import locks, notices, simple_items, subagent_states
from components.controller.items import repo_events
from components.wire import snapshot as snap
from components.wire.agent_commands import (
    Attached,
    Fresh,
    HistoricOutcome,
    OrderMark,
    Ready,
    WorkflowId,
    WorkflowPosition,
)
from components.wire.cluster import ClusterState, Empty
from components.wire.codec import convert

if TYPE_CHECKING:
    from components.controller.controller import Controller

# The reference's order life on the Controller -> JS7's Order.attachedState.
ATTACHED_STATE: dict[str, type[Any]] = {
    "attaching": snap.Attaching,
    "attached": Attached,
    "detaching": snap.Detaching,
}
# Terminal states -> JS7's Order.state.
TERMINAL_STATE: dict[str, Any] = {
    "finished": snap.Finished(),
    "failed": snap.Failed(),
    "cancelled": snap.Cancelled(),
}
# The last mirrored Agent event -> JS7's Order.state it leaves (Order.scala
# applyEvent); the Controller journals the state's name.
STATE_AFTER_EVENT = {
    "OrderStarted": "Ready",
    "OrderProcessingStarted": "Processing",
    "OrderProcessed": "Processed",
    "OrderMoved": "Ready",
    "OrderCaught": "Ready",
    "OrderAwoke": "Ready",
    "OrderRetrying": "Ready",  # with delayedUntil: DelayingRetry (see js7_state)
    "OrderSleeping": "Ready",  # Sleeping while it has its until (see js7_state)
    "OrderFailedInFork": "FailedInFork",
    "OrderJoined": "Processed",
}
NON_TERMINAL_STATE: dict[str, Any] = {
    "Fresh": Fresh(),
    "Ready": Ready(),
    "Processing": snap.Processing(),
    "Processed": snap.Processed(),
    "FailedInFork": snap.FailedInFork(),
}


def js7_state(o: Mapping[str, Any]) -> Any:
    """JS7's ``Order.state`` of an order that has not terminated."""
    if o["state"] == "prompting":
        return snap.Prompting(question=o.get("question"))
    if o.get("lockQueued"):
        return snap.WaitingForLock()
    if o.get("expectedNoticeIds"):
        return snap.ExpectingNotices(noticeIds=o["expectedNoticeIds"])
    if o["state"] == "forked":
        children = [snap.ForkedChild(**c) for c in o.get("children") or []]
        return snap.Forked(children=children)
    if o.get("until") is not None:
        # Order.scala:1315 DelayingRetry(until), :1433 Sleeping(until, cause).
        kind = snap.DelayingRetry if o.get("delaying") else snap.Sleeping
        return kind(until=o["until"])
    return NON_TERMINAL_STATE[o.get("js7State") or ("Ready" if o.get("started") else "Fresh")]


def js7_order(oid: str, o: Mapping[str, Any], mark: dict[str, Any] | None) -> snap.Order:
    """The reference's journaled order as JS7's ``Order`` snapshot object
    (js7-data/.../order/OrderTest.scala)."""
    path, _, version = str(o["workflowKey"]).rpartition("~")
    state = TERMINAL_STATE.get(o["state"]) or js7_state(o)
    attached = ATTACHED_STATE.get(o["state"])
    return snap.Order(
        id=oid,
        workflowPosition=WorkflowPosition(
            workflowId=WorkflowId(path=path, versionId=version),
            position=o["position"],
        ),
        state=state,
        arguments=o.get("arguments") or UNSET,
        scheduledFor=UNSET if o.get("scheduledFor") is None else o["scheduledFor"],
        historicOutcomes=[
            HistoricOutcome(position=h["position"], outcome=h["outcome"])
            for h in o.get("historicOutcomes") or []
        ]
        or UNSET,
        attachedState=(
            attached(agentPath=o["agent"]) if attached is not None and o.get("agent") else UNSET
        ),
        mark=UNSET if mark is None else convert(mark, OrderMark, "OrderMark"),
        isSuspended=bool(o.get("suspended")),
        deleteWhenTerminated=bool(o.get("deleteWhenTerminated")),
        parent=o.get("parent") or UNSET,
    )


def objects(controller: Controller) -> Iterator[snap.SnapshotObject]:
    """The snapshot objects, all from one moment's committed state."""
    journal = controller.journal
    yield snap.SnapshotEventId(eventId=journal.last_event_id)
    cluster_state = controller.cluster.js7_state()
    if not isinstance(cluster_state, Empty):
        # js7_state() builds a concrete state (Coupled, PassiveLost, …), never the base.
        yield snap.ClusterStateSnapshot(clusterState=cast(ClusterState, cluster_state))
    for driver in controller.drivers.values():
        yield driver.js7_state()
    items = journal.state(simple_items.ITEM).values()
    for item in items:
        if item["TYPE"] == "SubagentItem":
            yield subagent_states.js7(item, journal.get(subagent_states.STATE, item["id"]))
    for item in items:
        if item["TYPE"] == "SubagentBundle":
            yield convert(item, snap.SubagentBundle, "SubagentBundle")
    orders = journal.state("order")
    for item in items:
        if item["TYPE"] == "Lock":
            yield locks.state(item, orders, controller.workflows)
    yield from notices.snapshot_objects(controller)
    yield from repo_events(controller)
    for oid, o in orders.items():
        yield js7_order(oid, o, controller.mark_json(o) if o.get("mark") else None)


async def handle(controller: Controller, request: web.Request) -> web.StreamResponse:
    controller.sessions.user_of(request)
    event_id = query_int(request, "eventId", None, 0)
    if event_id is not None:
        raise Problem(
            400,
            "SnapshotForUnknownEventId",
            f"Unknown snapshot for EventId {event_id_string(event_id)}",
            arguments={"eventId": str(event_id), "eventIdString": event_id_string(event_id)},
        )
    # Encoded before the first byte is sent: the committed state of one moment.
    body = b"".join(msgspec.json.encode(obj) + b"\n" for obj in objects(controller))
    return web.Response(body=body, content_type="application/x-ndjson")
