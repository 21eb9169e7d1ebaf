"""A Cluster Watch that fetches its requests from the cluster nodes: the
Controller as the Watch of a Director pair (AGENT-CLUSTER.md A.4).

An Agent never connects to its Controller (AGT-NO-CONNECT), so the node
cannot ask: it queues JS7's ``ClusterWatchRequest``s and the Watch reads them
from ``GET <prefix>/cluster/clusterWatchMessage`` (NDJSON, JS7's
``ClusterNodeUris.clusterWatchMessages``), answering each with the cluster
command ``ClusterWatchConfirm{requestId, clusterWatchId, clusterWatchRunId,
problem?}`` (ClusterWatchingCommandTest.scala). A request nobody answers
within the heartbeat timeout counts as "no Watch could be asked".

Requests and answers are JS7's (``components/wire/cluster_watch.py``, where
the reference-only ``generation`` and ``clusterWatchState`` are named); the
``correlId`` is JS7's empty one (no correlation). Heartbeats are
``ClusterWatchCheckState`` requests; a node with no cluster yet (``Empty``)
has nothing to tell a Watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError
from msgspec import UNSET

from components.common.cluster.encoding import cluster_state
from components.common.cluster.settings import ClusterSettings
from components.common.cluster.watch import Consent
from components.common.node import Command, query_seconds
from components.wire import cluster as wire
from components.wire.cluster_watch import (
    ClusterWatchCheckEvent,
    ClusterWatchCheckState,
    ClusterWatchConfirm,
)
from components.wire.codec import convert, to_json
from components.wire.events import ClusterEvent

log = logging.getLogger("js7.cluster.watch.PulledWatch")


class PulledWatch:
    def __init__(self, settings: ClusterSettings) -> None:
        self._settings = settings
        self._heartbeat = settings.heartbeat
        self._timeout = settings.timeout
        self._next_id = 0
        self._pending: dict[int, tuple[dict[str, Any], asyncio.Future[ClusterWatchConfirm]]] = {}
        self._changed = asyncio.Event()
        # Who answered last (JS7's clusterWatchId and run), and the requests
        # nobody answered by kind (an event's TYPE, or the state check): for
        # diagnosis — and for a test to see a fail-over asked for in vain.
        self.last_watch: dict[str, Any] = {}
        self.unanswered: Counter[str] = Counter()
        self._closed = False

    def close(self) -> None:
        """The node stops: every request stream ends now, and a new one ends
        at once — an open stream would hold the web server's shutdown until
        its timeout (seen: every stop of a Controller took 10 s, to SIGKILL)."""
        self._closed = True
        self._changed.set()

    def status(self) -> dict[str, Any]:
        return {"lastWatch": self.last_watch, "unanswered": dict(self.unanswered)}

    @property
    def configured(self) -> bool:
        return True

    async def _ask(
        self, own_id: str, st: dict[str, Any], event: dict[str, Any] | None = None
    ) -> ClusterWatchConfirm | None:
        """Queue a request for the Watch and wait for its answer; None when
        nobody answered within the heartbeat timeout (or there is no cluster
        to tell of)."""
        nodes = cluster_state(self._settings, st)
        if isinstance(nodes, wire.Empty):
            return None
        generation = st.get("generation")
        self._next_id += 1
        rid = self._next_id
        common: dict[str, Any] = {
            "requestId": rid,
            "correlId": "",
            "from_": own_id,
            "clusterState": nodes,
            "generation": generation if isinstance(generation, int) else UNSET,
        }
        if event is None:
            request: dict[str, Any] = to_json(ClusterWatchCheckState(**common))
        else:
            typed = convert(event, ClusterEvent, "ClusterEvent")
            request = to_json(ClusterWatchCheckEvent(**common, event=typed))
        future: asyncio.Future[ClusterWatchConfirm] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (request, future)
        self._changed.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            self.unanswered[(event or request)["TYPE"]] += 1
            return None
        finally:
            self._pending.pop(rid, None)

    async def heartbeat(self, own_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        confirm = await self._ask(own_id, state)
        if confirm is None or confirm.refusal() is not None:
            return None
        known = confirm.clusterWatchState
        # Who answered: the active node registers a new Watch in its journal.
        return {
            **(dict(known) if isinstance(known, dict) else {}),
            "clusterWatchId": confirm.clusterWatchId,
        }

    async def consent(self, own_id: str, event: dict[str, Any], state: dict[str, Any]) -> Consent:
        confirm = await self._ask(own_id, state, event)
        if confirm is None:
            return None
        return confirm.refusal() or True

    async def confirm(self, cmd: Command) -> None:
        """``ClusterWatchConfirm``: the Watch's answer to one request; an
        answer to a request no longer waiting (answered, timed out) is void."""
        confirm = convert(cmd, ClusterWatchConfirm, "ClusterCommand")
        self.last_watch = {
            "clusterWatchId": confirm.clusterWatchId,
            "clusterWatchRunId": confirm.clusterWatchRunId,
        }
        entry = self._pending.get(confirm.requestId)
        if entry is not None and not entry[1].done():
            entry[1].set_result(confirm)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """``GET <prefix>/cluster/clusterWatchMessage?clusterWatchId=&keepAlive=``:
        every pending request once, then each new one, an empty line every
        ``keepAlive`` seconds; a request is sent again on the next stream
        (the Watch may have lost it with the last one)."""
        keep_alive = query_seconds(request, "keepAlive", self._heartbeat) or self._heartbeat
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        sent: set[int] = set()
        with contextlib.suppress(ConnectionResetError, ClientConnectionResetError):
            while not self._closed:
                fresh = [r for rid, (r, _) in list(self._pending.items()) if rid not in sent]
                if fresh:
                    sent.update(r["requestId"] for r in fresh)
                    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in fresh)
                    await resp.write(lines.encode())
                    continue
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), keep_alive)
                except TimeoutError:
                    await resp.write(b"\n")
        return resp
