"""A reader of JOC's ``events`` long poll (what JOC's GUI refreshes its views
with): polls in a loop from the eventId each answer gives, and keeps every
snapshot with the wall-clock time its answer arrived — written against the
wire only (js7-api-schemas api-internal.raml ``/events``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from harness.clients.joc import JocClient, JocProblem


@dataclass
class Poll:
    started: float  # wall clock
    ended: float
    snapshots: list[dict[str, Any]] = field(default_factory=list)


class JocEvents:
    def __init__(
        self,
        client: JocClient,
        controller_id: str = "js7",
        on_poll: Callable[[Poll], Awaitable[None]] | None = None,
    ) -> None:
        """``on_poll`` is awaited with every answer before the next poll (a
        view that refreshes on events; its errors end the reading too)."""
        self.client = client
        self.controller_id = controller_id
        self.on_poll = on_poll
        self.polls: list[Poll] = []
        self.failed: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> JocEvents:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        event_id: int | None = None
        try:
            while True:
                body: dict[str, Any] = {"controllerId": self.controller_id}
                if event_id is not None:
                    body["eventId"] = event_id
                started = time.time()
                answer = await self.client.post("events", body)
                poll = Poll(started, time.time(), answer.get("eventSnapshots") or [])
                self.polls.append(poll)
                event_id = answer["eventId"]
                if self.on_poll is not None:
                    await self.on_poll(poll)
        except (aiohttp.ClientError, OSError, TimeoutError, JocProblem) as exc:
            # The instance went away or refused: the reading ends, saying why.
            self.failed = f"{type(exc).__name__}: {exc}"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def of_type(self, event_type: str) -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, snapshot) of every snapshot of ``event_type``."""
        return [
            (p.ended, s) for p in self.polls for s in p.snapshots if s["eventType"] == event_type
        ]
