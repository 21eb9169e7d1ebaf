"""JS7's ``ClusterWatchService``: a Cluster Watch that connects to the nodes
of one cluster — never the reverse — reads their ``ClusterWatchRequest``s
(``GET <prefix>/cluster/clusterWatchMessage?clusterWatchId=``, NDJSON, JS7's
``ClusterNodeUris.clusterWatchMessages``), judges each with the one
``ClusterWatch`` arbiter (``arbiter.py``) and answers with the cluster
command ``ClusterWatchConfirm{requestId, clusterWatchId, clusterWatchRunId,
manualConfirmer?, problem?}`` (ClusterWatchService.scala, ClusterWatchingCommandTest.scala).

Three hosts run it: the Controller for each Director pair of its Agents
(``/agent/api``), the standalone Cluster Watch (``components.cluster_watch``,
JS7's ``js7-cluster-watch``) and JOC for its Controller pair (both
``/controller/api``). Like JS7's, the Watch keeps what it learnt in memory
only: restarted, it is untaught until the active node's heartbeat teaches it.
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
from components.common.ndjson import NdjsonReader
from components.common.web import Problem
from components.wire.cluster_watch import (
    ClusterWatchCheckEvent,
    ClusterWatchConfirm,
    ClusterWatchRequest,
)
from components.wire.codec import convert, to_json
from components.wire.events import (
    ClusterFailedOver,
    ClusterNodeLossNotConfirmedProblem,
    ClusterPassiveLost,
)
from components.wire.events import Problem as WireProblem

log = logging.getLogger("js7.cluster.watch.ClusterWatchService")

# A node loss the Watch could not judge (JS7's
# ``ClusterNodeLossNotConfirmedProblem``), or None once a user's
# confirmation let it consent.
OnConfirmationRequired = Callable[[ClusterNodeLossNotConfirmedProblem | None], Awaitable[None]]


async def _nothing(_: ClusterNodeLossNotConfirmedProblem | None) -> None:
    return None


class ClusterWatchService:
    def __init__(
        self,
        watch_id: str,
        prefix: str,
        user: str,
        password: str,
        reconnect_max_delay: float,
        *,
        label: str = "cluster",
        on_confirmation_required: OnConfirmationRequired = _nothing,
    ) -> None:
        self.watch_id = watch_id
        self.run_id = new_journal_id()
        self.label = label
        self.arbiter = ClusterWatch(None, meta=f"clusterWatch.{label}")
        # The loss a user may confirm now: JS7's ``clusterNodeLossEventToBeConfirmed``.
        self.loss_to_confirm: ClusterNodeLossNotConfirmedProblem | None = None
        self._prefix = prefix
        self._user = user
        self._password = password
        self._confirmation_required = on_confirmation_required
        self._max_delay = reconnect_max_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._confirmer: str | None = None
        self._failing: set[str] = set()  # nodes whose stream failed last

    def watch(self, uris: list[str], *, user: str = "", password: str = "") -> None:
        """Read the requests of each node at ``uris`` (started once each), as
        ``user`` (default: the service's; JS7's Admission is per node)."""
        login = (user or self._user, password or self._password)
        for uri in uris:
            if uri not in self._tasks:
                self._tasks[uri] = asyncio.create_task(
                    self._follow(uri, *login), name=f"cluster-watch:{self.label}:{uri}"
                )

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def confirm_node_loss(self, lost: str, confirmer: str | None = None) -> None:
        """A user's confirmation that ``lost`` is lost (``confirmer``: who)."""
        await self.arbiter.confirm_node_loss(lost)
        self._confirmer = confirmer

    async def _follow(self, uri: str, user: str, password: str) -> None:
        delay = 0.05
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            client = NodeClient(http, uri, self._prefix, user, password)
            while True:
                try:
                    await self._read(http, client, uri)
                    delay = 0.05
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, OSError, TimeoutError, ProblemError) as exc:
                    if uri not in self._failing:
                        why = f"{type(exc).__name__}: {exc}"
                        log.warning("%s %s is not watched: %s", self.label, uri, why)
                    self._failing.add(uri)
                except Exception:
                    log.exception("%s %s: unexpected error", self.label, uri)
                    self._failing.add(uri)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)

    async def _read(self, http: aiohttp.ClientSession, client: NodeClient, uri: str) -> None:
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
            # JS7 logs a node's stream failing and coming back, once each.
            again = " again" if uri in self._failing else ""
            self._failing.discard(uri)
            log.info("%s %s is being watched%s", self.label, uri, again)
            async for raw in NdjsonReader(resp.content):
                if raw.strip():
                    await self._answer(client, json.loads(raw))

    async def _required(self, problem: ClusterNodeLossNotConfirmedProblem | None) -> None:
        self.loss_to_confirm = problem
        await self._confirmation_required(problem)

    async def _answer(self, client: NodeClient, raw: Any) -> None:
        try:
            request = convert(raw, ClusterWatchRequest, "ClusterWatchRequest")
        except Problem as p:
            # Not JS7's request: nothing to answer it by (a node speaks it).
            log.warning("%s: a request it cannot read is not answered: %s", self.label, p.message)
            return
        rid = request.requestId
        confirm: dict[str, Any] = {}  # ClusterWatchConfirm's optional fields
        setting = request.clusterState.setting
        # What the arbiter judges by: the state's kind, the active, its
        # nodes and the reference's generation (0 from a JS7 node).
        state = {
            "TYPE": type(request.clusterState).__name__,
            "activeId": setting.activeId,
            "idToUri": setting.idToUri,
            "generation": request.generation if isinstance(request.generation, int) else 0,
        }
        event = to_json(request.event) if isinstance(request, ClusterWatchCheckEvent) else None
        try:
            if event is None:
                known = await self.arbiter.heartbeat(
                    {
                        "from": request.from_,
                        "clusterState": state,
                        "heartbeatTimeout": setting.timing.heartbeatTimeout,
                    }
                )
                confirm["clusterWatchState"] = {k: v for k, v in known.items() if k != "TYPE"}
            else:
                consent = await self.arbiter.consent(
                    {"from": request.from_, "event": event, "clusterState": state}
                )
                if consent.get("manuallyConfirmed"):
                    if self._confirmer:
                        confirm["manualConfirmer"] = self._confirmer
                    await self._required(None)
                log.info(
                    "%s: consented to %s of %s",
                    self.label,
                    event["TYPE"],
                    request.from_,
                )
        except Problem as p:
            confirm["problem"] = WireProblem(message=p.message, code=p.code)
            if p.code == "UntaughtClusterWatch" and isinstance(request, ClusterWatchCheckEvent):
                lost = request.event
                if isinstance(lost, ClusterFailedOver | ClusterPassiveLost):
                    problem = ClusterNodeLossNotConfirmedProblem(
                        fromNodeId=request.from_, event=lost
                    )
                    await self._required(problem)
        answer = ClusterWatchConfirm(
            requestId=rid, clusterWatchId=self.watch_id, clusterWatchRunId=self.run_id, **confirm
        )
        await client.command_path("/cluster/command", to_json(answer))
