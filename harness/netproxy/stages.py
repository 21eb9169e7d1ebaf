"""The toxics: what a toxic is as the API shows it, and the *stage* that
carries out each type on one direction of one connection — latency,
bandwidth, slow_close, timeout, reset_peer, slicer, limit_data (and noop),
with toxiproxy's attributes and semantics.

A stage receives items (bytes, or a ``Marker`` ending the stream) from the
stage before it and emits them to the next through its ``Chain`` (the link,
``harness.netproxy.connection``); what it holds it hands back when it is
updated or removed, so a change of the chain never reorders or loses bytes.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)


class Marker(enum.Enum):
    """End-of-stream events travelling through a link behind the data."""

    EOF = "eof"
    CLOSE = "close"
    RESET = "reset"


Item = bytes | Marker


@dataclass
class Toxic:
    """A toxic as the API shows it. Stages read ``attributes`` on every use, and
    the API replaces (never mutates) a toxic when it is updated."""

    name: str
    type: str
    stream: str
    toxicity: float = 1.0
    attributes: dict[str, int] = field(default_factory=dict)

    def attr(self, key: str) -> int:
        return self.attributes.get(key, 0)

    def to_json(self) -> dict[str, object]:
        toxicity: float | int = self.toxicity
        if float(toxicity).is_integer():
            toxicity = int(toxicity)  # Go prints float32 1.0 as 1
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": toxicity,
        }


class DirectionStats:
    """Byte counters of one direction of one proxy (for /metrics)."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0


class Chain(Protocol):
    """What a stage needs from the link it is part of."""

    loop: asyncio.AbstractEventLoop

    def push(self, index: int, item: Item) -> None:
        """Hand ``item`` to the stage at ``index`` (past the last: the sink)."""
        ...

    def discarded(self, n: int) -> None:
        """``n`` bytes held in the chain were dropped on purpose."""
        ...


class Stage:
    """One toxic on one link. The base class passes everything through (noop).

    A stage is *active* when its toxicity draw succeeded; an inactive stage is
    a plain pass-through. Subclasses keep what they hold in their own queues,
    hand it back from ``take_pending`` (which also stops their timers), and
    must check ``alive`` after every ``emit``: emitting can end the
    connection, which stops every stage re-entrantly.
    """

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        self.link = link
        self.toxic = toxic
        self.loop = link.loop
        self.pos = 0
        self.active = False
        self.alive = True
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Draw the toxicity (once per connection, and again on update)."""
        self.active = random.random() < self.toxic.toxicity
        if self.active:
            self.on_start()

    def accept(self, item: Item) -> None:
        if not self.alive:
            self.discard(item)
        elif self.active:
            self.handle(item)
        else:
            self.emit(item)

    def emit(self, item: Item) -> None:
        self.link.push(self.pos + 1, item)

    def discard(self, item: Item) -> None:
        if not isinstance(item, Marker):
            self.link.discarded(len(item))

    def update(self, toxic: Toxic) -> None:
        """Restart with new settings; what the stage held is processed again."""
        pending = self.take_pending()
        self.toxic = toxic
        self.start()
        for item in pending:
            self.accept(item)

    def remove(self) -> list[Item]:
        """Stop for good; return what must still flow on, in order."""
        pending = self.take_pending()
        if self.active:
            pending.extend(self.on_remove())
        self.alive = False
        return pending

    def stop(self) -> None:
        """The connection is gone: drop everything."""
        self.alive = False
        self.take_pending()

    # hooks -----------------------------------------------------------------

    def on_start(self) -> None:
        pass

    def handle(self, item: Item) -> None:
        self.emit(item)

    def take_pending(self) -> list[Item]:
        self._disarm()
        return []

    def on_remove(self) -> list[Item]:
        return []

    # timers ----------------------------------------------------------------

    def _arm(self, when: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self.timer = self.loop.call_at(when, callback)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class LatencyStage(Stage):
    """Delay every chunk by ``latency`` ± ``jitter`` ms from when it entered the
    stage; order is kept, end markers follow the data without extra delay."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.queue: collections.deque[tuple[float, Item]] = collections.deque()
        self.last_due = 0.0

    def _delay(self) -> float:
        delay = self.toxic.attr("latency")
        jitter = self.toxic.attr("jitter")
        if jitter > 0:
            delay += random.randrange(2 * jitter) - jitter  # as Go: Int63n(2j) - j
        return max(delay, 0) / 1000.0

    def handle(self, item: Item) -> None:
        now = self.loop.time()
        due = now if isinstance(item, Marker) else now + self._delay()
        due = max(due, self.last_due)
        self.last_due = due
        if not self.queue and due <= now:
            self.emit(item)
            return
        self.queue.append((due, item))
        if self.timer is None:
            self._arm(self.queue[0][0], self._fire)

    def _fire(self) -> None:
        self.timer = None
        now = self.loop.time() + 1e-6
        while self.alive and self.queue and self.queue[0][0] <= now:
            self.emit(self.queue.popleft()[1])
        if self.alive and self.queue and self.timer is None:
            self._arm(self.queue[0][0], self._fire)

    def take_pending(self) -> list[Item]:
        self._disarm()
        items = [item for _, item in self.queue]
        self.queue.clear()
        self.last_due = 0.0
        return items


class BandwidthStage(Stage):
    """Pass at most ``rate`` KB/s (1 KB = 1000 bytes, as toxiproxy): each piece
    is released once its transmission time at that rate has elapsed; chunks
    larger than 100 ms worth of data go out in 100 ms pieces."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.queue: collections.deque[Item] = collections.deque()
        self.clock = 0.0
        self.release_at: float | None = None
        self.release_n = 0

    def handle(self, item: Item) -> None:
        self.queue.append(item)
        if self.timer is None:
            self._pump()

    def _pump(self) -> None:
        self.timer = None
        while self.alive and self.queue:
            item = self.queue[0]
            rate = self.toxic.attr("rate")
            if isinstance(item, Marker) or rate <= 0:
                self.queue.popleft()
                self.release_at = None
                self.emit(item)
                continue
            now = self.loop.time()
            if self.release_at is None:
                self.release_n = min(len(item), rate * 100)
                self.release_at = max(self.clock, now) + self.release_n / (rate * 1000.0)
            if self.release_at > now + 1e-6:
                self._arm(self.release_at, self._pump)
                return
            piece, rest = item[: self.release_n], item[self.release_n :]
            if rest:
                self.queue[0] = rest
            else:
                self.queue.popleft()
            self.clock = self.release_at
            self.release_at = None
            self.emit(piece)

    def take_pending(self) -> list[Item]:
        self._disarm()
        items = list(self.queue)
        self.queue.clear()
        self.release_at = None
        return items


class SlowCloseStage(Stage):
    """Pass data at once; hold the end of the stream for ``delay`` ms."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.held: list[Item] = []

    def handle(self, item: Item) -> None:
        if self.held:
            self.held.append(item)
        elif isinstance(item, Marker):
            self.held.append(item)
            delay = self.toxic.attr("delay") / 1000.0
            self._arm(self.loop.time() + delay, self._release)
        else:
            self.emit(item)

    def _release(self) -> None:
        self.timer = None
        held, self.held = self.held, []
        for item in held:
            if not self.alive:
                break
            self.emit(item)

    def take_pending(self) -> list[Item]:
        self._disarm()
        held, self.held = self.held, []
        return held


class TimeoutStage(Stage):
    """Swallow all data. With ``timeout`` > 0 close the connection that many ms
    after the toxic started on it; with 0 never (a black hole). End markers
    pass. Removing the toxic closes the connection, as in toxiproxy: the data
    it swallowed is gone, so the stream cannot be resumed."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.expired = False

    def on_start(self) -> None:
        timeout = self.toxic.attr("timeout")
        if timeout > 0:
            self._arm(self.loop.time() + timeout / 1000.0, self._expire)

    def _expire(self) -> None:
        self.timer = None
        self.expired = True
        self.emit(Marker.CLOSE)

    def handle(self, item: Item) -> None:
        if isinstance(item, Marker) and not self.expired:
            self.emit(item)
        else:
            self.discard(item)

    def on_remove(self) -> list[Item]:
        return [] if self.expired else [Marker.CLOSE]


class ResetPeerStage(Stage):
    """On the first data (or end of stream), wait ``timeout`` ms, then reset
    both sides (RST). Everything reaching the stage is dropped."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.triggered = False

    def handle(self, item: Item) -> None:
        self.discard(item)
        if not self.triggered:
            self.triggered = True
            when = self.loop.time() + self.toxic.attr("timeout") / 1000.0
            self._arm(when, self._reset)

    def _reset(self) -> None:
        self.timer = None
        self.emit(Marker.RESET)

    def take_pending(self) -> list[Item]:
        self._disarm()
        self.triggered = False
        return []


class SlicerStage(Stage):
    """Split data into slices of about ``average_size`` ± ``size_variation``
    bytes, waiting ``delay`` µs after each slice (toxiproxy's algorithm)."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.queue: collections.deque[Item] = collections.deque()

    def _slices(self, data: bytes) -> list[bytes]:
        average = max(1, self.toxic.attr("average_size"))
        variation = max(0, self.toxic.attr("size_variation"))
        out: list[bytes] = []
        stack = [(0, len(data))]
        while stack:
            start, end = stack.pop()
            if (end - start) - average <= variation:
                out.append(data[start:end])
                continue
            mid = start + (end - start) // 2
            if variation > 0:
                mid += random.randrange(2 * variation) - variation
            mid = min(max(mid, start + 1), end - 1)
            stack.append((mid, end))
            stack.append((start, mid))
        return out

    def handle(self, item: Item) -> None:
        if isinstance(item, Marker):
            self.queue.append(item)
        else:
            self.queue.extend(self._slices(item))
        if self.timer is None:
            self._pump()

    def _pump(self) -> None:
        self.timer = None
        while self.alive and self.queue:
            item = self.queue.popleft()
            self.emit(item)
            delay = self.toxic.attr("delay")
            if delay > 0 and not isinstance(item, Marker) and self.alive:
                self._arm(self.loop.time() + delay / 1e6, self._pump)
                return

    def take_pending(self) -> list[Item]:
        self._disarm()
        items = list(self.queue)
        self.queue.clear()
        return items


class LimitDataStage(Stage):
    """Pass ``bytes`` bytes in total on this connection (kept across updates),
    then close the connection."""

    def __init__(self, link: Chain, toxic: Toxic) -> None:
        super().__init__(link, toxic)
        self.passed = 0
        self.closed = False

    def handle(self, item: Item) -> None:
        if self.closed:
            self.discard(item)
            return
        if isinstance(item, Marker):
            self.emit(item)
            return
        remaining = max(0, self.toxic.attr("bytes") - self.passed)
        if remaining < len(item):
            self.link.discarded(len(item) - remaining)
            item = item[:remaining]
        if item:
            self.passed += len(item)
            self.emit(item)
        if self.alive and self.toxic.attr("bytes") - self.passed <= 0:
            self.closed = True
            self.emit(Marker.CLOSE)


@dataclass(frozen=True)
class ToxicType:
    """A registered toxic: its attributes (all integers, default 0, in the
    order toxiproxy prints them) and its stage."""

    name: str
    attributes: tuple[str, ...]
    stage: type[Stage]


TOXIC_TYPES: dict[str, ToxicType] = {
    t.name: t
    for t in (
        ToxicType("noop", (), Stage),
        ToxicType("latency", ("latency", "jitter"), LatencyStage),
        ToxicType("bandwidth", ("rate",), BandwidthStage),
        ToxicType("slow_close", ("delay",), SlowCloseStage),
        ToxicType("timeout", ("timeout",), TimeoutStage),
        ToxicType("reset_peer", ("timeout",), ResetPeerStage),
        ToxicType("slicer", ("average_size", "size_variation", "delay"), SlicerStage),
        ToxicType("limit_data", ("bytes",), LimitDataStage),
    )
}
