"""What an Agent does with its orders, as the harness follows it on JS7's
public event API (``GET /agent/api/event``): JS7's Agent has no ``GET`` for
orders, and its events are what it forwards to the Controller.

``AgentOrders`` folds the Agent's order events into each order's *status*
in JS7's spelling, as ``Order.applyEvent`` would leave it
(js7-data/.../order/Order.scala): ``Fresh``/``Ready`` when attached (the
order's state in ``OrderAttachedToAgent``), ``Ready`` after ``OrderStarted``
or ``OrderMoved`` (``OrderCaught``, ``OrderAwoke``), ``Processing``,
``Processed``, ``Sleeping`` (``OrderSleeping``), ``DelayingRetry``
(``OrderRetrying`` with ``delayedUntil``), and ``Detaching`` after
``OrderDetachable`` (its ``attachedState``); ``OrderDetached`` removes it.

What must hold: the watch is started before the orders it is asked about
reach the Agent, and keeps up with its events. An Agent deletes events once
the Controller released them, so a watch that fell behind that far cannot
tell; it says so (``AgentEventsLost``, a harness error), never guesses.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from harness.clients.js7 import torn_event_id
from harness.clients.node import Js7Client, ProblemError
from harness.deployment import Deployment
from harness.errors import HarnessError
from harness.workload import read_all_events

STATUS_AFTER = {
    "OrderStarted": "Ready",
    "OrderProcessingStarted": "Processing",
    "OrderProcessed": "Processed",
    "OrderMoved": "Ready",
    "OrderCaught": "Ready",
    "OrderAwoke": "Ready",
    "OrderSleeping": "Sleeping",
    "OrderDetachable": "Detaching",
}


class AgentEventsLost(HarnessError):
    """The Agent deleted events the watch had not read yet."""


class AgentOrders:
    """Follows one Agent's events from ``start()`` on; ``statuses()`` is each
    order's status now. Stopped with the deployment."""

    def __init__(self, dep: Deployment, client: Js7Client) -> None:
        self.dep = dep
        self.client = client
        self._status: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []  # every order event read, in order
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def start(self) -> AgentOrders:
        after = await _last_event_id(self.client)
        self._task = asyncio.create_task(self._follow(after), name="agent-orders")
        self.dep.on_close(self.stop)
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def apply(self, event: dict[str, Any]) -> None:
        oid, kind = event.get("Key"), event.get("TYPE")
        if not isinstance(oid, str):
            return
        self.events.append(event)
        if kind == "OrderAttachedToAgent":
            self._status[oid] = str((event.get("state") or {}).get("TYPE", "Fresh"))
        elif kind == "OrderDetached":
            self._status.pop(oid, None)
        elif kind == "OrderRetrying" and oid in self._status:
            self._status[oid] = "DelayingRetry" if "delayedUntil" in event else "Ready"
        elif kind in STATUS_AFTER and oid in self._status:
            self._status[oid] = STATUS_AFTER[kind]

    @property
    def last_event_id(self) -> int:
        """The eventId of the last order event read (0: none yet)."""
        return int(self.events[-1]["eventId"]) if self.events else 0

    async def statuses(self) -> dict[str, str]:
        """Each order on the Agent and its status (an awaitable, to be a
        ``Deployment.wait_for`` probe)."""
        if self._error is not None:
            raise self._error
        return dict(self._status)

    async def _follow(self, after: int) -> None:
        while True:
            try:
                async for event in self.client.events(after, timeout=1.0):
                    self.apply(event)
                    after = event["eventId"]
            except ProblemError as exc:
                if exc.code == "EventSeqTorn":
                    self._error = AgentEventsLost(
                        f"the Agent deleted events after {after} before the watch read them"
                    )
                    return
                await asyncio.sleep(self.dep.profile.poll_interval)
            except (aiohttp.ClientError, OSError, TimeoutError):
                # The Agent is away for a moment: ask again, from where we were.
                await asyncio.sleep(self.dep.profile.poll_interval)


async def _last_event_id(client: Js7Client) -> int:
    """The Agent's last eventId now, by JS7's event API alone."""
    torn = await torn_event_id(client)
    held = await read_all_events(client, after=torn)
    return int(held[-1]["eventId"]) if held else torn
