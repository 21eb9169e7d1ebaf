"""One JOC Cockpit instance: the database, the cluster service and the
active-only services (History, Cleanup, Daily Plan, live feed, Cluster Watch), wired up.

What must hold: the active-only services run only between the cluster
service's ``on_active(epoch)`` and ``on_standby()``, and ``on_standby``
returns only after they stopped — a switch-over hands over only then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp

from components.joc import settings
from components.joc.cleanup import CleanupService
from components.joc.cluster import ClusterService
from components.joc.cluster_watch import JocClusterWatch
from components.joc.config import JocConfig
from components.joc.controllers import ControllerLocator
from components.joc.dailyplan import DailyPlanService
from components.joc.db import Database, DatabaseUnavailable
from components.joc.events import EventSnapshots
from components.joc.feed import Feed
from components.joc.history import HistoryService, cancel_and_wait

log = logging.getLogger("js7.joc")


class Joc:
    def __init__(self, cfg: JocConfig) -> None:
        self.cfg = cfg
        self.db = Database(
            cfg.database_url,
            cfg.database_timeout,
            idle_tx_timeout=min(cfg.database_timeout, cfg.heart_beat_exceeded_interval / 2),
        )
        self.feed = Feed()
        self.events = EventSnapshots()
        self.feed.listen(self.events.add_history)
        self.http: aiohttp.ClientSession | None = None
        self.uri = f"http://{cfg.host}:{cfg.port}"
        self.cluster = ClusterService(
            self.db,
            cfg.member_id,
            self.uri,
            cfg.ordering,
            cfg.polling_interval,
            cfg.heart_beat_exceeded_interval,
            self._on_active,
            self._on_standby,
        )
        self.schema_ready = False
        self._tasks: list[asyncio.Task[None]] = []
        self._starter: asyncio.Task[None] | None = None
        self._monitor: asyncio.Task[None] | None = None
        self.history: HistoryService
        self.cleanup: CleanupService
        self.daily_plan: DailyPlanService
        self.controllers: ControllerLocator  # the API's (user JOC)
        self.cluster_watch = JocClusterWatch(cfg, reconnect_max_delay=1.0)

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, connect=2.0, sock_read=30.0)
        self.http = aiohttp.ClientSession(timeout=timeout)
        probe = self.cfg.controller_probe_timeout
        c = self.cfg
        self.controllers = ControllerLocator(
            self.http, list(c.controllers), *c.joc_user, probe, report_problems=True
        )
        history_locator = ControllerLocator(self.http, list(c.controllers), *c.history_user, probe)
        self.history = HistoryService(
            self.db,
            c.member_id,
            c.controller_id,
            history_locator,
            self.feed,
            batch_limit=c.history_batch_limit,
            long_poll=c.history_long_poll,
            heartbeat=c.history_heartbeat,
            release_interval=c.history_release_interval,
        )
        self.cleanup = CleanupService(self.db, c.member_id, c)
        self.daily_plan = DailyPlanService(
            self.db,
            c.member_id,
            c.controller_id,
            self.controllers,
            c.schedules,
            c.daily_plan_interval,
        )
        self._starter = asyncio.get_running_loop().create_task(self._start_cluster())
        self._monitor = asyncio.get_running_loop().create_task(self._watch_controllers())

    async def _watch_controllers(self) -> None:
        """Every instance asks every Controller node for its cluster state
        now and then, so a Controller cluster's problem (a refused
        ``ClusterStartBackupNode``) shows in this instance's log too."""
        interval = min(self.cfg.polling_interval, 5.0)
        while True:
            await self.controllers.probe_all()
            await asyncio.sleep(interval)

    async def _start_cluster(self) -> None:
        """Create the schema (retried until the database answers), then join."""
        while True:
            try:
                await self.db.ensure_schema()
                await self.db.run(lambda c: settings.ensure(c, self.cfg))
                break
            except DatabaseUnavailable as exc:
                log.warning("waiting for the database: %s", exc)
                await asyncio.sleep(self.cfg.polling_interval)
        self.schema_ready = True
        log.info("JOC instance %s joins the cluster", self.cfg.member_id)
        self.cluster.start()
        self.cluster.wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    async def _on_active(self, epoch: int) -> None:
        log.info("%s is the active JOC instance (epoch %d)", self.cfg.member_id, epoch)
        self._spawn(self.history.run(epoch), "history")
        self._spawn(self.cleanup.run(epoch), "cleanup")
        self._spawn(self.daily_plan.run(epoch), "dailyplan")
        self.cluster_watch.start()

    async def _on_standby(self) -> None:
        log.info("%s is a standby JOC instance", self.cfg.member_id)
        await self.cluster_watch.stop()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            await cancel_and_wait(t)
        self.feed.close_all()

    async def stop(self) -> None:
        """SIGTERM: hand over to a standby (JS7: a normal stop is a switch-over)."""
        if self._starter is not None and not self._starter.done():
            await cancel_and_wait(self._starter)
        await cancel_and_wait(self._monitor)
        if self.schema_ready:
            await self.cluster.stop()
        await self._on_standby()
        if self.http is not None:
            await self.http.close()
        await self.db.close()
