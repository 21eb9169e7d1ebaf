"""What a node hosting a ``Cluster`` (the Controller, a Director Agent)
serves and refuses for it: commands and the event API only while active,
events only as far as the passive acknowledged them, and the cluster's
routes under the node's prefix — and its Cluster Watch's side: JS7's
(2.5 and later), which pulls this node's requests (``PulledWatch``), unless
``js7.journal.cluster.watches`` names an Agent that hosts one (the seeds'
JS7; reference-only in this version)."""

from __future__ import annotations

from aiohttp import web

from components.common.auth import Sessions
from components.common.cluster import settings as cluster_settings
from components.common.cluster.node import Cluster
from components.common.cluster.pulled_watch import PulledWatch
from components.common.config import Config
from components.common.journal import Journal
from components.wire import cluster as wire


class ClusterHosting:
    cluster: Cluster
    journal: Journal
    sessions: Sessions
    prefix: str
    pulled_watch: PulledWatch | None = None

    def make_cluster(self, cfg: Config) -> Cluster:
        """This node's ``Cluster``, with the Watch its settings call for."""
        s = cluster_settings.load(cfg)
        self.pulled_watch = None if s.watches else PulledWatch(s)
        cluster = Cluster(self, cfg, watch=self.pulled_watch)  # type: ignore[arg-type]
        if self.pulled_watch is not None:
            cluster.commands["ClusterWatchConfirm"] = self.pulled_watch.confirm
        return cluster

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
        if self.pulled_watch is not None:
            app.router.add_get(
                f"{self.prefix}/cluster/clusterWatchMessage", self.cluster_watch_messages
            )

    async def cluster_watch_messages(self, request: web.Request) -> web.StreamResponse:
        """JS7's ``GET <prefix>/cluster/clusterWatchMessage``: any valid user
        (ClusterRoute.scala: ``ValidUserPermission``)."""
        self.sessions.user_of(request)
        assert self.pulled_watch is not None
        return await self.pulled_watch.messages(request)

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
        info = self.cluster.info()
        if self.pulled_watch is not None:
            info["watchRequests"] = self.pulled_watch.status()
        return web.json_response(info)
