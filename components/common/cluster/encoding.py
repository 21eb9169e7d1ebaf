"""The cluster state as JS7 encodes it (``components/wire/cluster.py``), from
the state the node keeps in its journal's meta."""

from __future__ import annotations

from typing import Any, cast

import msgspec

from components.common.cluster.settings import ClusterSettings
from components.wire import cluster as wire

_KINDS: dict[str, type[wire.HasNodes]] = {
    "NodesAppointed": wire.NodesAppointed,
    "PreparedToBeCoupled": wire.PreparedToBeCoupled,
    "Coupled": wire.Coupled,
    "ActiveShutDown": wire.ActiveShutDown,
    "PassiveLost": wire.PassiveLost,
    "SwitchedOver": wire.SwitchedOver,
}


def setting(
    s: ClusterSettings, id_to_uri: dict[str, str], active_id: str, watch_id: Any = None
) -> wire.ClusterSetting:
    # consentTimeout: the reference asks its Watch within the heartbeat
    # timeout; it has no setting of its own for that.
    return wire.ClusterSetting(
        idToUri=id_to_uri,
        activeId=active_id,
        timing=wire.ClusterTiming(
            heartbeat=s.heartbeat, heartbeatTimeout=s.timeout, consentTimeout=s.timeout
        ),
        clusterWatchId=watch_id if isinstance(watch_id, str) else msgspec.UNSET,
    )


def cluster_state(s: ClusterSettings, st: dict[str, Any]) -> wire.Empty | wire.HasNodes:
    kind = st.get("TYPE", "Empty")
    if kind == "Empty":
        return wire.Empty()
    sett = setting(
        s,
        dict(st.get("idToUri") or s.nodes),
        str(st.get("activeId", s.own_id)),
        st.get("clusterWatchId"),
    )
    if kind == "FailedOver":
        at = st.get("failedAt") or {"fileEventId": 0, "position": 0}
        return wire.FailedOver(setting=sett, failedAt=wire.JournalPosition(**at))
    return _KINDS[kind](setting=sett)


def node_state(s: ClusterSettings, st: dict[str, Any]) -> wire.ClusterNodeState:
    return wire.ClusterNodeState(
        nodeId=s.own_id,
        isBackup=s.is_backup,
        clusterState=cast(wire.ClusterState, cluster_state(s, st)),
    )
