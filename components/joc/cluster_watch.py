"""JOC as the Cluster Watch of its Controller cluster (JS7 2.5 and later:
"JOC Cockpit acts as Cluster Watch"): while an instance is the active one it
runs JS7's ``ClusterWatchService`` against both Controller nodes, as the
Controller user ``JOC``; a standby runs none. Like JS7's, it learns the
cluster from the active Controller's heartbeats after every activation.

``controller/cluster/confirm_node_loss`` (api.raml: "Confirms a loss node of
the Controller Cluster is really lost") is JS7's ``manuallyConfirmNodeLoss``
of the node whose loss the Watch could not judge.
"""

from __future__ import annotations

import logging

from components.common.cluster.watch_service import ClusterWatchService
from components.common.web import Problem
from components.joc.config import JocConfig
from components.wire.events import ClusterFailedOver, ClusterNodeLossNotConfirmedProblem

log = logging.getLogger("js7.joc.ClusterWatch")


class JocClusterWatch:
    def __init__(self, cfg: JocConfig, reconnect_max_delay: float) -> None:
        self.cfg = cfg
        self._max_delay = reconnect_max_delay
        self.service: ClusterWatchService | None = None

    @property
    def enabled(self) -> bool:
        return self.cfg.cluster_watch and len(self.cfg.controllers) == 2

    def start(self) -> None:
        """On becoming active."""
        if not self.enabled or self.service is not None:
            return
        user, password = self.cfg.joc_user
        self.service = ClusterWatchService(
            f"JOC-{self.cfg.member_id}",
            "/controller/api",
            user,
            password,
            self._max_delay,
            label=f"Controller cluster {self.cfg.controller_id}",
        )
        self.service.watch([c.uri for c in self.cfg.controllers])

    async def stop(self) -> None:
        """On becoming a standby, or stopping."""
        service, self.service = self.service, None
        if service is not None:
            await service.stop()

    async def confirm_node_loss(self, account: str | None) -> str:
        """The lost node's id, once confirmed; a Problem when there is no
        loss to confirm."""
        if self.service is None:
            raise Problem(
                420,
                "ClusterWatchNotRunning",
                "this JOC Cockpit instance is no Cluster Watch of the Controller cluster",
            )
        lost = _lost_node(self.service.loss_to_confirm)
        if lost is None:
            raise Problem(
                420, "ClusterNodeIsNotLost", "no Controller cluster node waits to be confirmed lost"
            )
        await self.service.confirm_node_loss(lost, account)
        log.warning("%s confirmed the loss of Controller cluster node %s", account, lost)
        return lost


def _lost_node(problem: ClusterNodeLossNotConfirmedProblem | None) -> str | None:
    """From JS7's ``ClusterNodeLossNotConfirmedProblem``: the failed active of
    a ``ClusterFailedOver``, the passive of a ``ClusterPassiveLost``."""
    if problem is None:
        return None
    event = problem.event
    return event.failedActiveId if isinstance(event, ClusterFailedOver) else event.id
