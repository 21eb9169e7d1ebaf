"""The Controller's snapshot objects: ``GET /controller/api/snapshot/``
(NDJSON), the part of JS7's ``ControllerState.snapshotObjectJsonCodec`` the
reference writes.

Sources (sos-berlin/js7): js7-data/shared/src/test/scala/js7/data/controller/
ControllerStateTest.scala (``expectedSnapshotJsonArray``: every object below
with its ``TYPE``), event/SnapshotMetaTest.scala (``SnapshotEventId``),
agent/AgentRefStateTest.scala (``AgentRefState``), delegate/
DelegateCouplingState.scala (``couplingState``), order/OrderTest.scala
(``Order``: its ``state``, ``attachedState``, ``isSuspended``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.agent_commands import (
    Attached,
    Fresh,
    HistoricOutcome,
    OrderMark,
    Ready,
    WorkflowPosition,
)
from components.wire.cluster import ClusterState
from components.wire.events import ForkedChild, SleepInstruction, Throttle
from components.wire.items import VersionAdded, VersionedItemAdded, VersionedItemRemoved
from components.wire.lock import LockState
from components.wire.notice import ExpectingNotices, GlobalBoard, Notice, PlanSnapshot
from components.wire.subagent import SubagentBundle


class SnapshotEventId(msgspec.Struct, tag_field="TYPE", tag="SnapshotEventId", kw_only=True):
    eventId: int


class ClusterStateSnapshot(
    msgspec.Struct, tag_field="TYPE", tag="ClusterStateSnapshot", kw_only=True
):
    clusterState: ClusterState


# -- an Agent as the Controller sees it ----------------------------------------


class ResetFresh(msgspec.Struct, tag_field="TYPE", tag="Fresh"):
    pass


class ResetCommand(msgspec.Struct, tag_field="TYPE", tag="ResetCommand"):
    pass


class ResetShutdown(msgspec.Struct, tag_field="TYPE", tag="Shutdown"):
    pass


class ResetRestart(msgspec.Struct, tag_field="TYPE", tag="Restart"):
    pass


class DelegateReset(msgspec.Struct, tag_field="TYPE", tag="Reset", kw_only=True):
    reason: ResetFresh | ResetCommand | ResetShutdown | ResetRestart


class DelegateCoupled(msgspec.Struct, tag_field="TYPE", tag="Coupled"):
    pass


class DelegateShutdownStarted(msgspec.Struct, tag_field="TYPE", tag="ShutdownStarted"):
    pass


class DelegateShutDown(msgspec.Struct, tag_field="TYPE", tag="ShutDown"):
    pass


class DelegateResetting(msgspec.Struct, tag_field="TYPE", tag="Resetting", kw_only=True):
    force: bool = False


DelegateCouplingState = (
    DelegateReset | DelegateCoupled | DelegateShutdownStarted | DelegateShutDown | DelegateResetting
)


class AgentRef(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``uri``: JS7 2.1's form (one Director), which JS7 still reads and the
    reference writes, its Agents having no Subagents yet."""

    path: str
    directors: list[str] | UnsetType = UNSET
    uri: str | UnsetType = UNSET
    requireFailoverConfirmation: bool | UnsetType = UNSET
    itemRevision: int | UnsetType = UNSET


class ProblemJson(msgspec.Struct, kw_only=True):
    """A problem inside a state object (JS7's ``Problem`` codec: ``message``)."""

    message: str


class AgentRefState(msgspec.Struct, tag_field="TYPE", tag="AgentRefState", kw_only=True):
    agentRef: AgentRef
    agentRunId: str | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    couplingState: DelegateCouplingState
    eventId: int
    problem: ProblemJson | UnsetType = UNSET
    clusterState: ClusterState | UnsetType = UNSET


class SubagentItemInState(msgspec.Struct, kw_only=True):
    """A ``SubagentItem`` inside its state (no TYPE there)."""

    id: str
    agentPath: str
    uri: str
    disabled: bool = False
    itemRevision: int | UnsetType = UNSET


class SubagentItemState(msgspec.Struct, tag_field="TYPE", tag="SubagentItemState", kw_only=True):
    """js7-data/.../subagent/SubagentItemStateTest.scala L30-96: the
    Controller's view of a Subagent, from its Director's events."""

    subagentItem: SubagentItemInState
    subagentRunId: str | UnsetType = UNSET
    couplingState: DelegateCouplingState
    isDetaching: bool | UnsetType = UNSET
    isResettingForcibly: bool | UnsetType = UNSET
    eventId: int
    problem: ProblemJson | UnsetType = UNSET
    platformInfo: dict[str, Any] | UnsetType = UNSET


# -- orders --------------------------------------------------------------------


class Processing(msgspec.Struct, tag_field="TYPE", tag="Processing", kw_only=True):
    subagentId: str | UnsetType = UNSET


class Processed(msgspec.Struct, tag_field="TYPE", tag="Processed"):
    pass


class Finished(msgspec.Struct, tag_field="TYPE", tag="Finished"):
    pass


class Cancelled(msgspec.Struct, tag_field="TYPE", tag="Cancelled"):
    pass


class Failed(msgspec.Struct, tag_field="TYPE", tag="Failed"):
    pass


class DelayingRetry(msgspec.Struct, tag_field="TYPE", tag="DelayingRetry", kw_only=True):
    until: int


class Sleeping(msgspec.Struct, tag_field="TYPE", tag="Sleeping", kw_only=True):
    """JS7 2.8 writes ``until`` only; 2.9 adds ``cause``."""

    until: int
    cause: SleepInstruction | Throttle | UnsetType = UNSET


class Prompting(msgspec.Struct, tag_field="TYPE", tag="Prompting", kw_only=True):
    question: Any


class Forked(msgspec.Struct, tag_field="TYPE", tag="Forked", kw_only=True):
    """A parent waiting for its children (OrderTest.scala:317-332)."""

    children: list[ForkedChild]


class WaitingForLock(msgspec.Struct, tag_field="TYPE", tag="WaitingForLock"):
    """Queued for a Lock (OrderTest.scala:352-356)."""


class FailedInFork(msgspec.Struct, tag_field="TYPE", tag="FailedInFork"):
    """A child failed in its branch, joinable (Order.scala:1461)."""


OrderState = (
    Fresh
    | Ready
    | Processing
    | Processed
    | DelayingRetry
    | Sleeping
    | Prompting
    | Forked
    | FailedInFork
    | WaitingForLock
    | ExpectingNotices
    | Finished
    | Cancelled
    | Failed
)


class Attaching(msgspec.Struct, tag_field="TYPE", tag="Attaching", kw_only=True):
    agentPath: str


class Detaching(msgspec.Struct, tag_field="TYPE", tag="Detaching", kw_only=True):
    agentPath: str


class Order(msgspec.Struct, tag_field="TYPE", tag="Order", kw_only=True, omit_defaults=True):
    """An order in the snapshot (the fields the reference writes; JS7's
    others are accepted and ignored on reading, as circe does)."""

    id: str
    workflowPosition: WorkflowPosition
    state: OrderState
    arguments: dict[str, Any] | UnsetType = UNSET
    scheduledFor: int | UnsetType = UNSET
    historicOutcomes: list[HistoricOutcome] | UnsetType = UNSET
    attachedState: Attaching | Attached | Detaching | UnsetType = UNSET
    mark: OrderMark | UnsetType = UNSET
    isSuspended: bool = False
    deleteWhenTerminated: bool = False
    parent: str | UnsetType = UNSET  # a Fork's child (OrderTest.scala:134)


SnapshotObject = (
    SnapshotEventId
    | ClusterStateSnapshot
    | AgentRefState
    | SubagentItemState
    | SubagentBundle
    | VersionAdded
    | VersionedItemAdded
    | VersionedItemRemoved
    | LockState
    | PlanSnapshot
    | Notice
    | GlobalBoard
    | Order
)
