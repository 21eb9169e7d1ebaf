"""The Controller as the Cluster Watch of one Agent's Director pair
(AGENT-CLUSTER.md A.4: JS7's AgentDriver starts a ClusterWatchService per
AgentRef; ``clusterWatchId = <controllerId>/<nodeId>/<agentPath>``).

The Controller connects to the Directors — never the reverse: from each
Director it reads the ``ClusterWatchRequest``s (``GET /agent/api/cluster/
clusterWatchMessage``), judges them with the same ``ClusterWatch`` the
Controller cluster's Watch runs (``components/common/cluster/arbiter.py``)
and answers each with ``ClusterWatchConfirm``. Like JS7's, the Watch keeps
what it learnt in memory only: a restarted Controller's Watch is untaught
until the active Director's heartbeat teaches it. A request it must refuse for
want of knowledge (``UntaughtClusterWatch``) is journaled as
``AgentClusterWatchConfirmationRequired``; the user's
``ConfirmClusterNodeLoss{agentPath, lostNodeId}`` then lets it consent, and
that consent is journaled as ``AgentClusterWatchManuallyConfirmed``
(AgentDriver.scala ``onNodeLossEventConfirmRequired``).

What must hold: with no Controller running nobody consents, so the
Directors never fail over (AGT-CLUSTER-NO-WATCH); every consent is journaled
before it is sent, so of two Directors only one can win it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from components.common.auth import SESSION_HEADER
from components.common.client import NodeClient, ProblemError
from components.common.cluster.arbiter import ClusterWatch
from components.common.eventid import new_journal_id
from components.common.journal import Journal
from components.common.web import Problem

log = logging.getLogger("js7.controller.AgentClusterWatch")


class AgentClusterWatchService:
    def __init__(
        self,
        journal: Journal,
        agent_path: str,
        watch_id: str,
        password: str,
        on_confirmation_required: Callable[[dict[str, Any] | None], Awaitable[None]],
        reconnect_max_delay: float,
    ) -> None:
        self.agent_path = agent_path
        self.watch_id = watch_id
        self.run_id = new_journal_id()
        # Not journaled (JS7: ``ClusterWatch._state = Untaught`` at start):
        # a Watch that remembered the pair as Coupled across a Controller
        # restart would consent at once to a fail-over from a Primary it has
        # not heard since — where JS7 asks the user to confirm the loss.
        self.arbiter = ClusterWatch(None, meta=f"agentClusterWatch.{agent_path}")
        self._password = password
        self._confirmation_required = on_confirmation_required
        self._max_delay = reconnect_max_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def watch(self, uris: list[str]) -> None:
        """Read the requests of each Director at ``uris`` (started once each)."""
        for uri in uris:
            if uri not in self._tasks:
                self._tasks[uri] = asyncio.create_task(
                    self._follow(uri), name=f"cluster-watch:{self.agent_path}:{uri}"
                )

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def confirm_node_loss(self, lost: str) -> None:
        await self.arbiter.confirm_node_loss(lost)

    async def _follow(self, uri: str) -> None:
        delay = 0.05
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            client = NodeClient(http, uri, "/agent/api", "Controller", self._password)
            while True:
                try:
                    await self._read(http, client)
                    delay = 0.05
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, OSError, TimeoutError, ProblemError) as exc:
                    log.debug("Director %s: %s", uri, exc)
                except Exception:
                    log.exception("Director %s: unexpected error", uri)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)

    async def _read(self, http: aiohttp.ClientSession, client: NodeClient) -> None:
        headers = {SESSION_HEADER: await client.token()}
        url = client.url(f"/cluster/clusterWatchMessage?clusterWatchId={self.watch_id}")
        async with http.get(url, headers=headers) as resp:
            if resp.status == 401:
                client.forget_token()
                return
            if resp.status != 200:
                body = await resp.json(content_type=None)
                raise ProblemError(
                    resp.status, str(body.get("code")), str(body.get("message")), body
                )
            async for raw in resp.content:
                if raw.strip():
                    await self._answer(client, json.loads(raw))

    async def _answer(self, client: NodeClient, request: dict[str, Any]) -> None:
        confirm: dict[str, Any] = {
            "TYPE": "ClusterWatchConfirm",
            "requestId": request.get("requestId"),
            "clusterWatchId": self.watch_id,
            "clusterWatchRunId": self.run_id,
        }
        state = request.get("clusterState")
        timing = state.get("timing", {}) if isinstance(state, dict) else {}
        try:
            if request.get("TYPE") == "ClusterWatchCheckState":
                known = await self.arbiter.heartbeat(
                    {
                        "from": request.get("from"),
                        "clusterState": state,
                        "heartbeatTimeout": timing.get("heartbeatTimeout", 10.0),
                    }
                )
                confirm["clusterWatchState"] = {k: v for k, v in known.items() if k != "TYPE"}
            else:
                consent = await self.arbiter.consent(
                    {
                        "from": request.get("from"),
                        "event": request.get("event"),
                        "clusterState": state,
                    }
                )
                if consent.get("manuallyConfirmed"):
                    await self._confirmation_required(None)
                log.info(
                    "Agent %s: consented to %s of %s",
                    self.agent_path,
                    (request.get("event") or {}).get("TYPE"),
                    request.get("from"),
                )
        except Problem as p:
            confirm["problem"] = {"code": p.code, "message": p.message}
            if p.code == "UntaughtClusterWatch":
                await self._confirmation_required(
                    {
                        "TYPE": "ClusterNodeLossNotConfirmedProblem",
                        "fromNodeId": request.get("from"),
                        "event": request.get("event"),
                    }
                )
        await client.command_path("/cluster/command", confirm)
