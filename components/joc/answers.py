"""JOC's answer shapes for states: a cluster node's and a component's state,
an order's grouped state with JOC's severities, and an order as JOC's
``orders`` answers it (js7-api-schemas ``controller/…``, ``order/…``)."""

from __future__ import annotations

import time
from typing import Any

from components.joc.views.subviews import position_string

Body = dict[str, Any]


def node_state(active: bool | None) -> Body:
    """JOC's clusterNodeState (controller/clusterNodeState-schema.json);
    ``None``: unknown (the node did not answer)."""
    if active is None:
        return {"_text": "unknown", "severity": 3}
    return {"_text": "active", "severity": 0} if active else {"_text": "inactive", "severity": 1}


def component_state(operational: bool) -> Body:
    """JOC's componentState (controller/componentState-schema.json)."""
    if operational:
        return {"_text": "operational", "severity": 0}
    return {"_text": "unknown", "severity": 3}


# JOC's grouped order states and their severities (JOC's OrdersHelper
# .severityByGroupedStates, joc-cockpit 2.8).
ORDER_SEVERITY = {
    "PLANNED": 4,
    "PENDING": 10,
    "SCHEDULED": 1,
    "WAITING": 8,
    "FAILED": 2,
    "SUSPENDED": 5,
    "CANCELLED": 2,
    "BROKEN": 2,
    "RUNNING": 0,
    "INPROGRESS": 3,
    "FINISHED": 6,
    "BLOCKED": 7,
    "PROMPTING": 12,
    "UNKNOWN": 2,
}


# A Fork's parent, a queued order and one expecting Notices wait; a child
# failed in its branch has failed (OrdersHelper.groupByStateClasses, joc-cockpit 2.8).
FORK_AND_LOCK_STATE = {
    "Forked": "WAITING",
    "WaitingForLock": "WAITING",
    "ExpectingNotices": "WAITING",
    "FailedInFork": "FAILED",
}


def order_state_text(o: Body, now_ms: int) -> str:
    """A JS7 ``Order`` (the Controller's snapshot) as JOC groups its state."""
    state = str((o.get("state") or {}).get("TYPE"))
    if state in ("Finished", "Failed", "Cancelled"):
        return state.upper()
    if o.get("isSuspended"):
        return "SUSPENDED"
    if state == "Prompting":
        return "PROMPTING"
    if state in FORK_AND_LOCK_STATE:
        return FORK_AND_LOCK_STATE[state]
    if state != "Fresh":
        return "INPROGRESS"
    due = o.get("scheduledFor")
    return "SCHEDULED" if isinstance(due, int) and due > now_ms else "PENDING"


# An order's history state (JOC's historyState): from HISTORY_ORDERS.STATE.
ORDER_HSTATE = (
    "CASE WHEN STATE = 'FINISHED' THEN 'SUCCESSFUL' WHEN STATE IN ('FAILED','CANCELLED') "
    "THEN 'FAILED' ELSE 'INCOMPLETE' END"
)


def order_v(o: Body) -> Body:
    """A JS7 ``Order`` as JOC's ``orders`` answers it (order/order_v-schema.json)."""
    text = order_state_text(o, int(time.time() * 1000))
    workflow_position = o.get("workflowPosition") or {}
    position = workflow_position.get("position") or [0]
    out: Body = {
        "orderId": o["id"],
        "workflowId": dict(workflow_position.get("workflowId") or {}),
        "state": {"_text": text, "severity": ORDER_SEVERITY[text]},
        "position": position,
        "positionString": position_string(position),
    }
    if o.get("arguments"):
        out["arguments"] = o["arguments"]
    if o.get("scheduledFor") is not None:
        out["scheduledFor"] = o["scheduledFor"]
    return out
