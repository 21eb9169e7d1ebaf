"""The Controller as the Cluster Watch of one Agent's Director pair
(AGENT-CLUSTER.md A.4: JS7's AgentDriver starts a ClusterWatchService per
AgentRef; ``clusterWatchId = <controllerId>/<nodeId>/<agentPath>``).

The Controller connects to the Directors — never the reverse — with JS7's
``ClusterWatchService`` (``components/common/cluster/watch_service.py``). A
request it must refuse for want of knowledge (``UntaughtClusterWatch``) is
journaled as ``AgentClusterWatchConfirmationRequired``; the user's
``ConfirmClusterNodeLoss{agentPath, lostNodeId}`` then lets it consent, and
that consent is journaled as ``AgentClusterWatchManuallyConfirmed``
(AgentDriver.scala ``onNodeLossEventConfirmRequired``).

What must hold: with no Controller running nobody consents, so the
Directors never fail over (AGT-CLUSTER-NO-WATCH); every consent is journaled
before it is sent, so of two Directors only one can win it.
"""

from __future__ import annotations

from components.common.cluster.arbiter import ClusterWatch
from components.common.cluster.watch_service import ClusterWatchService, OnConfirmationRequired
from components.common.journal import Journal


class AgentClusterWatchService(ClusterWatchService):
    def __init__(
        self,
        journal: Journal,
        agent_path: str,
        watch_id: str,
        password: str,
        on_confirmation_required: OnConfirmationRequired,
        reconnect_max_delay: float,
    ) -> None:
        super().__init__(
            watch_id,
            "/agent/api",
            "Controller",
            password,
            reconnect_max_delay,
            label=f"Agent {agent_path}",
            on_confirmation_required=on_confirmation_required,
        )
        self.agent_path = agent_path
        # Not journaled (JS7: ``ClusterWatch._state = Untaught`` at start),
        # though the Controller has a journal at hand: a Watch that remembered
        # the pair as Coupled across a Controller restart would consent at
        # once to a fail-over from a Primary it has not heard since — where
        # JS7 asks the user to confirm the loss.
        del journal
        self.arbiter = ClusterWatch(None, meta=f"agentClusterWatch.{agent_path}")
