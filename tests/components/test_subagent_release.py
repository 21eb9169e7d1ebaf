"""A Director releases a Subagent's events only once its passive has them:
the journal's meta says how far the Director committed locally, and a
release from there, before the passive acknowledged, let a fail-over ask the
Subagent for events it had already forgotten (EventSeqTorn, an order's
OrderProcessed lost: AGT-DIRECTOR-FAILOVER[kill])."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from components.agent.subagents import RemoteSubagent
from components.wire.subagent import SubagentItem


class _Cfg:
    def seconds(self, _key: str, default: float) -> float:
        return default


class _Journal:
    def __init__(self) -> None:
        self._meta: dict[str, Any] = {}

    def meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)


class _Keeper:
    """Commits at once (the meta moves), then waits for the passive."""

    def __init__(self) -> None:
        self.journal = _Journal()
        self.agent = type("Agent", (), {"cfg": _Cfg()})()
        self.replicated = asyncio.Event()

    async def persist(self, _events: list[Any], meta: dict[str, Any] | None = None) -> None:
        self.journal._meta.update(meta or {})
        await self.replicated.wait()


class _Client:
    def __init__(self) -> None:
        self.released: list[int] = []
        self.sent = asyncio.Event()

    async def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        self.released.append(cmd["untilEventId"])
        self.sent.set()
        return {"TYPE": "Accepted"}


async def test_events_are_released_only_once_the_passive_has_them():
    keeper = _Keeper()
    item = SubagentItem(id="subagent-1", agentPath="agent-1", uri="http://x")
    sub = RemoteSubagent(keeper, item)  # type: ignore[arg-type]
    client = _Client()
    releasing = asyncio.create_task(sub._releaser(client))  # type: ignore[arg-type]
    batch = [{"TYPE": "OrderStdoutWritten", "Key": "o", "chunk": "x", "eventId": 1000}]
    journaling = asyncio.create_task(sub._journal_batch(batch))
    await asyncio.sleep(0.5)  # the releaser's own period is 0.2 s
    assert sub.event_id == 1000 and client.released == []  # committed, not replicated
    keeper.replicated.set()
    await journaling
    sub._release_now.set()
    await asyncio.wait_for(client.sent.wait(), 5)
    assert client.released == [1000]
    releasing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await releasing
