"""JOC's ``events`` long poll, with which JOC's GUI refreshes its views
(js7-api-schemas api-internal.raml ``/events``: event/controllerFilter-
schema.json → event/event-schema.json; JOC's EventServiceFactory and
EventService): History's snapshots ``HistoryOrderStarted`` and
``HistoryOrderTerminated`` (``HistoryChildOrder…`` for a child order), object
type ``ORDERHISTORY``, with the order's workflow — "sent only in an active
JOC Cockpit node" (event200.md): only the instance whose History Service
writes has them.

What must hold: a poll for ``eventId`` (seconds, JOC's granularity) answers
with every snapshot of a later second, as soon as there is one, else with
none (``eventSnapshots`` absent, the same ``eventId``) when the response
period ends; the answer's ``eventId`` is what the next poll sends, so a
client that polls in a loop misses no snapshot and gets none twice. As in
JOC, a poll that found a snapshot waits a little for a burst to complete —
here until the second it fell in is over, so that no snapshot of that
second can come later — and snapshots are sent without ``eventId`` and
distinct (a burst of one workflow's terminated orders is one snapshot).
JOC keeps events some minutes; the reference keeps the last ``keep``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

Snapshot = dict[str, Any]


class EventSnapshots:
    def __init__(self, keep: int = 10_000) -> None:
        self._kept: deque[tuple[int, Snapshot]] = deque(maxlen=keep)  # (second, snapshot)
        self._arrived = asyncio.Event()

    def add_history(self, item: dict[str, Any]) -> None:
        """The snapshots of one History write (a ``Feed`` item)."""
        second = int(time.time())
        for kind, orders in (("Started", item["started"]), ("Terminated", item["terminated"])):
            for order in orders:
                child = "|" in order["orderId"]
                snapshot = {
                    "eventType": f"History{'ChildOrder' if child else 'Order'}{kind}",
                    "objectType": "ORDERHISTORY",
                    "workflow": {"path": order["workflowPath"], "versionId": order["versionId"]},
                }
                self._kept.append((second, snapshot))
        self._arrived.set()

    def _after(self, since: int) -> list[tuple[int, Snapshot]]:
        return [(s, snap) for s, snap in self._kept if s > since]

    async def poll(self, since: int | None, period: float) -> tuple[int, list[Snapshot] | None]:
        """(the next eventId, the snapshots or None) — see the module's doc."""
        now = time.time()
        # Without an eventId: from this second on (its earlier snapshots too:
        # "after now" in whole seconds would lose the rest of this one).
        since = int(now) - 1 if since is None else since
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
        last = max(s for s, _ in self._after(since))
        await asyncio.sleep(max(0.0, last + 1 - time.time()) + 0.01)  # its second is over
        found = [(s, snap) for s, snap in self._after(since) if s < int(time.time())]
        distinct: list[Snapshot] = []
        for _, snap in found:
            if snap not in distinct:
                distinct.append(snap)
        return max(s for s, _ in found), distinct
