"""Agent commands and their responses: ``POST /agent/api/command``, and the
order as the Controller attaches it.

Sources (sos-berlin/js7): js7-agent-data/shared/src/test/scala/js7/agent/
data/commands/AgentCommandTest.scala (every command below and its response),
js7-data/shared/src/test/scala/js7/data/order/OrderMarkTest.scala (the
marks), OrderEventTest.scala (``OrderAttachedToAgent``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.controller_commands import CancellationMode, SuspensionMode
from components.wire.items import SignedString

# -- orders ------------------------------------------------------------------


class WorkflowId(msgspec.Struct, kw_only=True):
    path: str
    versionId: str


class WorkflowPosition(msgspec.Struct, kw_only=True):
    workflowId: WorkflowId
    position: list[Any]


class Fresh(msgspec.Struct, tag_field="TYPE", tag="Fresh"):
    pass


class Ready(msgspec.Struct, tag_field="TYPE", tag="Ready"):
    pass


class Attached(msgspec.Struct, tag_field="TYPE", tag="Attached", kw_only=True):
    agentPath: str


class Cancelling(msgspec.Struct, tag_field="TYPE", tag="Cancelling", kw_only=True):
    mode: CancellationMode


class Suspending(msgspec.Struct, tag_field="TYPE", tag="Suspending", kw_only=True):
    mode: SuspensionMode = msgspec.field(default_factory=SuspensionMode)


class Resuming(msgspec.Struct, tag_field="TYPE", tag="Resuming", kw_only=True):
    """The reference resumes at the order's own position: ``position`` and
    ``historicOperations`` are refused by the Agent."""

    position: list[Any] | UnsetType = UNSET
    historicOperations: list[Any] = msgspec.field(default_factory=list)
    asSucceeded: bool | UnsetType = UNSET
    restartKilledJob: bool | UnsetType = UNSET


OrderMark = Cancelling | Suspending | Resuming


class HistoricOutcome(msgspec.Struct, kw_only=True):
    """What an order's step or failure brought (OrderTest.scala:119-129)."""

    position: list[Any]
    outcome: dict[str, Any]


class Order(msgspec.Struct, kw_only=True):
    """An order as ``AttachOrder`` carries it (the fields the reference
    reads; JS7's others are accepted and ignored, as circe does)."""

    id: str
    workflowPosition: WorkflowPosition
    state: Fresh | Ready
    arguments: dict[str, Any] | UnsetType = UNSET
    scheduledFor: int | UnsetType = UNSET
    historicOutcomes: list[HistoricOutcome] | UnsetType = UNSET
    attachedState: Attached | UnsetType = UNSET
    mark: OrderMark | UnsetType = UNSET
    deleteWhenTerminated: bool | UnsetType = UNSET
    parent: str | UnsetType = UNSET  # a Fork's child: its parent's id (OrderTest.scala:134)


# -- commands ----------------------------------------------------------------


class _Command(msgspec.Struct, tag_field="TYPE", kw_only=True, omit_defaults=True):
    correlId: str | None = None


class DedicateAgentDirector(_Command, tag="DedicateAgentDirector"):
    """``subagentId``: the decoder's older form of ``directors``."""

    agentPath: str
    controllerId: str
    controllerRunId: str
    directors: list[str] = msgspec.field(default_factory=list)
    subagentId: str | None = None


class CoupleController(_Command, tag="CoupleController"):
    agentPath: str
    agentRunId: str
    controllerRunId: str
    eventId: int


class AttachSignedItem(_Command, tag="AttachSignedItem"):
    signed: SignedString
    itemRevision: int | None = None


class AttachItem(_Command, tag="AttachItem"):
    """An unsigned simple item (AgentCommandTest.scala "AttachItem"); kept raw
    here, the Agent decodes it as one of ``components.wire.subagent.SimpleItem``."""

    item: dict[str, Any]


class DetachItem(_Command, tag="DetachItem"):
    key: str


class AttachOrder(_Command, tag="AttachOrder"):
    order: Order


class DetachOrder(_Command, tag="DetachOrder"):
    orderId: str


class MarkOrder(_Command, tag="MarkOrder"):
    orderId: str
    mark: OrderMark


class ResetSubagent(msgspec.Struct, tag_field="TYPE", tag="ResetSubagent", kw_only=True):
    """AgentCommandTest.scala L300 (``force`` always written)."""

    subagentId: str
    force: bool = False
    correlId: str | UnsetType = UNSET


class ReleaseEvents(_Command, tag="ReleaseEvents"):
    untilEventId: int


class NoOperation(_Command, tag="NoOperation"):
    pass


class EmergencyStop(_Command, tag="EmergencyStop"):
    restart: bool = False


class ShutDown(msgspec.Struct, tag_field="TYPE", tag="ShutDown", kw_only=True):
    """(JS7 encodes the three flags always, ``processSignal`` when set.)"""

    processSignal: str | UnsetType = UNSET
    suppressSnapshot: bool = False
    restart: bool = False
    restartDirector: bool = False
    correlId: str | UnsetType = UNSET


class Batch(_Command, tag="Batch"):
    """Sub-commands stay raw and are decoded one by one (see the
    Controller's ``Batch``)."""

    commands: list[Any]


class ClusterSwitchOver(_Command, tag="ClusterSwitchOver"):
    """The Controller hands a Director pair's active role to the passive
    Director (AgentCommand.scala L262-264: a case object)."""


class ConfirmClusterNodeLoss(_Command, tag="ConfirmClusterNodeLoss"):
    """reference-only on the Agent: the reference's Cluster Watch runs in an
    Agent, and a user confirms a lost Controller node to it. (JS7's command
    of this name is a Controller command about an Agent cluster.)"""

    lostNodeId: str
    agentPath: str | None = None
    confirmer: str | None = None


AgentCommand = (
    DedicateAgentDirector
    | CoupleController
    | AttachSignedItem
    | AttachItem
    | DetachItem
    | AttachOrder
    | DetachOrder
    | MarkOrder
    | ReleaseEvents
    | ResetSubagent
    | NoOperation
    | EmergencyStop
    | ShutDown
    | Batch
    | ClusterSwitchOver
    | ConfirmClusterNodeLoss
)

# -- responses ---------------------------------------------------------------


class DedicateAgentDirectorResponse(
    msgspec.Struct, tag_field="TYPE", tag="DedicateAgentDirector.Response", kw_only=True
):
    agentRunId: str
    agentEventId: int


class CoupleControllerResponse(
    msgspec.Struct, tag_field="TYPE", tag="CoupleController.Response", kw_only=True
):
    orderIds: list[str]


class BatchResponse(msgspec.Struct, tag_field="TYPE", tag="Batch.Response", kw_only=True):
    responses: list[Any]
