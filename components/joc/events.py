"""JOC's ``events`` long poll, with which JOC's GUI refreshes its views
(js7-api-schemas api-internal.raml ``/events``: event/controllerFilter-
schema.json → event/event-schema.json; JOC's EventServiceFactory and
EventService): History's snapshots ``HistoryOrderStarted`` and
``HistoryOrderTerminated`` (``HistoryChildOrder…`` for a child order), object
type ``ORDERHISTORY``, with the order's workflow — "sent only in an active
JOC Cockpit node" (event200.md): only the instance whose History Service
writes has them.

What must hold: a poll for ``eventId`` answers with every snapshot kept
since, as soon as there is one, else with none (``eventSnapshots`` absent,
the same ``eventId``) when the response period ends; the answer's ``eventId``
is what the next poll sends, so a client that polls in a loop misses no
snapshot and gets none twice. To a client the eventId is opaque (it sends
back what it got). The reference's are milliseconds since the epoch,
strictly increasing: an answer need not wait for a clock tick to end before
it is sure no later snapshot shares its id (it used whole seconds, and every
answer waited for its second to end: up to 1 s of the GUI's latency) — a
poll that found a snapshot waits only ``BURST`` for the rest of a burst —
and ids stay comparable across instances (a GUI polls the new
active with the old one's id after a fail-over). Snapshots are sent without
``eventId`` and distinct within an answer (a burst of one workflow's
terminated orders is one snapshot). JOC keeps events some minutes; the
reference keeps the last ``keep``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

Snapshot = dict[str, Any]
BURST = 0.1  # seconds a poll that found a snapshot waits for the rest of its burst


class EventSnapshots:
    def __init__(self, keep: int = 10_000) -> None:
        self._kept: deque[tuple[int, Snapshot]] = deque(maxlen=keep)  # (eventId, snapshot)
        self._last = 0
        self._arrived = asyncio.Event()

    def _next_id(self) -> int:
        self._last = max(int(time.time() * 1000), self._last + 1)
        return self._last

    def add_history(self, item: dict[str, Any]) -> None:
        """The snapshots of one History write (a ``Feed`` item)."""
        for kind, orders in (("Started", item["started"]), ("Terminated", item["terminated"])):
            for order in orders:
                child = "|" in order["orderId"]
                snapshot = {
                    "eventType": f"History{'ChildOrder' if child else 'Order'}{kind}",
                    "objectType": "ORDERHISTORY",
                    "workflow": {"path": order["workflowPath"], "versionId": order["versionId"]},
                }
                self._kept.append((self._next_id(), snapshot))
        self._arrived.set()

    def _after(self, since: int) -> list[tuple[int, Snapshot]]:
        return [(i, snap) for i, snap in self._kept if i > since]

    async def poll(self, since: int | None, period: float) -> tuple[int, list[Snapshot] | None]:
        """(the next eventId, the snapshots or None) — see the module's doc."""
        now = time.time()
        # Without an eventId: the last second's snapshots and what comes.
        since = int(now * 1000) - 1000 if since is None else since
        deadline = now + period
        while not self._after(since):
            left = deadline - time.time()
            if left <= 0:
                return since, None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return since, None
        await asyncio.sleep(BURST)
        found = self._after(since)
        distinct: list[Snapshot] = []
        for _, snap in found:
            if snap not in distinct:
                distinct.append(snap)
        return found[-1][0], distinct
