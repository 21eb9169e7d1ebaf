"""Subagents on the wire: the items (``SubagentItem``, ``SubagentBundle``,
``AgentRef`` with its ``directors``) and the Director → Subagent commands of
``POST /subagent/api/command``.

Sources (sos-berlin/js7): js7-data/shared/src/test/scala/js7/data/subagent/
SubagentItemTest.scala, SubagentBundleTest.scala, SubagentCommandTest.scala;
js7-data/.../agent/AgentRefTest.scala; js7-agent-data/.../AgentCommandTest.scala
("AttachItem"). A ``Batch``'s commands are the plain commands, each with an
optional ``correlId`` (js7-base/.../log/CorrelIdWrapped.scala).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.agent_commands import WorkflowPosition
from components.wire.items import SignedString

# Reference-only problem code (JS7's Subagent has no such fence): a
# StartOrderProcess on a session that a later CoupleDirector superseded is
# refused, so that a replaced Director's request, delivered late, cannot run
# a job the new active Director already saw end (components/subagent).
SESSION_SUPERSEDED = "DirectorSessionSuperseded"

# -- items -------------------------------------------------------------------


class SubagentItem(msgspec.Struct, tag_field="TYPE", tag="SubagentItem", kw_only=True):
    id: str
    agentPath: str
    uri: str
    disabled: bool = False
    itemRevision: int | UnsetType = UNSET


class SubagentBundle(msgspec.Struct, tag_field="TYPE", tag="SubagentBundle", kw_only=True):
    """A priority is an expression: a plain JSON number for a constant, a
    string otherwise (SubagentBundle.scala L54-80)."""

    id: str
    subagentToPriority: dict[str, int | float | str]
    itemRevision: int | UnsetType = UNSET


class AgentRef(msgspec.Struct, tag_field="TYPE", tag="AgentRef", kw_only=True):
    path: str
    directors: list[str] = msgspec.field(default_factory=list)
    uri: str | UnsetType = UNSET
    processLimit: int | UnsetType = UNSET
    requireFailoverConfirmation: bool = False
    itemRevision: int | UnsetType = UNSET


SimpleItem = SubagentItem | SubagentBundle | AgentRef


def item_key(item: SimpleItem) -> str:
    """JS7's item key: ``SubagentItem:ID``, ``SubagentBundle:ID``, ``AgentRef:PATH``."""
    if isinstance(item, AgentRef):
        return f"AgentRef:{item.path}"
    return f"{type(item).__name__}:{item.id}"


# -- Director → Subagent commands -------------------------------------------


class _Command(msgspec.Struct, tag_field="TYPE", kw_only=True, omit_defaults=True):
    correlId: str | None = None


class DedicateSubagent(_Command, tag="DedicateSubagent"):
    subagentId: str
    agentPath: str
    controllerId: str
    agentRunId: str = "AAAAAAAAAAAAAAAAAAAAAA"  # the decoder's default: a past Agent version


class HeartbeatTiming(msgspec.Struct, kw_only=True):
    heartbeat: float
    heartbeatTimeout: float


class CoupleDirector(_Command, tag="CoupleDirector"):
    subagentId: str
    subagentRunId: str
    eventId: int
    heartbeatTiming: HeartbeatTiming


class AttachSignedItem(_Command, tag="AttachSignedItem"):
    signed: SignedString


class Processing(msgspec.Struct, tag_field="TYPE", tag="Processing", kw_only=True):
    subagentId: str | UnsetType = UNSET


class ProcessOrder(msgspec.Struct, kw_only=True):
    """The ``Order`` a ``StartOrderProcess`` carries (the fields the Subagent
    uses; ``arguments`` as JS7 writes them when there are any)."""

    id: str
    state: Processing
    workflowPosition: WorkflowPosition
    arguments: dict[str, Any] | UnsetType = UNSET


class StartOrderProcess(_Command, tag="StartOrderProcess"):
    order: ProcessOrder
    defaultArguments: dict[str, Any] = msgspec.field(default_factory=dict)
    endOfAdmissionPeriod: int | UnsetType = UNSET


class KillProcess(_Command, tag="KillProcess"):
    orderId: str
    signal: str = "SIGTERM"


class ReleaseEvents(_Command, tag="ReleaseEvents"):
    untilEventId: int


class ShutDown(_Command, tag="ShutDown"):
    processSignal: str | UnsetType = UNSET
    dontWaitForDirector: bool = False
    restart: bool = False


class NoOperation(_Command, tag="NoOperation"):
    pass


class Batch(_Command, tag="Batch"):
    commands: list[Any]


SubagentCommand = (
    DedicateSubagent
    | CoupleDirector
    | AttachSignedItem
    | StartOrderProcess
    | KillProcess
    | ReleaseEvents
    | ShutDown
    | NoOperation
    | Batch
)


class DedicateSubagentResponse(
    msgspec.Struct, tag_field="TYPE", tag="DedicateSubagent.Response", kw_only=True
):
    subagentRunId: str
    subagentEventId: int
    version: str


class CoupleDirectorResponse(
    msgspec.Struct, tag_field="TYPE", tag="CoupleDirector.Response", kw_only=True
):
    version: str
