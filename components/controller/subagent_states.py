"""The Controller's view of each Subagent: JS7's ``SubagentItemState``,
kept from the ``SubagentItemStateEvent``s its Director sends with its other
events, and shown in the snapshot.

Source: js7-data/.../subagent/SubagentItemState.scala ``applyEvent``: a
``SubagentCouplingFailed`` only sets the ``problem`` (the Subagent may still
run its jobs); ``SubagentDedicated``/``SubagentCoupled`` make it
``Coupled``; a restart, shutdown or reset makes it ``Reset``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from msgspec import UNSET

from components.wire import snapshot as snap
from components.wire.codec import convert

STATE = "subagentState"  # journal state kind: SubagentId -> what the events said
EVENTS = frozenset(
    {
        "SubagentDedicated",
        "SubagentCoupled",
        "SubagentCouplingFailed",
        "SubagentEventsObserved",
        "SubagentRestarted",
        "SubagentShutdownStarted",
        "SubagentShutdown2",
        "SubagentResetStartedByController",
        "SubagentResetStarted",
        "SubagentReset",
    }
)
FRESH = {"TYPE": "Reset", "reason": {"TYPE": "Fresh"}}


def _reset(reason: str) -> dict[str, Any]:
    return {"couplingState": {"TYPE": "Reset", "reason": {"TYPE": reason}}, "eventId": 0}


def apply(state: Mapping[str, Any] | None, event: Mapping[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = dict(state or {"couplingState": FRESH, "eventId": 0})
    kind = event["TYPE"]
    if kind == "SubagentEventsObserved":
        s["eventId"] = event["untilEventId"]
        return s
    if kind == "SubagentCouplingFailed":
        s["problem"] = event.get("problem")
        return s
    if kind == "SubagentResetStartedByController":
        s["isResettingForcibly"] = event.get("force", False)
        return s
    s.pop("problem", None)
    if kind == "SubagentDedicated":
        s.update(couplingState={"TYPE": "Coupled"}, subagentRunId=event["subagentRunId"])
    elif kind == "SubagentCoupled":
        s["couplingState"] = {"TYPE": "Coupled"}
    elif kind == "SubagentRestarted":
        s.update(_reset("Restart"))
        s.pop("subagentRunId", None)
    elif kind == "SubagentShutdownStarted":
        s.update(couplingState={"TYPE": "ShutdownStarted"}, eventId=0)
    elif kind == "SubagentShutdown2":
        s.update(_reset("Shutdown"))
    elif kind == "SubagentResetStarted":
        s["couplingState"] = {"TYPE": "Resetting", "force": event.get("force", False)}
    elif kind == "SubagentReset":
        s.update(_reset("ResetCommand"))
        s.pop("subagentRunId", None)
        s.pop("isResettingForcibly", None)
    return s


def js7(item: Mapping[str, Any], state: Mapping[str, Any] | None) -> snap.SubagentItemState:
    s = state or {"couplingState": FRESH, "eventId": 0}
    problem = s.get("problem")
    return snap.SubagentItemState(
        subagentItem=convert(
            {k: v for k, v in item.items() if k != "TYPE"},
            snap.SubagentItemInState,
            "SubagentItem",
        ),
        subagentRunId=s.get("subagentRunId", UNSET),
        couplingState=convert(s["couplingState"], snap.DelegateCouplingState, "CouplingState"),
        isResettingForcibly=s.get("isResettingForcibly", UNSET),
        eventId=int(s.get("eventId", 0)),
        problem=UNSET if not problem else snap.ProblemJson(message=str(problem.get("message"))),
    )
