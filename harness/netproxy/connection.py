"""The data pump: one TCP connection through a proxy, and its links.

A connection is two *links*, one per direction: ``upstream`` carries what the
client sends to the server, ``downstream`` what the server sends back. Each
link is a chain of *stages*, one per toxic of its direction in the order the
toxics were added (like toxiproxy's ToxicLink; the stages are
``harness.netproxy.stages``), ending in a *sink* that writes to the
destination socket.

What must hold:

* With no toxics a link is a direct forwarding path: every chunk read from
  the source is written to the destination in the same event-loop callback;
  flow control pauses reading from the source while the destination's write
  buffer is full.
* Toxics can be added, updated and removed while data flows. Every change is
  synchronous with respect to the data: a removed stage hands what it still
  holds to the next stage before anything newer can arrive, so bytes are
  never reordered or lost by a change of the chain (only toxics that drop
  data on purpose drop it).
* The end of a stream travels through the chain as a *marker* behind the
  data: ``EOF`` (the source half-closed: half-close the destination, the other
  direction keeps flowing), ``CLOSE`` (a toxic or a lost peer ends the
  connection: deliver what is in flight, then close both sides) and
  ``RESET`` (abort both sides with RST).
* Normal network failures (peer reset, upstream refusing) end the connection
  quietly: one log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import Protocol

from harness.netproxy.stages import (
    DOWNSTREAM,
    TOXIC_TYPES,
    UPSTREAM,
    DirectionStats,
    Item,
    Marker,
    Stage,
    Toxic,
)

log = logging.getLogger("harness.netproxy")

# Bytes a link may hold inside its toxics before it stops reading its source.
_PIPE_HIGH = 4 << 20
_PIPE_LOW = 1 << 20
# A destination transport's write buffer above this pauses the source.
_WRITE_HIGH = 1 << 20
_WRITE_LOW = 256 << 10


class Owner(Protocol):
    """What a connection needs from the proxy that accepted it."""

    name: str
    upstream: str

    def toxics_for(self, stream: str) -> list[Toxic]: ...

    def stats_for(self, stream: str) -> DirectionStats: ...

    def connection_opened(self, conn: Connection) -> None: ...

    def connection_closed(self, conn: Connection) -> None: ...


_HOLD_CONNECTING = 1  # the connection is not linked yet
_HOLD_DEST_FULL = 2  # the destination's write buffer is full
_HOLD_PIPE_FULL = 4  # the toxics hold too many bytes
_HOLD_HALTED = 8  # nothing read from here can be delivered any more


class Link:
    """One direction of one connection: source → stages → sink → destination."""

    def __init__(
        self,
        conn: Connection,
        stream: str,
        source: Side,
        dest: Side,
        stats: DirectionStats,
        toxics: list[Toxic],
    ) -> None:
        self.conn = conn
        self.loop = conn.loop
        self.stream = stream
        self.source = source
        self.dest = dest
        self.stats = stats
        self.out: asyncio.Transport = dest.transport  # type: ignore[assignment]
        self.stages: list[Stage] = []
        self.buffered = 0
        self.finished = False  # the sink has ended the stream (or cannot deliver)
        self.fast = True
        for toxic in toxics:
            self.add_toxic(toxic)

    def _refresh(self) -> None:
        self.fast = not self.stages and not self.finished

    # data entering ------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Slow path of ``Side.data_received`` (the fast path is inlined there)."""
        if self.finished and not self.stages:
            return
        self.buffered += len(data)
        self.push(0, data)
        self._pressure()

    def feed_marker(self, marker: Marker) -> None:
        self.push(0, marker)

    def push(self, index: int, item: Item) -> None:
        if index < len(self.stages):
            self.stages[index].accept(item)
        else:
            self._sink(item)

    def _sink(self, item: Item) -> None:
        if isinstance(item, Marker):
            self.conn.on_marker(self, item)
            return
        n = len(item)
        self.buffered -= n
        # A burst from a stage must not hit a socket that just failed: asyncio
        # warns on every write after a connection is lost.
        if not self.finished and not self.out.is_closing():
            self.out.write(item)
            self.stats.sent += n
        self._pressure()

    def discarded(self, n: int) -> None:
        self.buffered -= n
        self._pressure()

    def _pressure(self) -> None:
        held = self.source.holds & _HOLD_PIPE_FULL
        if self.buffered > _PIPE_HIGH:
            if not held:
                self.source.hold(_HOLD_PIPE_FULL)
        elif held and self.buffered <= _PIPE_LOW:
            self.source.release(_HOLD_PIPE_FULL)

    # chain changes ----------------------------------------------------------

    def add_toxic(self, toxic: Toxic) -> None:
        stage = TOXIC_TYPES[toxic.type].stage(self, toxic)
        stage.pos = len(self.stages)
        self.stages.append(stage)
        self._refresh()
        stage.start()

    def _find(self, name: str) -> int | None:
        for i, stage in enumerate(self.stages):
            if stage.toxic.name == name:
                return i
        return None

    def update_toxic(self, toxic: Toxic) -> None:
        i = self._find(toxic.name)
        if i is not None:
            self.stages[i].update(toxic)

    def remove_toxic(self, name: str) -> None:
        i = self._find(name)
        if i is None:
            return
        stage = self.stages.pop(i)
        for j in range(i, len(self.stages)):
            self.stages[j].pos = j
        pending = stage.remove()
        self._refresh()
        for item in pending:
            self.push(i, item)

    def finish(self) -> None:
        self.finished = True
        self.fast = False

    def stop(self) -> None:
        self.finish()
        for stage in self.stages:
            stage.stop()


class Side(asyncio.Protocol):
    """The protocol on one of the two sockets of a connection."""

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.out: Link | None = None  # data read from this socket
        self.into: Link | None = None  # data written to this socket
        self.holds = 0
        self.closing = False  # we closed it on purpose
        self.lost = False
        # Data read before the link exists. pause_reading() in connection_made
        # should prevent that, but CPython before 3.11.3 registers the reader
        # after connection_made anyway: keep the bytes, never drop them.
        self.early: list[bytes] = []

    # flow control ----------------------------------------------------------

    def hold(self, reason: int) -> None:
        if not self.holds and self.transport is not None:
            self.transport.pause_reading()
        self.holds |= reason

    def release(self, reason: int) -> None:
        if self.holds & reason:
            self.holds &= ~reason
            if not self.holds and self.transport is not None:
                self.transport.resume_reading()

    # asyncio callbacks -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=_WRITE_HIGH, low=_WRITE_LOW)
        self.hold(_HOLD_CONNECTING)
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        link = self.out
        if link is None:
            self.early.append(data)
            return
        n = len(data)
        link.stats.received += n
        if link.fast:
            link.out.write(data)
            link.stats.sent += n
        else:
            link.feed(data)

    def eof_received(self) -> bool:
        if self.out is not None:
            self.out.feed_marker(Marker.EOF)
        return True  # keep the socket open: the other direction may still flow

    def pause_writing(self) -> None:
        if self.into is not None:
            self.into.source.hold(_HOLD_DEST_FULL)

    def resume_writing(self) -> None:
        if self.into is not None:
            self.into.source.release(_HOLD_DEST_FULL)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self, exc)

    # closing -----------------------------------------------------------------

    def close(self) -> None:
        """Close after flushing what is buffered."""
        if self.transport is not None and not self.closing and not self.lost:
            self.closing = True
            self.transport.close()

    def abort(self, *, rst: bool = False) -> None:
        """Close now, dropping what is buffered; with ``rst`` send an RST."""
        if self.transport is None or self.lost:
            return
        if rst:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.closing = True
        self.transport.abort()


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port). Raises ValueError."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {address}: invalid port")
    return host, int(port)


class Connection:
    """A client connection accepted by a proxy and its upstream connection."""

    def __init__(self, owner: Owner, loop: asyncio.AbstractEventLoop) -> None:
        self.owner = owner
        self.loop = loop
        self.client = Side(self, "client")
        self.upstream = Side(self, "upstream")
        self.up: Link | None = None
        self.down: Link | None = None
        self.open_sides = 0
        self.connect_task: asyncio.Task[None] | None = None
        self.done = False
        self.aborted = False

    # set-up ----------------------------------------------------------------

    def side_made(self, side: Side) -> None:
        self.open_sides += 1
        if side is self.client:
            self.owner.connection_opened(self)
            self.connect_task = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        upstream = self.owner.upstream
        try:
            host, port = split_host_port(upstream)
            await self.loop.create_connection(lambda: self.upstream, host, port)
        except (OSError, ValueError) as exc:
            self.connect_task = None
            log.warning(
                "proxy %s: unable to open connection to upstream %s: %s",
                self.owner.name,
                upstream,
                exc,
            )
            self.client.close()
            if self.open_sides <= 0:
                self._finish()
            return
        except asyncio.CancelledError:
            self.connect_task = None
            if self.open_sides <= 0:
                self._finish()
            raise
        self.connect_task = None
        if self.aborted or self.client.lost:
            self.upstream.abort()
            return
        self.up = Link(
            self,
            UPSTREAM,
            self.client,
            self.upstream,
            self.owner.stats_for(UPSTREAM),
            self.owner.toxics_for(UPSTREAM),
        )
        self.down = Link(
            self,
            DOWNSTREAM,
            self.upstream,
            self.client,
            self.owner.stats_for(DOWNSTREAM),
            self.owner.toxics_for(DOWNSTREAM),
        )
        self.client.out = self.upstream.into = self.up
        self.upstream.out = self.client.into = self.down
        for side in (self.client, self.upstream):
            early, side.early = side.early, []
            for data in early:
                side.data_received(data)
        self.client.release(_HOLD_CONNECTING)
        self.upstream.release(_HOLD_CONNECTING)

    # toxic changes -----------------------------------------------------------

    def _link(self, stream: str) -> Link | None:
        return self.up if stream == UPSTREAM else self.down

    def add_toxic(self, toxic: Toxic) -> None:
        link = self._link(toxic.stream)
        if link is not None and not self.done:
            link.add_toxic(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        link = self._link(toxic.stream)
        if link is not None and not self.done:
            link.update_toxic(toxic)

    def remove_toxic(self, stream: str, name: str) -> None:
        link = self._link(stream)
        if link is not None and not self.done:
            link.remove_toxic(name)

    # ends of streams -----------------------------------------------------------

    def _peer_link(self, link: Link) -> Link:
        other = self.down if link is self.up else self.up
        assert other is not None
        return other

    def on_marker(self, link: Link, marker: Marker) -> None:
        """A marker reached the sink of ``link``."""
        if self.done:
            return
        other = self._peer_link(link)
        if marker is Marker.EOF:
            if link.finished:
                return
            link.finish()
            dest = link.dest
            if dest.transport is not None and not dest.closing and not dest.lost:
                if dest.transport.can_write_eof():
                    dest.transport.write_eof()
                else:
                    dest.close()
            if other.finished:
                self.close()
        elif marker is Marker.CLOSE:
            link.finish()
            link.source.hold(_HOLD_HALTED)
            link.dest.close()
            if other.finished:
                link.source.close()
            else:
                # Nothing more is read from the closed side; what the other
                # direction still holds is delivered, then it closes too.
                other.feed_marker(Marker.CLOSE)
        else:
            self.reset()

    def side_lost(self, side: Side, exc: Exception | None) -> None:
        self.open_sides -= 1
        if self.done:
            return
        if self.up is None or self.down is None:
            # Not linked yet: the client went away, or the upstream connect
            # failed or was abandoned.
            if side is self.client and self.connect_task is not None:
                self.connect_task.cancel()
            if self.open_sides <= 0 and self.connect_task is None:
                self._finish()
            elif side is self.client:
                self.upstream.abort()
            return
        if self.open_sides <= 0:
            self._finish()
            return
        if side.closing:
            return  # we closed it; the other side follows through the markers
        if exc is not None:
            log.debug("proxy %s: %s connection lost: %s", self.owner.name, side.role, exc)
        # Nothing can be written to ``side`` any more, and nothing more comes
        # from it: deliver what the other way holds, then close the other side.
        other = self.upstream if side is self.client else self.client
        assert side.into is not None and side.out is not None
        side.into.stop()
        other.hold(_HOLD_HALTED)
        if side.out.finished:
            other.close()
        else:
            side.out.feed_marker(Marker.CLOSE)

    # tear-down -----------------------------------------------------------------

    def close(self) -> None:
        """Both directions ended: close both sockets after flushing."""
        self.client.close()
        self.upstream.close()

    def reset(self) -> None:
        """Abort both sockets with RST."""
        self._stop_links()
        self.client.abort(rst=True)
        self.upstream.abort(rst=True)

    def abort(self) -> None:
        """The proxy stops: drop the connection now."""
        self.aborted = True
        if self.connect_task is not None:
            self.connect_task.cancel()
        self._stop_links()
        self.client.abort()
        self.upstream.abort()
        if self.open_sides <= 0:
            self._finish()

    def _stop_links(self) -> None:
        for link in (self.up, self.down):
            if link is not None:
                link.stop()

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self._stop_links()
        self.owner.connection_closed(self)
