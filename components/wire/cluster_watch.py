"""The Cluster Watch's answer to a cluster node: ``ClusterWatchConfirm``,
posted to ``<prefix>/cluster/command``.

Source (sos-berlin/js7): js7-data/shared/src/main/scala/js7/data/cluster/
ClusterWatchingCommand.scala and its test ClusterWatchingCommandTest.scala
(``requestId``, ``clusterWatchId``, ``clusterWatchRunId`` required;
``manualConfirmer`` — who confirmed a node loss the Watch could not judge —
and ``problem`` — the Watch's refusal — optional).

reference-only: ``clusterWatchState``, in the answer to a heartbeat
(``ClusterWatchCheckState``), is what the Watch knows of the cluster
(``activeId``, ``clusterStateType``, ``generation``), so that a node learns
it was replaced; JS7 decoders ignore a field they do not know.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire.events import Problem


class ClusterWatchConfirm(
    msgspec.Struct, tag_field="TYPE", tag="ClusterWatchConfirm", kw_only=True
):
    requestId: int
    clusterWatchId: str
    clusterWatchRunId: str
    manualConfirmer: str | UnsetType = UNSET
    problem: Problem | UnsetType = UNSET
    clusterWatchState: dict[str, Any] | UnsetType = UNSET  # reference-only (module doc)

    def refusal(self) -> str | None:
        """The Watch's problem as one line, or None when it consented."""
        if isinstance(self.problem, UnsetType):
            return None
        code = self.problem.code if isinstance(self.problem.code, str) else "Problem"
        return f"{code}: {self.problem.message}"
