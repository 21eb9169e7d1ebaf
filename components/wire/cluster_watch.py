"""What a cluster node and its Cluster Watch say to each other: the node's
requests (``ClusterWatchRequest``, read by the Watch as NDJSON from
``GET <prefix>/cluster/clusterWatchMessage``) and the Watch's answer
(``ClusterWatchConfirm``, posted to ``<prefix>/cluster/command``).

Sources (sos-berlin/js7, js7-data/shared/src/…/js7/data/cluster/):
ClusterWatchRequest.scala and ClusterWatchRequestTest.scala (every request
has ``requestId``, ``correlId``, ``from`` and the sender's ``clusterState``,
a state with nodes; ``ClusterWatchCheckEvent`` adds the ``event`` to consent
to and ``forceWhenUntaught``), ClusterWatchingCommand.scala and
ClusterWatchingCommandTest.scala (``requestId``, ``clusterWatchId``,
``clusterWatchRunId`` required; ``manualConfirmer`` — who confirmed a node
loss the Watch could not judge — and ``problem`` — the refusal — optional).
The reference sends no ``ClusterWatchAskNodeLoss``/``…CommitNodeLoss`` (its
node asks about a lost passive with ``ClusterWatchCheckEvent``).

reference-only, both ignored by a JS7 decoder (it skips fields it does not
know): a request's ``generation``, the count by which the reference's Watch
orders the cluster states it hears (JS7's orders them by applying the
events); and a confirm's ``clusterWatchState``, what the Watch knows
(``activeId``, ``clusterStateType``, ``generation``), so that a node learns
it was replaced.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from components.wire import cluster as state
from components.wire.events import ClusterEvent, Problem

# JS7's ClusterState.HasNodes: every state but Empty.
NodesState = (
    state.NodesAppointed
    | state.PreparedToBeCoupled
    | state.Coupled
    | state.ActiveShutDown
    | state.PassiveLost
    | state.SwitchedOver
    | state.FailedOver
)


class _Request(msgspec.Struct, tag_field="TYPE", kw_only=True):
    requestId: int
    correlId: str
    from_: str = msgspec.field(name="from")
    clusterState: NodesState
    generation: int | UnsetType = UNSET  # reference-only (module doc)


class ClusterWatchCheckState(_Request, tag="ClusterWatchCheckState"):
    """A heartbeat: the active node's state."""


class ClusterWatchCheckEvent(_Request, tag="ClusterWatchCheckEvent"):
    """A request for consent to ``event`` (a fail-over, the passive lost)."""

    event: ClusterEvent
    forceWhenUntaught: bool = False


ClusterWatchRequest = ClusterWatchCheckState | ClusterWatchCheckEvent


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
