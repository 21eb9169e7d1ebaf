"""What a node hosting a ``Cluster`` (the Controller, a Director Agent)
serves and refuses for it: commands and the event API only while active,
events only as far as the passive acknowledged them, and the cluster's
routes under the node's prefix."""

from __future__ import annotations

from aiohttp import web

from components.common.auth import Sessions
from components.common.cluster.node import Cluster
from components.common.journal import Journal
from components.wire import cluster as wire


class ClusterHosting:
    cluster: Cluster
    journal: Journal
    sessions: Sessions
    prefix: str

    def before_command(self) -> None:
        self.cluster.require_active()

    def check_event_access(self) -> None:
        self.cluster.require_active()

    def visible_until(self) -> int:
        return self.cluster.visible_until()

    async def wait_visible(self, after: int, timeout: float) -> bool:
        return await self.cluster.wait_visible(after, timeout)

    def add_cluster_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{self.prefix}/cluster", self.cluster_state)
        app.router.add_get(f"{self.prefix}/js7ha/cluster-node", self.cluster_node)
        app.router.add_post(f"{self.prefix}/cluster/command", self.cluster.command)
        app.router.add_get(f"{self.prefix}/journal", self.cluster.pull)
        app.router.add_get(f"{self.prefix}/journal/snapshot", self.cluster.snapshot)

    async def cluster_state(self, request: web.Request) -> web.Response:
        """JS7's ``GET <prefix>/cluster``: this node's view of the cluster
        state, ``Stamped``; ``?return=ClusterNodeState`` adds who this node
        is. Both nodes answer. Whether a node is *acting* as the active one,
        a client learns as from JS7: a passive refuses commands with
        ``ClusterNodeIsNotActive``."""
        self.sessions.user_of(request)
        eid = self.journal.last_event_id
        if request.query.get("return") == "ClusterNodeState":
            return web.json_response(wire.stamped(eid, self.cluster.js7_node_state()))
        return web.json_response(wire.stamped(eid, self.cluster.js7_state()))

    async def cluster_node(self, request: web.Request) -> web.Response:
        """reference-only: ``Cluster.info`` (the nodes' own peer protocol)."""
        self.sessions.user_of(request)
        return web.json_response(self.cluster.info())
