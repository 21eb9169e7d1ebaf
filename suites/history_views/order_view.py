"""What JOC's GUI shows in its Order History on one instance, kept as the
GUI keeps it: JOC's ``events`` long poll runs all the time, and each answer
that brings a History snapshot (``HistoryOrderStarted``/``…Terminated``,
"sent only in an active JOC Cockpit node") makes the view read
``orders/history`` again with its filter (history.component.ts refreshes on
these events). Nothing else refreshes it: on a standby, new items appear only
when the user navigates (``navigate``).

The view notes when each order was first listed as terminated (wall clock,
seconds since the epoch: the components run on this host's clock), and every
History snapshot that made it refresh."""

from __future__ import annotations

import time
from typing import Any

from harness.clients.joc import JocClient
from harness.clients.joc_events import JocEvents, Poll


class OrderHistoryView:
    def __init__(self, client: JocClient, query: dict[str, Any]) -> None:
        self.client = client
        self.query = query
        self.first_ended: dict[str, float] = {}  # orderId -> first listed terminated
        self.pushes: list[dict[str, Any]] = []  # the History snapshots that refreshed it
        self.events = JocEvents(client, on_poll=self._on_poll)

    def open(self) -> OrderHistoryView:
        self.events.start()
        return self

    async def close(self) -> None:
        await self.events.stop()

    async def _on_poll(self, poll: Poll) -> None:
        history = [s for s in poll.snapshots if str(s.get("eventType", "")).startswith("History")]
        if history:
            self.pushes += history
            await self.navigate()

    async def navigate(self) -> list[str]:
        """Read the view as a user opening it would; the order ids listed."""
        rows = (await self.client.post("orders/history", self.query))["history"]
        now = time.time()
        for row in rows:
            if row.get("endTime") and row["orderId"] not in self.first_ended:
                self.first_ended[row["orderId"]] = now
        return [row["orderId"] for row in rows]
