"""The journal's event-loop half: opening and closing, persist, reads from
memory and disk, replication and snapshots, release — the state in memory
changes only here, after the writer thread committed (``writer``)."""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import fcntl
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from components.common.eventid import EventId, EventIdGenerator
from components.common.journal.base import (
    _RESERVED_META,
    REPLICATION_BASE,
    Event,
    StateChange,
)
from components.common.journal.codec import (
    _check_utf8,
    _decode,
    _encode,
    _Invalid,
    _json_text,
    _quote,
)
from components.common.journal.errors import (
    EventSeqTorn,
    JournalBroken,
    JournalClosed,
    JournalError,
    JournalWriteFailed,
    UnknownEventId,
)
from components.common.journal.requests import (
    _Apply,
    _Install,
    _Persist,
    _Release,
    _ReleaseJob,
    _ReplicatedCommit,
    _Request,
    _Stop,
)
from components.common.journal.writer import WriterThread


class Journal(WriterThread):
    """Events, state and meta of one component, in one SQLite file.

    Use ``await Journal.open(path)``; one Journal per file (a lock file
    ``<path>.lock`` refuses a second opener, in this process or another).
    """

    path: Path
    last_event_id: int
    torn_event_id: int
    stats: dict[str, int]

    def __init__(self, path: Path, clock: Callable[[], float], tail_cache: int) -> None:
        """Use ``Journal.open``; this only sets fields."""
        if tail_cache < 0:
            raise ValueError("tail_cache must be >= 0")
        self.path = Path(path)
        self.last_event_id = EventId.BeforeFirst
        self.torn_event_id = EventId.BeforeFirst
        self.stats = {
            "transactions": 0,  # write transactions committed (one fsync each)
            "commits": 0,  # persist() calls committed
            "events": 0,
            "failed_transactions": 0,
            "max_group": 0,  # most persist() calls in one transaction
            "release_transactions": 0,
            "vacuums": 0,
            "compaction_errors": 0,
        }
        self._clock = clock
        self._tail_cache = tail_cache
        self._tail_slack = tail_cache // 4
        self._state: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, Any] = {}
        # Tail cache: every event with _floor < id <= last_event_id, in order.
        self._ids: list[int] = []
        self._lines: list[str] = []
        self._floor = EventId.BeforeFirst
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._changed: asyncio.Future[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._broken: BaseException | None = None
        self._w_dead: BaseException | None = None  # set by the writer thread as it dies
        # Writer-thread-only fields.
        self._gen = EventIdGenerator(clock=clock)
        self._w_last = EventId.BeforeFirst
        self._w_torn = EventId.BeforeFirst
        self._w_job: _ReleaseJob | None = None

    # --- opening and closing ----------------------------------------------

    @classmethod
    async def open(
        cls, path: Path, *, clock: Callable[[], float] = time.time, tail_cache: int = 100_000
    ) -> Journal:
        """Create or recover the journal at ``path``; afterwards memory holds
        exactly what the last committed transaction left on disk."""
        self = cls(path, clock, tail_cache)
        await self._start()
        return self

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._changed = loop.create_future()
        self._lock_fd = self._take_lock()
        init: concurrent.futures.Future[tuple[Any, ...]] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._writer_main,
            args=(init,),
            name=f"journal-writer:{self.path.name}",
            daemon=True,
        )
        try:
            self._thread.start()
            loaded = await asyncio.wrap_future(init)
            state, meta, tail, last, torn = loaded
            self._state, self._meta = state, meta
            self.last_event_id, self.torn_event_id = last, torn
            self._load_tail(tail)
            self._reader = sqlite3.connect(
                self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000
            )
            self._reader.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            self._abort_start()
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        except BaseException:
            self._abort_start()
            raise

    def _abort_start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_Stop(None))
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._release_lock()

    def _take_lock(self) -> int:
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"journal {self.path} is already open (lock {self.path}.lock)"
            ) from None
        return fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    async def close(self) -> None:
        """Finish every persist/release already accepted, stop the writer and
        close both connections. Safe to call twice; later calls to any other
        method raise JournalClosed."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
            return
        loop = asyncio.get_running_loop()
        self._closing = loop.create_future()
        try:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._thread is not None and self._thread.is_alive():
                stopped: asyncio.Future[None] = loop.create_future()
                self._submit(_Stop(stopped))
                await stopped
                await asyncio.to_thread(self._thread.join)
            self._release_lock()
        finally:
            self._wake()
            self._closing.set_result(None)

    def _submit(self, req: _Request) -> None:
        self._queue.put(req)
        # The writer sets _w_dead before draining the queue, so a request put
        # after that drain is seen here and failed by us (done() guards twice).
        if self._w_dead is not None:
            self._w_failed_requests([req], self._w_dead)

    def _check_usable(self) -> None:
        if self._closing is not None:
            raise JournalClosed(f"journal {self.path} is closed")
        if self._broken is not None:
            raise JournalBroken(f"journal {self.path} is broken: {self._broken}") from self._broken

    # --- reading memory ------------------------------------------------------

    def state(self, kind: str) -> Mapping[str, Any]:
        """A live read-only view of the committed state of ``kind`` (values
        must not be mutated)."""
        self._check_closed()
        return MappingProxyType(self._state.setdefault(kind, {}))

    def get(self, kind: str, key: str) -> Any | None:
        self._check_closed()
        entries = self._state.get(kind)
        return None if entries is None else entries.get(key)

    def meta(self, key: str, default: Any = None) -> Any:
        """The committed meta value (JSON-decoded), including the reserved
        ``schema_version``, ``last_event_id`` and ``torn_event_id``."""
        self._check_closed()
        return self._meta.get(key, default)

    def _check_closed(self) -> None:
        if self._closing is not None:
            raise JournalClosed(f"journal {self.path} is closed")

    # --- persisting ---------------------------------------------------------

    async def persist(
        self,
        events: Sequence[Event],
        changes: Sequence[StateChange] = (),
        meta: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Commit ``events``, ``changes`` and ``meta`` in one transaction and
        return the stamped events once COMMIT returned.

        Concurrent calls share a transaction (group commit); ids follow call
        order. An argument that is not JSON-serialisable raises TypeError or
        ValueError to this caller only, before anything is queued. If the
        group's transaction fails, every caller in it gets JournalWriteFailed
        (nothing visible) or JournalBroken (COMMIT failed, outcome unknown).
        A caller cancelled once the request is queued still waits for the
        transaction's end, then raises CancelledError: when it returns, the
        commit has happened or failed, never "maybe later". A reader that
        journals events with how far it read them, cut off meanwhile, would
        otherwise reconnect from the old position while the commit was still
        on its way, and journal the same events twice (found by
        AGT-DIRECTOR-FAILOVER[pause]: the Controller mirrored an Agent's
        ``OrderProcessingStarted`` twice).
        """
        self._check_usable()
        assert self._loop is not None
        req = self._encode_persist(events, changes, meta, self._loop.create_future())
        self._submit(req)
        try:
            return await asyncio.shield(req.future)
        except asyncio.CancelledError:
            if not req.future.done():
                # A second cancellation ends this wait, never the commit.
                await asyncio.wait({req.future})
            raise

    def _encode_persist(
        self,
        events: Sequence[Event],
        changes: Sequence[StateChange],
        meta: Mapping[str, Any] | None,
        future: asyncio.Future[list[dict[str, Any]]],
    ) -> _Persist:
        # Hot path: one try for the whole call; `what` names the item being
        # encoded only for the error message.
        copies: list[Event] = []
        bodies: list[str] = []
        state: list[tuple[str, str, str | None]] = []
        parts: list[str] = []
        meta_items: list[tuple[str, str | None]] = []
        meta_parts: list[str] = []
        what: tuple[Any, ...] = ("event",)
        try:
            for event in events:
                if type(event) is not dict and not isinstance(event, Mapping):
                    raise _Invalid(f"an event must be a mapping, not {type(event).__name__}")
                copy = dict(event)
                if "eventId" in copy or "timestamp" in copy:
                    raise _Invalid(
                        "an event must not carry eventId or timestamp; the journal stamps"
                    )
                what = ("event", copy.get("TYPE"))
                copies.append(copy)
                bodies.append(_encode(copy))
            for kind, key, value in changes:
                if type(kind) is not str or type(key) is not str:
                    raise _Invalid(f"state kind and key must be str: {kind!r}, {key!r}")
                what = ("state", kind, key)
                text = None if value is None else _encode(value)
                state.append((kind, key, text))
                parts.append(f"[{_quote(kind)},{_quote(key)},{'null' if text is None else text}]")
            for key, value in (meta or {}).items():
                if type(key) is not str or key in _RESERVED_META:
                    raise _Invalid(f"meta key {key!r} is reserved or not a str")
                what = ("meta", key)
                text = None if value is None else _encode(value)
                meta_items.append((key, text))
                meta_parts.append(f"{_quote(key)}:{'null' if text is None else text}")
        except _Invalid:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            name = " ".join(map(repr, what))
            raise type(exc)(f"{name} is not JSON-serialisable: {exc}") from None
        changes_json = f'{{"state":[{",".join(parts)}],"meta":{{{",".join(meta_parts)}}}}}'
        # Every kind, key and value is inside changes_json: one check covers them.
        _check_utf8(changes_json, *bodies)
        return _Persist(copies, bodies, state, meta_items, changes_json, future)

    # --- replication ----------------------------------------------------------

    def commits_after(self, position: int, limit: int = 1000) -> list[dict[str, Any]]:
        """The commits after ``position`` (a commit's last event id, or
        ``torn_event_id``), oldest first, at most ``limit``:
        ``[{"position": p, "events": [line, ...], "changes": {...}}]``.

        Raises EventSeqTorn if ``position < torn_event_id`` and UnknownEventId
        if ``position`` is neither ``torn_event_id`` nor a commit's position.
        Commits of ``persist()`` calls without events do not exist: their
        changes are not replicated through here.
        """
        self._check_closed()
        if limit <= 0:
            raise ValueError("limit must be > 0")
        self._check_after(position)
        upper = self.last_event_id
        reader = self._conn()
        reader.execute("BEGIN")
        try:
            torn = self._disk_torn(reader)
            if position < torn:
                raise EventSeqTorn(position, torn)
            # After install_snapshot, its position is where commits start.
            base = self._meta.get(REPLICATION_BASE)
            if position not in (torn, base) and (
                reader.execute("SELECT 1 FROM commits WHERE position=?", (position,)).fetchone()
                is None
            ):
                raise UnknownEventId(position, "not the position of a commit")
            rows = reader.execute(
                "SELECT position, changes FROM commits WHERE position > ? AND position <= ?"
                " ORDER BY position LIMIT ?",
                (position, upper, limit),
            ).fetchall()
            if not rows:
                return []
            lines = reader.execute(
                "SELECT event_id, line FROM events WHERE event_id > ? AND event_id <= ?"
                " ORDER BY event_id",
                (position, rows[-1][0]),
            ).fetchall()
        finally:
            reader.execute("COMMIT")
        result: list[dict[str, Any]] = []
        i = 0
        for pos, changes in rows:
            start = i
            while i < len(lines) and lines[i][0] <= pos:
                i += 1
            events = [line for _, line in lines[start:i]]
            result.append({"position": pos, "events": events, "changes": json.loads(changes)})
        return result

    async def apply_replicated(self, commits: Sequence[Mapping[str, Any]]) -> None:
        """Apply commits read from the active node's ``commits_after()`` in one
        transaction: the same ids, lines and changes. Commits with
        ``position <= last_event_id`` are skipped, so applying twice is
        harmless. Malformed input raises ValueError before anything is queued."""
        self._check_usable()
        prepared: list[_ReplicatedCommit] = []
        previous = -1
        for commit in commits:
            prepared_commit = self._decode_commit(commit)
            if prepared_commit.lines[0][0] <= previous:
                raise ValueError(f"commit {prepared_commit.position}: ids do not increase")
            previous = prepared_commit.position
            if prepared_commit.position > self.last_event_id:
                prepared.append(prepared_commit)
        if not prepared:
            return
        assert self._loop is not None
        req = _Apply(prepared, self._loop.create_future())
        self._submit(req)
        await req.future

    def snapshot(self) -> dict[str, Any]:
        """The whole materialised state and meta at ``position`` (=
        ``last_event_id``), consistent because memory changes only between
        event-loop steps. With ``install_snapshot`` a node that cannot
        replicate event by event (it is behind the torn id, or its own tail
        diverged) takes over another node's journal."""
        return {
            "position": self.last_event_id,
            "torn": self.torn_event_id,
            # Every event still retained: a consumer that has not released them
            # must find them on whichever node is active next.
            "events": self.read(self.torn_event_id),
            "state": {kind: dict(entries) for kind, entries in self._state.items()},
            "meta": {k: v for k, v in self._meta.items() if k not in _RESERVED_META},
        }

    async def install_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        """Replace everything — events, commits, state, meta — by ``snapshot``
        in one transaction. Afterwards ``last_event_id == position`` and the
        snapshot's retained events (after its ``torn`` id) are readable as on
        the node it came from; replication continues with
        ``commits_after(position)``."""
        self._check_usable()
        try:
            position = snapshot["position"]
            if not isinstance(position, int) or position < 0:
                raise ValueError("position must be a non-negative int")
            state = [
                (str(kind), str(key), _json_text(value, "state", kind, key))
                for kind, entries in snapshot["state"].items()
                for key, value in entries.items()
            ]
            meta = [
                (str(k), _json_text(v, "meta", k))
                for k, v in snapshot["meta"].items()
                if k not in _RESERVED_META
            ]
            torn = snapshot.get("torn", position)
            lines: list[tuple[int, str]] = []
            for line in snapshot.get("events", []):
                eid = json.loads(line)["eventId"]
                if (
                    not isinstance(eid, int)
                    or eid <= torn
                    or eid > position
                    or (lines and eid <= lines[-1][0])
                ):
                    raise ValueError(f"event {eid!r} out of order or range")
                lines.append((eid, line))
            if not isinstance(torn, int) or not 0 <= torn <= position:
                raise ValueError("torn must be an int between 0 and position")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed snapshot: {exc}") from None
        meta = [(k, v) for k, v in meta if k != REPLICATION_BASE]
        meta.append((REPLICATION_BASE, str(position)))
        assert self._loop is not None
        req = _Install(position, state, meta, self._loop.create_future(), torn, lines)
        self._submit(req)
        await req.future

    @staticmethod
    def _decode_commit(commit: Mapping[str, Any]) -> _ReplicatedCommit:
        try:
            position = commit["position"]
            raw_lines = commit["events"]
            changes = commit["changes"]
            if not isinstance(position, int) or not raw_lines:
                raise ValueError("position must be an int and events non-empty")
            lines: list[tuple[int, str]] = []
            for line in raw_lines:
                event = json.loads(line)
                eid = event["eventId"]
                if not isinstance(eid, int) or (lines and eid <= lines[-1][0]):
                    raise ValueError(f"bad or non-increasing eventId {eid!r}")
                lines.append((eid, line))
            if lines[-1][0] != position:
                raise ValueError(f"last eventId {lines[-1][0]} is not the position")
            state = [
                (str(k), str(key), None if v is None else _json_text(v, "state", k, key))
                for k, key, v in changes.get("state", [])
            ]
            meta = [
                (str(k), None if v is None else _json_text(v, "meta", k))
                for k, v in changes.get("meta", {}).items()
            ]
            if any(k in _RESERVED_META for k, _ in meta):
                raise ValueError("reserved meta key")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed replicated commit: {exc}") from None
        return _ReplicatedCommit(position, lines, state, meta, _encode(changes))

    # --- reading events --------------------------------------------------------

    def read(self, after: int, limit: int | None = None) -> list[str]:
        """The JSON lines of the events with ``eventId > after``, in order, at
        most ``limit`` — no gaps, and only committed events.

        ``after`` must be ``torn_event_id``, an existing event id or
        ``last_event_id``; below ``torn_event_id`` raises EventSeqTorn,
        anything else UnknownEventId.
        """
        self._check_closed()
        if limit is not None and limit <= 0:
            raise ValueError("limit must be > 0")
        self._check_after(after)
        if after >= self._floor:
            return self._read_cache(after, limit)
        return self._read_disk(after, limit)

    def _check_after(self, after: int) -> None:
        if after < self.torn_event_id and after >= 0:
            raise EventSeqTorn(after, self.torn_event_id)
        if after < 0 or after > self.last_event_id:
            raise UnknownEventId(after, f"last EventId is {self.last_event_id}")

    def _read_cache(self, after: int, limit: int | None) -> list[str]:
        ids = self._ids
        start = bisect.bisect_left(ids, after)
        if start < len(ids) and ids[start] == after:
            start += 1
        elif after != self._floor:
            raise UnknownEventId(after, "no event has this id")
        end = len(ids) if limit is None else min(len(ids), start + limit)
        return self._lines[start:end]

    def _read_disk(self, after: int, limit: int | None) -> list[str]:
        reader = self._conn()
        # One read transaction: a release committing meanwhile is either
        # wholly visible (then `after` may be torn now) or not at all.
        reader.execute("BEGIN")
        try:
            torn = self._disk_torn(reader)
            if after < torn:
                raise EventSeqTorn(after, torn)
            if (
                after != torn
                and reader.execute("SELECT 1 FROM events WHERE event_id=?", (after,)).fetchone()
                is None
            ):
                raise UnknownEventId(after, "no event has this id")
            rows = reader.execute(
                "SELECT line FROM events WHERE event_id > ? AND event_id <= ?"
                " ORDER BY event_id LIMIT ?",
                (after, self.last_event_id, -1 if limit is None else limit),
            ).fetchall()
        finally:
            reader.execute("COMMIT")
        return [line for (line,) in rows]

    def _conn(self) -> sqlite3.Connection:
        if self._reader is None:
            raise JournalClosed(f"journal {self.path} is closed")
        return self._reader

    @staticmethod
    def _disk_torn(conn: sqlite3.Connection) -> int:
        (value,) = conn.execute("SELECT value FROM meta WHERE key='torn_event_id'").fetchone()
        torn = json.loads(value)
        assert isinstance(torn, int)
        return torn

    async def wait_for_event(self, after: int, timeout: float) -> bool:
        """True as soon as ``last_event_id > after``; False after ``timeout``
        seconds without such an event."""
        self._check_usable()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.last_event_id <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            assert self._changed is not None
            # asyncio.wait never cancels the shared future.
            await asyncio.wait({self._changed}, timeout=remaining)
            self._check_usable()
        return True

    def _wake(self) -> None:
        assert self._loop is not None
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = self._loop.create_future()

    # --- releasing ----------------------------------------------------------------

    async def release(self, until: int) -> int:
        """Delete the events (and commits rows) with id <= min(until,
        last_event_id) and make that id the new ``torn_event_id``, persisted
        with the deletion. Returns how many events were deleted (by the
        release job this call joined). Below ``torn_event_id``: no-op, 0.

        Large releases run in chunks of ``release_chunk`` events, each its own
        transaction ending on a commit boundary, so persists are not held up.
        """
        self._check_usable()
        target = min(until, self.last_event_id)
        if target <= self.torn_event_id:
            return 0
        assert self._loop is not None
        req = _Release(target, self._loop.create_future())
        self._submit(req)
        return await req.future

    # --- memory updates, on the event loop thread, in commit order ---------------

    def _load_tail(self, tail: list[tuple[int, str]]) -> None:
        # `tail` holds up to tail_cache + 1 newest events, newest first.
        tail.reverse()
        if len(tail) > self._tail_cache:
            self._floor = tail[len(tail) - self._tail_cache - 1][0]
            tail = tail[len(tail) - self._tail_cache :]
        else:
            self._floor = self.torn_event_id
        self._ids = [eid for eid, _ in tail]
        self._lines = [line for _, line in tail]
        if not self._ids:
            self._floor = self.last_event_id

    def _append_tail(self, lines: list[tuple[int, str]]) -> None:
        for eid, line in lines:
            self._ids.append(eid)
            self._lines.append(line)
        excess = len(self._ids) - self._tail_cache
        if excess > self._tail_slack:
            self._floor = self._ids[excess - 1]
            del self._ids[:excess]
            del self._lines[:excess]

    def _apply_changes(
        self, state: list[tuple[str, str, str | None]], meta: list[tuple[str, str | None]]
    ) -> None:
        for kind, key, text in state:
            entries = self._state.setdefault(kind, {})
            if text is None:
                entries.pop(key, None)
            else:
                # Decoded from the stored text: memory holds exactly what disk
                # holds, and a caller mutating its object later cannot leak in.
                entries[key] = _decode(text)
        for key, mtext in meta:
            if mtext is None:
                self._meta.pop(key, None)
            else:
                self._meta[key] = _decode(mtext)

    def _on_persisted(self, batch: list[_Persist]) -> None:
        for req in batch:
            self._apply_changes(req.state, req.meta)
            if req.lines:
                self._append_tail(req.lines)
                self.last_event_id = req.lines[-1][0]
        self._meta["last_event_id"] = self.last_event_id
        self._wake()
        for req in batch:
            if not req.future.done():
                req.future.set_result(req.stamped)

    def _on_applied(self, req: _Apply) -> None:
        for commit in req.applied:
            self._apply_changes(commit.state, commit.meta)
            self._append_tail(commit.lines)
            self.last_event_id = commit.position
        self._meta["last_event_id"] = self.last_event_id
        self._wake()
        if not req.future.done():
            req.future.set_result(None)

    def _on_installed(self, req: _Install) -> None:
        self._state = {}
        self._meta = {}
        self._apply_changes(list(req.state), list(req.meta))
        self.last_event_id = req.position
        self.torn_event_id = req.torn
        self._meta["last_event_id"] = req.position
        self._meta["torn_event_id"] = req.torn
        self._ids = [eid for eid, _ in req.lines]
        self._lines = [line for _, line in req.lines]
        self._floor = req.torn
        self._wake()
        if not req.future.done():
            req.future.set_result(None)

    def _on_released(self, torn: int) -> None:
        self.torn_event_id = torn
        self._meta["torn_event_id"] = torn
        cut = bisect.bisect_right(self._ids, torn)
        del self._ids[:cut]
        del self._lines[:cut]
        self._floor = max(self._floor, torn)

    def _on_failed(
        self, futures: list[asyncio.Future[Any]], exc: BaseException, broken: bool
    ) -> None:
        if broken and self._broken is None:
            self._broken = exc
        for future in futures:
            if not future.done():
                error: JournalError
                if broken:
                    error = JournalBroken(f"journal {self.path}: outcome unknown: {exc!r}")
                else:
                    error = JournalWriteFailed(
                        f"journal {self.path}: transaction rolled back: {exc!r}"
                    )
                error.__cause__ = exc
                future.set_exception(error)
        if broken:
            self._wake()  # waiters see JournalBroken

    def _w_failed_requests(
        self,
        requests: list[_Request],
        exc: BaseException,
        more: Sequence[asyncio.Future[Any]] = (),
    ) -> None:
        """On the loop: the writer died; fail these requests (a close() only
        learns that the writer stopped)."""
        futures: list[asyncio.Future[Any]] = list(more)
        for req in requests:
            if isinstance(req, _Stop):
                if req.future is not None:
                    self._resolve(req.future, None)
            else:
                futures.append(req.future)
        self._on_failed(futures, exc, True)
