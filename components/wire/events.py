"""The events the reference writes, as JS7 2.8 encodes them.

A journal line is a ``Stamped`` ``KeyedEvent``: ``eventId``, ``timestamp``
(epoch ms), ``Key`` (the order id, the Agent path; absent for ``NoKey``
events) beside the event's own fields, which are modelled here. The structs
forbid unknown fields: an event the reference writes must carry JS7's fields
and no others.

Sources (sos-berlin/js7, js7-data/shared/src/test/scala/js7/data/):
order/OrderEventTest.scala, order/OrderOutcomeTest.scala,
controller/ControllerEventTest.scala, cluster/ClusterEventTest.scala,
agent/AgentRefStateEventTest.scala, item/VersionedEventTest.scala,
item/BasicItemEventTest.scala, event/JournalEventTest.scala; and
js7-agent-data/shared/src/test/scala/js7/agent/data/event/AgentEventTest.scala.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.agent_commands import HistoricOutcome, OrderMark, WorkflowId, WorkflowPosition
from components.wire.cluster import ClusterSetting, JournalPosition
from components.wire.controller_commands import CancellationMode, SuspensionMode
from components.wire.items import SignedString
from components.wire.lock import LockDemand
from components.wire.notice import (
    NoticeDeleted,
    NoticePosted,
    OrderNoticePosted,
    OrderNoticesExpected,
    OrderNoticesRead,
)


class _Event(msgspec.Struct, tag_field="TYPE", kw_only=True, forbid_unknown_fields=True):
    pass


# -- outcomes (OrderOutcomeTest.scala) ----------------------------------------


class _Outcome(msgspec.Struct, tag_field="TYPE", kw_only=True, forbid_unknown_fields=True):
    pass


class Succeeded(_Outcome, tag="Succeeded"):
    namedValues: dict[str, Any] | UnsetType = UNSET


class Failed(_Outcome, tag="Failed"):
    namedValues: dict[str, Any] | UnsetType = UNSET
    message: str | UnsetType = UNSET
    uncatchable: bool | UnsetType = UNSET


class Problem(msgspec.Struct, kw_only=True):
    message: str
    code: str | UnsetType = UNSET
    arguments: dict[str, Any] | UnsetType = UNSET


class ProcessLost(msgspec.Struct, tag_field="TYPE", tag="ProcessLost", kw_only=True):
    problem: Problem | UnsetType = UNSET


class Other(msgspec.Struct, tag_field="TYPE", tag="Other", kw_only=True):
    problem: Problem


class Disrupted(_Outcome, tag="Disrupted"):
    reason: ProcessLost | Other
    uncatchable: bool | UnsetType = UNSET


Outcome = Succeeded | Failed | Disrupted

# -- order events (OrderEventTest.scala) --------------------------------------


class OrderAdded(_Event, tag="OrderAdded"):
    workflowId: WorkflowId
    scheduledFor: int | UnsetType = UNSET
    arguments: dict[str, Any] | UnsetType = UNSET
    planId: list[str] | UnsetType = UNSET
    deleteWhenTerminated: bool | UnsetType = UNSET


class OrderAttachable(_Event, tag="OrderAttachable"):
    agentPath: str


class OrderAttached(_Event, tag="OrderAttached"):
    agentPath: str


class OrderAttachedToAgent(_Event, tag="OrderAttachedToAgent"):
    workflowPosition: WorkflowPosition
    state: dict[str, Any]
    agentPath: str
    arguments: dict[str, Any] | UnsetType = UNSET
    scheduledFor: int | UnsetType = UNSET
    historicOutcomes: list[HistoricOutcome] | UnsetType = UNSET
    mark: OrderMark | UnsetType = UNSET


class OrderStarted(_Event, tag="OrderStarted"):
    pass


class OrderProcessingStarted(_Event, tag="OrderProcessingStarted"):
    """``subagentBundleId`` only when it differs from ``subagentId``
    (SubagentKeeper.scala L235-239; OrderEventTest.scala L271-297)."""

    subagentId: str | UnsetType = UNSET
    subagentBundleId: str | UnsetType = UNSET
    stick: bool = False
    endOfAdmissionPeriod: int | UnsetType = UNSET


class OrderStdoutWritten(_Event, tag="OrderStdoutWritten"):
    chunk: str


class OrderStderrWritten(_Event, tag="OrderStderrWritten"):
    chunk: str


class OrderProcessed(_Event, tag="OrderProcessed"):
    outcome: Outcome


class NoNotice(msgspec.Struct, tag_field="TYPE", tag="NoNotice"):
    """Why ExpectNotices let the order go on without its Notices
    (OrderEventTest.scala:503-509)."""


class OrderMoved(_Event, tag="OrderMoved"):
    to: list[Any]
    reason: NoNotice | UnsetType = UNSET


class OrderDetachable(_Event, tag="OrderDetachable"):
    pass


class OrderDetached(_Event, tag="OrderDetached"):
    pass


class OrderFinished(_Event, tag="OrderFinished"):
    outcome: Outcome | UnsetType = UNSET


class OrderFailed(_Event, tag="OrderFailed"):
    movedTo: list[Any]
    outcome: Outcome | UnsetType = UNSET


class OrderFailedInFork(_Event, tag="OrderFailedInFork"):
    """A Fork's child failed in its branch, with the Fork's ``joinIfFailed``
    (OrderEventTest.scala:434-457; ``outcome`` is deprecated, not written)."""

    movedTo: list[Any]
    outcome: Outcome | UnsetType = UNSET


class ForkedChild(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A Fork's child names its ``branchId``; a ForkList's its own
    ``arguments`` (OrderEvent.scala OrderForked.Child, v2.8.0: absent when
    none)."""

    orderId: str
    arguments: dict[str, Any] | UnsetType = UNSET
    branchId: str | UnsetType = UNSET


class OrderForked(_Event, tag="OrderForked"):
    """The children a Fork creates, one per branch (OrderEventTest.scala:473-488),
    or a ForkList, one per element of its list."""

    children: list[ForkedChild]


class OrderJoined(_Event, tag="OrderJoined"):
    """All children joined; the parent is Processed (OrderEventTest.scala:490-497)."""

    outcome: Outcome


class OrderLocksAcquired(_Event, tag="OrderLocksAcquired"):
    """Into the lock block holding the Locks (OrderEventTest.scala:752-760)."""

    demands: list[LockDemand]


class OrderLocksQueued(_Event, tag="OrderLocksQueued"):
    """Waiting for the Locks (OrderEventTest.scala:800-810)."""

    demands: list[LockDemand]


class OrderLocksReleased(_Event, tag="OrderLocksReleased"):
    """Out of the lock block, the Locks given back (OrderEventTest.scala:874-879)."""

    lockPaths: list[str]


class OrderOutcomeAdded(_Event, tag="OrderOutcomeAdded"):
    """JS7 >= 2.5 writes a Fail instruction's outcome (or a problem) so,
    before ``OrderCaught``/``OrderFailed`` (OrderEvent.scala:574)."""

    outcome: Outcome


class OrderCaught(_Event, tag="OrderCaught"):
    movedTo: list[Any]
    outcome: Outcome | UnsetType = UNSET


class OrderRetrying(_Event, tag="OrderRetrying"):
    delayedUntil: int | UnsetType = UNSET
    movedTo: list[Any] | UnsetType = UNSET


class OrderAwoke(_Event, tag="OrderAwoke"):
    pass


class SleepInstruction(msgspec.Struct, tag_field="TYPE", tag="SleepInstruction"):
    """JS7 2.9's ``OrderSleeping.Cause`` of a ``Sleep`` instruction."""


class Throttle(msgspec.Struct, tag_field="TYPE", tag="Throttle"):
    """JS7 2.9's ``OrderSleeping.Cause`` of a throttled order."""


class OrderSleeping(_Event, tag="OrderSleeping"):
    """JS7 2.8 writes ``until`` only; 2.9 adds ``cause``."""

    until: int
    cause: SleepInstruction | Throttle | UnsetType = UNSET


class OrderPrompted(_Event, tag="OrderPrompted"):
    question: Any


class OrderPromptAnswered(_Event, tag="OrderPromptAnswered"):
    pass


class OrderCancelled(_Event, tag="OrderCancelled"):
    pass


class OrderDeletionMarked(_Event, tag="OrderDeletionMarked"):
    pass


class OrderDeleted(_Event, tag="OrderDeleted"):
    pass


class OrderCancellationMarked(_Event, tag="OrderCancellationMarked"):
    mode: CancellationMode | UnsetType = UNSET


class OrderCancellationMarkedOnAgent(_Event, tag="OrderCancellationMarkedOnAgent"):
    pass


class OrderSuspensionMarked(_Event, tag="OrderSuspensionMarked"):
    mode: SuspensionMode | UnsetType = UNSET


class OrderSuspensionMarkedOnAgent(_Event, tag="OrderSuspensionMarkedOnAgent"):
    pass


class OrderSuspended(_Event, tag="OrderSuspended"):
    pass


class OrderResumptionMarked(_Event, tag="OrderResumptionMarked"):
    position: list[Any] | UnsetType = UNSET
    historyOperations: list[Any] | UnsetType = UNSET
    asSucceeded: bool | UnsetType = UNSET
    restartKilledJob: bool | UnsetType = UNSET


class OrderResumed(_Event, tag="OrderResumed"):
    position: list[Any] | UnsetType = UNSET
    historyOperations: list[Any] | UnsetType = UNSET
    asSucceeded: bool | UnsetType = UNSET
    restartKilledJob: bool | UnsetType = UNSET


OrderEvent = (
    OrderAdded
    | OrderAttachable
    | OrderAttached
    | OrderAttachedToAgent
    | OrderStarted
    | OrderProcessingStarted
    | OrderStdoutWritten
    | OrderStderrWritten
    | OrderProcessed
    | OrderMoved
    | OrderDetachable
    | OrderDetached
    | OrderFinished
    | OrderFailed
    | OrderFailedInFork
    | OrderForked
    | OrderJoined
    | OrderLocksAcquired
    | OrderLocksQueued
    | OrderLocksReleased
    | OrderOutcomeAdded
    | OrderCaught
    | OrderRetrying
    | OrderAwoke
    | OrderSleeping
    | OrderPrompted
    | OrderPromptAnswered
    | OrderCancelled
    | OrderDeletionMarked
    | OrderDeleted
    | OrderCancellationMarked
    | OrderCancellationMarkedOnAgent
    | OrderSuspensionMarked
    | OrderSuspensionMarkedOnAgent
    | OrderSuspended
    | OrderResumptionMarked
    | OrderResumed
)

# -- Controller, cluster, journal, items --------------------------------------


class ControllerInitialized(_Event, tag="ControllerInitialized"):
    controllerId: str
    initiallyStartedAt: int


class ControllerReady(_Event, tag="ControllerReady"):
    timezone: str
    totalRunningTime: float


class ClusterNodesAppointed(_Event, tag="ClusterNodesAppointed"):
    setting: ClusterSetting


class ClusterCouplingPrepared(_Event, tag="ClusterCouplingPrepared"):
    activeId: str


class ClusterCoupled(_Event, tag="ClusterCoupled"):
    activeId: str


class ClusterSwitchedOver(_Event, tag="ClusterSwitchedOver"):
    activatedId: str


class ClusterFailedOver(_Event, tag="ClusterFailedOver"):
    failedActiveId: str
    activatedId: str
    failedAt: JournalPosition


class ClusterPassiveLost(_Event, tag="ClusterPassiveLost"):
    id: str


class ClusterActiveNodeShutDown(_Event, tag="ClusterActiveNodeShutDown"):
    pass


class ClusterActiveNodeRestarted(_Event, tag="ClusterActiveNodeRestarted"):
    pass


class ClusterWatchRegistered(_Event, tag="ClusterWatchRegistered"):
    clusterWatchId: str


ClusterEvent = (
    ClusterNodesAppointed
    | ClusterCouplingPrepared
    | ClusterCoupled
    | ClusterSwitchedOver
    | ClusterFailedOver
    | ClusterPassiveLost
    | ClusterActiveNodeShutDown
    | ClusterActiveNodeRestarted
    | ClusterWatchRegistered
)


class JournalEventsReleased(_Event, tag="JournalEventsReleased"):
    userId: str
    untilEventId: int


class SnapshotTaken(_Event, tag="SnapshotTaken"):
    pass


class VersionAdded(_Event, tag="VersionAdded"):
    versionId: str


class VersionedItemAdded(_Event, tag="VersionedItemAdded"):
    signed: SignedString


class VersionedItemChanged(_Event, tag="VersionedItemChanged"):
    signed: SignedString


class AgentRefDedicated(_Event, tag="AgentDedicated"):
    """The Controller's event about an Agent (``Key``: the Agent's path)."""

    agentRunId: str
    agentEventId: int | UnsetType = UNSET


class AgentEventsObserved(_Event, tag="AgentEventsObserved"):
    untilEventId: int


class AgentMirroredEvent(_Event, tag="AgentMirroredEvent"):
    """A Director pair's ``ClusterEvent`` in the Controller's journal
    (AgentRefStateEvent.scala; ``Key``: the Agent's path)."""

    event: ClusterEvent


class ClusterNodeLossNotConfirmedProblem(
    msgspec.Struct,
    tag_field="TYPE",
    tag="ClusterNodeLossNotConfirmedProblem",
    kw_only=True,
    forbid_unknown_fields=True,
):
    """ClusterWatchProblems.scala: the Watch could not judge a node's loss."""

    fromNodeId: str
    event: ClusterFailedOver | ClusterPassiveLost


class AgentClusterWatchConfirmationRequired(_Event, tag="AgentClusterWatchConfirmationRequired"):
    problem: ClusterNodeLossNotConfirmedProblem


class AgentClusterWatchManuallyConfirmed(_Event, tag="AgentClusterWatchManuallyConfirmed"):
    pass


class UnsignedSimpleItemAdded(_Event, tag="UnsignedSimpleItemAdded"):
    """An item without signature (here: SubagentItem, SubagentBundle,
    AgentRef), kept raw: ``components.wire.subagent`` owns their shapes."""

    item: dict[str, Any]


class UnsignedSimpleItemChanged(_Event, tag="UnsignedSimpleItemChanged"):
    item: dict[str, Any]


# -- a Subagent as its Director and the Controller see it (Key: SubagentId;
# SubagentItemStateEventTest.scala) -------------------------------------------


class SubagentDedicated(_Event, tag="SubagentDedicated"):
    subagentRunId: str
    platformInfo: dict[str, Any] | UnsetType = UNSET


class SubagentCoupled(_Event, tag="SubagentCoupled"):
    pass


class ProblemMessage(msgspec.Struct, kw_only=True):
    message: str
    code: str | UnsetType = UNSET


class SubagentCouplingFailed(_Event, tag="SubagentCouplingFailed"):
    problem: ProblemMessage


class SubagentEventsObserved(_Event, tag="SubagentEventsObserved"):
    untilEventId: int


class SubagentRestarted(_Event, tag="SubagentRestarted"):
    pass


class SubagentShutdownStarted(_Event, tag="SubagentShutdownStarted"):
    pass


class SubagentShutdown2(_Event, tag="SubagentShutdown2"):
    pass


class SubagentResetStartedByController(_Event, tag="SubagentResetStartedByController"):
    force: bool


class SubagentResetStarted(_Event, tag="SubagentResetStarted"):
    force: bool


class SubagentReset(_Event, tag="SubagentReset"):
    pass


SubagentItemStateEvent = (
    SubagentDedicated
    | SubagentCoupled
    | SubagentCouplingFailed
    | SubagentEventsObserved
    | SubagentRestarted
    | SubagentShutdownStarted
    | SubagentShutdown2
    | SubagentResetStartedByController
    | SubagentResetStarted
    | SubagentReset
)


ControllerEvent = (
    OrderEvent
    | ControllerInitialized
    | ControllerReady
    | ClusterEvent
    | JournalEventsReleased
    | SnapshotTaken
    | VersionAdded
    | VersionedItemAdded
    | VersionedItemChanged
    | AgentRefDedicated
    | AgentEventsObserved
    | AgentMirroredEvent
    | AgentClusterWatchConfirmationRequired
    | AgentClusterWatchManuallyConfirmed
    | UnsignedSimpleItemAdded
    | UnsignedSimpleItemChanged
    | SubagentItemStateEvent
    | OrderNoticePosted
    | OrderNoticesExpected
    | OrderNoticesRead
    | NoticePosted
    | NoticeDeleted
)

# -- the Agent's own journal --------------------------------------------------


class AgentDedicated(_Event, tag="AgentDedicated"):
    """The Agent's event (AgentEventTest.scala)."""

    agentPath: str
    agentRunId: str
    controllerId: str
    directors: list[str] | UnsetType = UNSET
    controllerRunId: str | UnsetType = UNSET


class SignedItemAttachedToMe(_Event, tag="SignedItemAttachedToMe"):
    signed: SignedString
    itemRevision: int | UnsetType = UNSET


class ItemDetached(_Event, tag="ItemDetached"):
    key: str
    delegateId: str


class ItemAttachedToMe(_Event, tag="ItemAttachedToMe"):
    """BasicItemEventTest.scala L73: an unsigned item attached to the Agent."""

    item: dict[str, Any]


AgentEvent = (
    OrderEvent
    | AgentDedicated
    | SignedItemAttachedToMe
    | ItemAttachedToMe
    | ItemDetached
    | JournalEventsReleased
    | SubagentItemStateEvent  # the Director's (all but SubagentResetStartedByController)
    | ClusterEvent  # a Director pair's (AgentClusterTest: the Agent's journal holds them)
)


# -- the Subagent's own journal (SubagentEventTest.scala; SubagentState.scala
# L75-82): its orders' events and its shutdown (NoKey) ------------------------


class SubagentShutdown(_Event, tag="SubagentShutdown"):
    pass


SubagentEvent = OrderEvent | SubagentShutdownStarted | SubagentShutdown

ENVELOPE = ("eventId", "timestamp", "Key")


def event_body(stamped: dict[str, Any]) -> dict[str, Any]:
    """A journal line without its ``Stamped``/``KeyedEvent`` envelope."""
    return {k: v for k, v in stamped.items() if k not in ENVELOPE}
