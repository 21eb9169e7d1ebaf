"""Cluster states: ``GET /controller/api/cluster`` (``?return=ClusterNodeState``).

Sources (sos-berlin/js7): js7-data/shared/src/test/scala/js7/data/cluster/
ClusterStateTest.scala (every ``ClusterState`` with its ``setting``),
ClusterNodeStateTest.scala, and js7-cluster/src/main/scala/js7/cluster/web/
ClusterRoute.scala (both answers are ``Stamped``: ``eventId`` beside the
state's own fields). ``ClusterState.isActive`` (js7-data/shared/src/main/
scala/js7/data/cluster/ClusterState.scala): a node of a cluster with nodes is
active when the state names it ``activeId``; of an ``Empty`` one, when it is
not the backup.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class ClusterTiming(msgspec.Struct, kw_only=True):
    """Seconds."""

    heartbeat: float
    heartbeatTimeout: float
    consentTimeout: float | UnsetType = UNSET


class ClusterSetting(msgspec.Struct, kw_only=True):
    idToUri: dict[str, str]
    activeId: str
    timing: ClusterTiming
    clusterWatchId: str | UnsetType = UNSET


class JournalPosition(msgspec.Struct, kw_only=True):
    fileEventId: int
    position: int


class Empty(msgspec.Struct, tag_field="TYPE", tag="Empty"):
    pass


class HasNodes(msgspec.Struct, tag_field="TYPE", kw_only=True):
    """Every state but ``Empty``."""

    setting: ClusterSetting


class NodesAppointed(HasNodes, tag="NodesAppointed"):
    pass


class PreparedToBeCoupled(HasNodes, tag="PreparedToBeCoupled"):
    pass


class Coupled(HasNodes, tag="Coupled"):
    pass


class ActiveShutDown(HasNodes, tag="ActiveShutDown"):
    pass


class PassiveLost(HasNodes, tag="PassiveLost"):
    pass


class SwitchedOver(HasNodes, tag="SwitchedOver"):
    pass


class FailedOver(HasNodes, tag="FailedOver"):
    failedAt: JournalPosition


ClusterState = (
    Empty
    | NodesAppointed
    | PreparedToBeCoupled
    | Coupled
    | ActiveShutDown
    | PassiveLost
    | SwitchedOver
    | FailedOver
)


class ClusterNodeState(msgspec.Struct, kw_only=True):
    nodeId: str
    isBackup: bool
    clusterState: ClusterState


def is_active(state: Any, node_id: str, is_backup: bool) -> bool:
    """JS7's ``ClusterState.isActive(nodeId, isBackup)``."""
    if isinstance(state, Empty):
        return not is_backup
    return bool(state.setting.activeId == node_id)


def stamped(event_id: int, value: msgspec.Struct) -> dict[str, Any]:
    """JS7's ``Stamped`` encoding of an object: its fields beside ``eventId``."""
    return {"eventId": event_id, **msgspec.to_builtins(value)}
