"""The push feed: server-sent events announcing new history items.

What must hold: a slow subscriber never slows History down — its queue is
bounded and a subscriber that fell behind is dropped (it reconnects and reads
the database); only the active instance publishes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("js7.joc.feed")


class Feed:
    def __init__(self, queue_size: int = 10_000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with every item published (JOC's ``events``)."""
        self._listeners.append(listener)

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(self.queue_size)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(q)

    def publish(self, item: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(item)
            except Exception:  # History must go on whatever a listener does
                log.exception("a feed listener failed on %s", item.get("TYPE"))
        for q in list(self._subscribers):
            try:
                q.put_nowait(item)
            except asyncio.QueueFull:
                self._subscribers.discard(q)

    def close_all(self) -> None:
        """End every subscription (this instance is no longer active)."""
        for q in list(self._subscribers):
            self._subscribers.discard(q)
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)
