"""Controller commands and their responses: ``POST /controller/api/command``.

Sources (sos-berlin/js7, js7-data/shared/src/test/scala/js7/data/):
controller/ControllerCommandTest.scala (every command below, ``Accepted``,
``AddOrder.Response``, ``BatchResponse``), order/FreshOrderTest.scala
(``FreshOrder``), order/CancellationModeTest / SuspensionMode as used there.

The reference executes every command modelled here. A JS7 command it does
not execute (``PostNotice``, ``TransferOrders``, …) is an unknown ``TYPE`` to
it and refused as JS7 refuses one.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.notice import DeleteNotice, PostNotice

# -- orders ------------------------------------------------------------------


class FreshOrder(msgspec.Struct, kw_only=True):
    """An order to add. ``scheduledFor``: epoch milliseconds. The reference
    refuses ``startPosition``, ``stopPositions`` and ``innerBlock`` (it starts
    every order at the workflow's first instruction). JS7 encodes ``planId``
    always and every other optional field only when set (``UNSET`` here)."""

    id: str
    workflowPath: str
    planId: list[str] = msgspec.field(default_factory=list)
    arguments: dict[str, Any] | UnsetType = UNSET
    scheduledFor: int | UnsetType = UNSET
    priority: float | UnsetType = UNSET
    deleteWhenTerminated: bool | UnsetType = UNSET
    forceAdmission: bool | UnsetType = UNSET
    forceJobAdmission: bool | UnsetType = UNSET  # the decoder's older name of forceAdmission
    innerBlock: list[Any] | UnsetType = UNSET
    startPosition: list[Any] | UnsetType = UNSET
    stopPositions: list[Any] | UnsetType = UNSET


class Kill(msgspec.Struct, kw_only=True):
    """Kill the running job process: SIGTERM first, unless ``immediately``.
    (JS7 encodes ``immediately`` always, ``workflowPosition`` when set.)"""

    immediately: bool = False
    workflowPosition: dict[str, Any] | UnsetType = UNSET


class FreshOnly(msgspec.Struct, tag_field="TYPE", tag="FreshOnly"):
    """Cancel only orders that have not started."""


class FreshOrStarted(msgspec.Struct, tag_field="TYPE", tag="FreshOrStarted", kw_only=True):
    kill: Kill | UnsetType = UNSET


CancellationMode = FreshOnly | FreshOrStarted


class SuspensionMode(msgspec.Struct, kw_only=True):
    """(JS7 encodes ``resetState`` always, ``kill`` when set.)"""

    resetState: bool = False
    kill: Kill | UnsetType = UNSET


# -- commands ----------------------------------------------------------------


class _Command(msgspec.Struct, tag_field="TYPE", kw_only=True, omit_defaults=True):
    """``correlId`` may accompany any command (JS7 logs it)."""

    correlId: str | None = None


class AddOrder(_Command, tag="AddOrder"):
    order: FreshOrder


class CancelOrders(_Command, tag="CancelOrders"):
    """``orderIds``: a list (JS7 also takes a function expression, which the
    reference refuses)."""

    orderIds: list[str] | str
    mode: CancellationMode | UnsetType = UNSET  # absent: FreshOrStarted()


class SuspendOrders(_Command, tag="SuspendOrders"):
    orderIds: list[str]
    mode: SuspensionMode | UnsetType = UNSET  # absent: SuspensionMode()


class ResumeOrders(_Command, tag="ResumeOrders"):
    orderIds: list[str]
    asSucceeded: bool = False
    restartKilledJob: bool | None = None


class ResumeOrder(_Command, tag="ResumeOrder"):
    """The reference resumes at the order's own position: ``position`` and
    ``historyOperations`` are refused."""

    orderId: str
    position: list[Any] | None = None
    historyOperations: list[Any] = msgspec.field(default_factory=list)
    asSucceeded: bool = False
    restartKilledJob: bool | None = None


class AnswerOrderPrompt(_Command, tag="AnswerOrderPrompt"):
    orderId: str


class DeleteOrdersWhenTerminated(_Command, tag="DeleteOrdersWhenTerminated"):
    orderIds: list[str]


class ReleaseEvents(_Command, tag="ReleaseEvents"):
    untilEventId: int


class NoOperation(_Command, tag="NoOperation"):
    """``duration``: seconds to wait before answering."""

    duration: float | None = None


class TakeSnapshot(_Command, tag="TakeSnapshot"):
    pass


class EmergencyStop(_Command, tag="EmergencyStop"):
    restart: bool = False


class Switchover(msgspec.Struct, tag_field="TYPE", tag="Switchover"):
    pass


class Failover(msgspec.Struct, tag_field="TYPE", tag="Failover"):
    pass


class ShutDown(_Command, tag="ShutDown"):
    restart: bool = False
    clusterAction: Switchover | Failover | None = None
    suppressSnapshot: bool = False
    dontNotifyActiveNode: bool = False


class ClusterSwitchOver(_Command, tag="ClusterSwitchOver"):
    """``agentPath``: switch over that Agent's Director pair, else the
    Controller cluster (ControllerCommandTest.scala L563-583)."""

    agentPath: str | None = None


class ConfirmClusterNodeLoss(_Command, tag="ConfirmClusterNodeLoss"):
    """The user vouches that ``lostNodeId`` of Agent ``agentPath``'s Director
    pair is gone: the Controller, its Cluster Watch, may consent to the
    fail-over it could not judge (ControllerCommandTest.scala L563-583)."""

    agentPath: str
    lostNodeId: str
    confirmer: str | None = None


class Batch(_Command, tag="Batch"):
    """The sub-commands stay raw JSON here and are decoded one by one: a
    malformed one gets its own problem in ``BatchResponse`` and does not
    refuse its siblings (JS7 decodes the whole batch; the reference is more
    forgiving, never stricter)."""

    commands: list[Any]


class ResetSubagent(_Command, tag="ResetSubagent"):
    """ControllerCommand.scala L367: the Subagent's processes count as lost
    and run again elsewhere (the user vouches they do not run any more)."""

    subagentId: str
    force: bool = False


ControllerCommand = (
    AddOrder
    | CancelOrders
    | SuspendOrders
    | ResumeOrders
    | ResumeOrder
    | AnswerOrderPrompt
    | DeleteOrdersWhenTerminated
    | ReleaseEvents
    | NoOperation
    | TakeSnapshot
    | EmergencyStop
    | ShutDown
    | ClusterSwitchOver
    | ConfirmClusterNodeLoss
    | ResetSubagent
    | PostNotice
    | DeleteNotice
    | Batch
)

# -- responses ---------------------------------------------------------------


class Accepted(msgspec.Struct, tag_field="TYPE", tag="Accepted"):
    pass


class AddOrderResponse(msgspec.Struct, tag_field="TYPE", tag="AddOrder.Response", kw_only=True):
    """``ignoredBecauseDuplicate``: an order of that id exists already; JS7
    answers this (not a problem), which makes AddOrder safe to repeat."""

    ignoredBecauseDuplicate: bool


class BatchResponse(msgspec.Struct, tag_field="TYPE", tag="BatchResponse", kw_only=True):
    """One response per sub-command, in order: a response or a problem."""

    responses: list[Any]
