"""The journal: a component's events and materialised state, crash-safe.

What must hold
--------------
* When ``persist()`` returns, its events, state changes and meta changes are
  committed in one SQLite transaction and the WAL is fsynced. A SIGKILL of the
  process at any instant afterwards loses none of it; a SIGKILL at any instant
  before leaves all of it or none of it, never part of a commit (a commit
  whose persist() had not yet returned may or may not be there: its outcome
  was unknown to the caller). ``synchronous=FULL`` extends this to power loss
  and kernel crashes, provided the disk honours fsync (no lying write cache).
* Event ids are strictly increasing, also across restarts and when the clock
  goes back; ``last_event_id`` never decreases.
* ``read(after)`` answers exactly the committed events after ``after``,
  without gaps, or says why it cannot: ``EventSeqTorn`` (released) or
  ``UnknownEventId`` (never existed).
* A transaction that fails before COMMIT is rolled back: nothing of it is on
  disk or in memory, its callers get ``JournalWriteFailed``, the journal goes
  on. If COMMIT itself fails, its frames may or may not be in the WAL, so the
  outcome is unknown: callers get ``JournalBroken`` and so does every later
  write until the journal is reopened (which shows what survived).
* Not covered: damage to committed data in the middle of the files (a bad
  disk, another program writing them). Damage at the *tail* of the WAL — a
  torn last write — loses only the transactions from the damaged frame on.

Why SQLite in WAL mode, and not a hand-rolled checksummed log
-------------------------------------------------------------
* A commit is durable when ``COMMIT`` returns: with ``journal_mode=WAL`` and
  ``synchronous=FULL`` SQLite fsyncs the WAL at every commit, and the
  directory when it creates the WAL; a checkpoint fsyncs the database before
  the WAL is reused or truncated.
* WAL frames carry a cumulative checksum and the WAL generation's salt;
  recovery reads frames only up to the last valid *commit* frame, so a torn or
  partly written last transaction is discarded whole, never half-read. A
  hand-rolled log has to get all of that right itself — framing, checksums,
  cutting the torn tail before appending again, fsyncing the directory — and
  each detail is a place to lose data; SQLite's recovery is among the most
  tested code there is.
* One transaction holds events, commit descriptors, state changes and meta
  together. The Controller needs this to persist an Agent's events together
  with the Agent's event id; a log would need a snapshot format and replay on
  top to offer the same. Here the ``state`` table *is* the snapshot: events
  are kept only until they are released.
* Group commit amortises the fsync: the writer thread drains everything queued
  while it was busy into its next transaction, so one fsync serves many
  callers (about 40 per transaction with 50 concurrent callers).
* Release is a range ``DELETE`` plus ``torn_event_id`` in the same
  transaction, in chunks ending on commit boundaries; freed pages are reused,
  and given back by incremental vacuum when most of the file is free, and the
  WAL is checkpointed and truncated: the files stay bounded.

Threads: all writing happens on ONE writer thread with its own connection;
reads not served from memory use a second connection on the event loop
thread. Everything in memory (state, meta, the tail cache, ``last_event_id``,
``torn_event_id``) changes only on the event loop thread, after the
transaction committed, in commit order. A lock file ``<path>.lock`` (flock,
dropped by the kernel when the process dies) keeps a second Journal — in this
process or another — from writing the same file.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import fcntl
import functools
import json
import os
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from components.common.eventid import EventId, EventIdGenerator

Event: TypeAlias = dict[str, Any]
"""An event before stamping: ``{"TYPE": "OrderAdded", "Key": "order-1", ...}``."""

StateChange: TypeAlias = tuple[str, str, Any | None]
"""``(kind, key, value)``: a JSON-able value, or None to delete the entry."""

SCHEMA_VERSION = 1
_RESERVED_META = frozenset({"schema_version", "last_event_id", "torn_event_id"})
# Meta key: the position an installed snapshot starts commits at.
REPLICATION_BASE = "journal.replicationBase"

# Compact JSON, UTF-8 kept as is, NaN/Infinity refused (they are not JSON).
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# JSONEncoder.encode builds its C encoder anew on every call; persist() encodes
# several values per call, so build it once. No circular check: a cycle ends
# in RecursionError instead, which is reported like any other encoding error.
_iterencode: Callable[[Any, int], Sequence[str]] = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
)


def _encode(value: Any) -> str:
    return "".join(_iterencode(value, 0))


_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    """Decode JSON text this module encoded (compact, no surrounding blanks);
    skips json.loads' whitespace handling, which costs more than the scan."""
    return _scan_once(text, 0)[0]


# A str as a JSON string, exactly as _encode would write it (the C function).
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _check_utf8(*texts: str) -> None:
    """SQLite stores UTF-8: a lone surrogate would fail inside the transaction,
    failing the whole group; refuse it before."""
    for text in texts:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise _Invalid(f"text cannot be stored as UTF-8: {exc}") from None


class _Invalid(ValueError):
    """An argument persist() refuses before queueing."""


# --- errors ----------------------------------------------------------------


class JournalError(Exception):
    """Base of everything the journal raises on purpose."""


class EventSeqTorn(JournalError):
    """``after`` lies before ``torn_event_id``: those events were released."""

    def __init__(self, after: int, oldest: int) -> None:
        super().__init__(
            f"Requested EventId after={after} is not available."
            f" Oldest available EventId is {oldest}"
        )
        self.after = after
        self.oldest = oldest


class UnknownEventId(JournalError):
    """``after`` is not an id this journal ever had (from the future, in a gap
    between ids, or negative)."""

    def __init__(self, after: int, detail: str = "") -> None:
        super().__init__(
            f"An unknown EventId has been requested: after={after}"
            + (f" ({detail})" if detail else "")
        )
        self.after = after


class JournalClosed(JournalError):
    """The journal was closed by its owner; open it again to use it."""


class JournalWriteFailed(JournalError):
    """The transaction failed before COMMIT and was rolled back: nothing of it
    is on disk or in memory; the journal keeps working. Cause chained."""


class JournalBroken(JournalError):
    """The journal can no longer say what is on disk (a COMMIT failed, so its
    outcome is unknown, or the writer thread died). Every later call raises
    this; close and reopen to learn what survived. Cause chained."""


# --- requests from the event loop to the writer thread ---------------------


@dataclass(slots=True, eq=False)
class _Persist:
    events: list[Event]  # copies, for the stamped result
    bodies: list[str]  # JSON of each event, without eventId/timestamp
    state: list[tuple[str, str, str | None]]  # encoded values, None = delete
    meta: list[tuple[str, str | None]]
    changes_json: str  # the commits row's `changes`
    future: asyncio.Future[list[dict[str, Any]]]
    # Filled in by the writer thread:
    stamped: list[dict[str, Any]] = field(default_factory=list)
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _ReplicatedCommit:
    position: int
    lines: list[tuple[int, str]]
    state: list[tuple[str, str, str | None]]  # encoded values, None = delete
    meta: list[tuple[str, str | None]]
    changes_json: str


@dataclass(slots=True, eq=False)
class _Apply:
    commits: list[_ReplicatedCommit]
    future: asyncio.Future[None]
    applied: list[_ReplicatedCommit] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Install:
    position: int
    state: list[tuple[str, str, str]]  # encoded values
    meta: list[tuple[str, str]]
    future: asyncio.Future[None]
    torn: int = 0
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Release:
    until: int
    future: asyncio.Future[int]


@dataclass(slots=True, eq=False)
class _ReleaseJob:
    until: int
    futures: list[asyncio.Future[int]]
    deleted: int = 0
    vacuum: bool | None = None  # decided once the deletion is done


@dataclass(slots=True, eq=False)
class _Stop:
    future: asyncio.Future[None] | None


_Request: TypeAlias = _Persist | _Apply | _Install | _Release | _Stop


def _stamp(event_id: int, timestamp: int, body: str) -> str:
    # eventId first, so a reader can see the id without parsing the line.
    if body == "{}":
        return f'{{"eventId":{event_id},"timestamp":{timestamp}}}'
    return f'{{"eventId":{event_id},"timestamp":{timestamp},{body[1:]}'


def _json_text(value: Any, *what: object) -> str:
    """``value`` as compact JSON that SQLite can store, or TypeError/ValueError
    naming ``what``. Done before enqueueing, so a bad value fails its caller
    only and never the group it would have joined."""
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        name = " ".join(map(str, what))  # built only on failure: persist() is hot
        raise type(exc)(f"{name} is not JSON-serialisable: {exc}") from None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            name = " ".join(map(str, what))
            raise ValueError(f"{name} cannot be stored as UTF-8: {exc}") from None
    return text


# --- the journal -----------------------------------------------------------


class Journal:
    """Events, state and meta of one component, in one SQLite file.

    Use ``await Journal.open(path)``; one Journal per file (a lock file
    ``<path>.lock`` refuses a second opener, in this process or another).
    """

    # Tuning knobs (class attributes so a test or benchmark can change them
    # without widening the constructor).
    wal_autocheckpoint: int = 10_000
    """Pages in the WAL before SQLite checkpoints after a commit (0 = never).
    Larger than SQLite's 1000: a page rewritten by many groups is copied to
    the database once per checkpoint, which measurably raises group commit
    throughput; crash recovery then rereads at most ~40 MB of WAL."""
    journal_size_limit: int = 64 * 1024 * 1024
    """Bytes the WAL file is truncated back to after a checkpoint."""
    release_chunk: int = 10_000
    """Events deleted per release transaction; persists are served in between."""
    vacuum_chunk: int = 2_000
    """Pages given back to the file system per transaction after a release."""
    max_group_events: int = 20_000
    """A group commit stops taking requests once it holds this many events."""
    busy_timeout_ms: int = 30_000

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
        If the caller is cancelled after the request was queued, the commit
        may still happen (and then is applied to memory as usual).
        """
        self._check_usable()
        assert self._loop is not None
        req = self._encode_persist(events, changes, meta, self._loop.create_future())
        self._submit(req)
        return await req.future

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

    @staticmethod
    def _resolve(future: asyncio.Future[Any], value: Any) -> None:
        if not future.done():
            future.set_result(value)

    # --- the writer thread -------------------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(callback, *args)

    def _writer_main(self, init: concurrent.futures.Future[tuple[Any, ...]]) -> None:
        try:
            conn = self._w_open()
            loaded = self._w_load(conn)
        except BaseException as exc:  # noqa: BLE001 - re-raised by open() on the loop
            init.set_exception(exc)
            return
        init.set_result(loaded)
        backlog: deque[_Request] = deque()
        try:
            self._w_loop(conn, backlog)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            # A failed COMMIT or ROLLBACK, or a bug: fail everything accepted
            # and refuse more (JournalBroken).
            cause = exc.__cause__ if isinstance(exc, _WriterStop) and exc.__cause__ else exc
            self._w_dead = cause
            pending: list[_Request] = list(backlog)
            with contextlib.suppress(queue.Empty):
                while True:
                    pending.append(self._queue.get_nowait())
            job_futures = self._w_job.futures if self._w_job is not None else []
            self._post(self._w_failed_requests, pending, cause, job_futures)
        finally:
            conn.close()

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

    def _w_loop(self, conn: sqlite3.Connection, backlog: deque[_Request]) -> None:
        q = self._queue
        while True:
            if not backlog and self._w_job is None:
                backlog.append(q.get())
            with contextlib.suppress(queue.Empty):
                while True:
                    backlog.append(q.get_nowait())
            if backlog:
                head = backlog[0]
                if isinstance(head, _Persist):
                    batch: list[_Persist] = []
                    events = 0
                    while backlog:
                        item = backlog[0]
                        if not isinstance(item, _Persist) or events >= self.max_group_events:
                            break
                        batch.append(item)
                        events += len(item.bodies)
                        backlog.popleft()
                    self._w_persist(conn, batch)
                elif isinstance(head, _Apply):
                    backlog.popleft()
                    self._w_apply(conn, head)
                elif isinstance(head, _Install):
                    backlog.popleft()
                    self._w_install(conn, head)
                elif isinstance(head, _Release):
                    backlog.popleft()
                    job = self._w_job
                    if job is not None:
                        # One job at a time: a later release joins the running one.
                        job.until = max(job.until, head.until)
                        job.futures.append(head.future)
                    elif head.until <= self._w_torn:
                        self._post(self._resolve, head.future, 0)
                    else:
                        self._w_job = _ReleaseJob(head.until, [head.future])
                elif self._w_job is None:  # _Stop: everything before it is done
                    if head.future is not None:
                        self._post(self._resolve, head.future, None)
                    return
            if self._w_job is not None and self._w_release_step(conn, self._w_job):
                self._w_job = None

    def _w_open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            timeout=self.busy_timeout_ms / 1000,
            cached_statements=1024,  # one multi-row statement per group size
        )
        try:
            # Only takes effect while the file has no tables yet (new journal).
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode != "wal":
                raise JournalError(f"journal {self.path}: cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            # Multi-row statements keep a statement journal; in memory, not in /var/tmp.
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute(f"PRAGMA wal_autocheckpoint={int(self.wal_autocheckpoint)}")
            conn.execute(f"PRAGMA journal_size_limit={int(self.journal_size_limit)}")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS events("
                "event_id INTEGER PRIMARY KEY, line TEXT NOT NULL, commit_end INTEGER NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS commits("
                "position INTEGER PRIMARY KEY, changes TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS state("
                "kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
                " PRIMARY KEY(kind, key)) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                " WITHOUT ROWID"
            )
            conn.executemany(
                "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("last_event_id", "0"),
                    ("torn_event_id", "0"),
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def _w_load(self, conn: sqlite3.Connection) -> tuple[Any, ...]:
        meta = {
            key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM meta")
        }
        if meta.get("schema_version") != SCHEMA_VERSION:
            conn.close()
            raise JournalError(
                f"journal {self.path}: schema_version {meta.get('schema_version')!r},"
                f" this code reads {SCHEMA_VERSION}"
            )
        state: dict[str, dict[str, Any]] = {}
        for kind, key, value in conn.execute("SELECT kind, key, value FROM state"):
            state.setdefault(kind, {})[key] = json.loads(value)
        (max_id,) = conn.execute("SELECT max(event_id) FROM events").fetchone()
        last = max(int(meta["last_event_id"]), max_id or 0)
        torn = int(meta["torn_event_id"])
        meta["last_event_id"] = last
        tail = conn.execute(
            "SELECT event_id, line FROM events ORDER BY event_id DESC LIMIT ?",
            (self._tail_cache + 1,),
        ).fetchall()
        self._w_last, self._w_torn = last, torn
        self._gen = EventIdGenerator(last, self._clock)
        return state, meta, tail, last, torn

    def _w_fail(self, conn: sqlite3.Connection, futures: list[Any], exc: BaseException) -> None:
        """A transaction failed. Before COMMIT: rolled back, nothing visible.
        COMMIT itself failed: its frames may be in the WAL, so the outcome is
        unknown and the journal refuses further work (JournalBroken)."""
        self.stats["failed_transactions"] += 1
        broken = isinstance(exc, _CommitFailed)
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                broken = True
        cause = exc.__cause__ if isinstance(exc, _CommitFailed) and exc.__cause__ else exc
        self._post(self._on_failed, futures, cause, broken)
        if broken:
            raise _WriterStop from cause

    def _w_commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _CommitFailed from exc
        self.stats["transactions"] += 1

    def _w_persist(self, conn: sqlite3.Connection, batch: list[_Persist]) -> None:
        event_rows: list[tuple[int, str, int]] = []
        commit_rows: list[tuple[int, str]] = []
        state: dict[tuple[str, str], str | None] = {}
        meta: dict[str, str | None] = {}
        last = self._w_last
        try:
            timestamp = int(self._clock() * 1000)
            for req in batch:
                n = len(req.bodies)
                for i, (event, body) in enumerate(zip(req.events, req.bodies, strict=True)):
                    eid = self._gen.next()
                    line = _stamp(eid, timestamp, body)
                    event_rows.append((eid, line, 1 if i == n - 1 else 0))
                    req.lines.append((eid, line))
                    req.stamped.append({"eventId": eid, "timestamp": timestamp, **event})
                if n:
                    last = req.lines[-1][0]
                    commit_rows.append((last, req.changes_json))
                for kind, key, text in req.state:
                    state[(kind, key)] = text  # later changes in the group win
                for key, mtext in req.meta:
                    meta[key] = mtext
            meta["last_event_id"] = str(last)
            conn.execute("BEGIN IMMEDIATE")
            _write_rows(conn, "INSERT INTO events(event_id, line, commit_end)", 3, event_rows)
            _write_rows(conn, "INSERT INTO commits(position, changes)", 2, commit_rows)
            self._w_write_changes(conn, state, meta)
            self._w_commit(conn)
        except _WriterStop:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the group
            self._w_fail(conn, [req.future for req in batch], exc)
            return
        self._w_last = last
        stats = self.stats
        stats["commits"] += len(batch)
        stats["events"] += len(event_rows)
        stats["max_group"] = max(stats["max_group"], len(batch))
        self._post(self._on_persisted, batch)

    @staticmethod
    def _w_write_changes(
        conn: sqlite3.Connection,
        state: Mapping[tuple[str, str], str | None],
        meta: Mapping[str, str | None],
    ) -> None:
        # Keys are unique here (collapsed by the caller), so one multi-row
        # upsert per table is safe.
        _write_rows(
            conn,
            "INSERT INTO state(kind, key, value)",
            3,
            [(k, key, v) for (k, key), v in state.items() if v is not None],
            " ON CONFLICT(kind, key) DO UPDATE SET value=excluded.value",
        )
        _write_rows(
            conn,
            "DELETE FROM state WHERE (kind, key) IN (",
            2,
            [(k, key) for (k, key), v in state.items() if v is None],
            ")",
        )
        _write_rows(
            conn,
            "INSERT INTO meta(key, value)",
            2,
            [(k, v) for k, v in meta.items() if v is not None],
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        )
        _write_rows(
            conn,
            "DELETE FROM meta WHERE key IN (",
            1,
            [(k,) for k, v in meta.items() if v is None],
            ")",
        )

    def _w_apply(self, conn: sqlite3.Connection, req: _Apply) -> None:
        todo = [c for c in req.commits if c.position > self._w_last]
        if not todo:
            self._post(self._resolve, req.future, None)
            return
        try:
            if todo[0].lines[0][0] <= self._w_last:
                # Ids at or below ours would land out of order (or collide).
                raise ValueError(
                    f"replicated commit {todo[0].position} overlaps this journal's"
                    f" events (last {self._w_last})"
                )
            event_rows: list[tuple[int, str, int]] = []
            state: dict[tuple[str, str], str | None] = {}
            meta: dict[str, str | None] = {}
            for commit in todo:
                n = len(commit.lines)
                event_rows.extend(
                    (eid, line, int(i == n - 1)) for i, (eid, line) in enumerate(commit.lines)
                )
                for kind, key, text in commit.state:
                    state[(kind, key)] = text
                for key, mtext in commit.meta:
                    meta[key] = mtext
            last = todo[-1].position
            meta["last_event_id"] = str(last)
            conn.execute("BEGIN IMMEDIATE")
            _write_rows(conn, "INSERT INTO events(event_id, line, commit_end)", 3, event_rows)
            _write_rows(
                conn,
                "INSERT INTO commits(position, changes)",
                2,
                [(c.position, c.changes_json) for c in todo],
            )
            self._w_write_changes(conn, state, meta)
            self._w_commit(conn)
        except _WriterStop:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            self._w_fail(conn, [req.future], exc)
            return
        self._w_last = last
        self._gen.advance_to(last)
        self.stats["events"] += len(event_rows)
        req.applied = todo
        self._post(self._on_applied, req)

    def _w_install(self, conn: sqlite3.Connection, req: _Install) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table in ("events", "commits", "state"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM meta WHERE key <> 'schema_version'")
            _write_rows(conn, "INSERT INTO state(kind, key, value)", 3, req.state)
            meta = [
                *req.meta,
                ("last_event_id", str(req.position)),
                ("torn_event_id", str(req.torn)),
            ]
            _write_rows(conn, "INSERT INTO meta(key, value)", 2, meta)
            # Retained events come without their commits: replication from this
            # node starts at the snapshot position (earlier pulls get a snapshot).
            _write_rows(
                conn,
                "INSERT INTO events(event_id, line, commit_end)",
                3,
                [(eid, line, 1) for eid, line in req.lines],
            )
            self._w_commit(conn)
        except _WriterStop:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            self._w_fail(conn, [req.future], exc)
            return
        self._w_last = req.position
        self._w_torn = req.torn
        self._gen.advance_to(req.position)
        self._post(self._on_installed, req)

    def _w_release_step(self, conn: sqlite3.Connection, job: _ReleaseJob) -> bool:
        """Delete one chunk; True when the job is done (and its futures resolved)."""
        target = min(job.until, self._w_last)
        if self._w_torn < target:
            try:
                end = target
                row = conn.execute(
                    "SELECT event_id FROM events WHERE event_id > ?"
                    " ORDER BY event_id LIMIT 1 OFFSET ?",
                    (self._w_torn, max(self.release_chunk, 1) - 1),
                ).fetchone()
                if row is not None and row[0] < target:
                    # End the chunk on a commit boundary, so a crash between
                    # chunks never leaves a commit half-released.
                    (boundary,) = conn.execute(
                        "SELECT min(position) FROM commits WHERE position >= ?", (row[0],)
                    ).fetchone()
                    end = target if boundary is None else min(boundary, target)
                conn.execute("BEGIN IMMEDIATE")
                deleted = conn.execute("DELETE FROM events WHERE event_id <= ?", (end,)).rowcount
                conn.execute("DELETE FROM commits WHERE position <= ?", (end,))
                conn.execute("UPDATE meta SET value=? WHERE key='torn_event_id'", (str(end),))
                self._w_commit(conn)
            except _WriterStop:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the callers
                self._w_fail(conn, list(job.futures), exc)
                return True
            self.stats["release_transactions"] += 1
            self._w_torn = end
            job.deleted += deleted
            self._post(self._on_released, end)
            return False
        if self._w_vacuum_step(conn, job):
            return False
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            self.stats["compaction_errors"] += 1  # an optimisation only
        for future in job.futures:
            self._post(self._resolve, future, job.deleted)
        return True

    def _w_vacuum_step(self, conn: sqlite3.Connection, job: _ReleaseJob) -> bool:
        """Give free pages back to the file system, ``vacuum_chunk`` pages per
        transaction; True while there is more to do. Only when most of the
        file is free: otherwise new events reuse the free pages anyway."""
        try:
            (free,) = conn.execute("PRAGMA freelist_count").fetchone()
            if job.vacuum is None:
                (pages,) = conn.execute("PRAGMA page_count").fetchone()
                job.vacuum = free > 256 and free * 2 > pages
                self.stats["vacuums"] += job.vacuum
            if not job.vacuum or free == 0:
                return False
            conn.execute("BEGIN IMMEDIATE")
            # Python's sqlite3 steps a row-less PRAGMA once, and each step of
            # incremental_vacuum frees one page: hence one execute per page.
            for _ in range(min(free, self.vacuum_chunk)):
                conn.execute("PRAGMA incremental_vacuum")
            self._w_commit(conn)
        except _WriterStop:
            raise
        except _CommitFailed as exc:
            # Only pages were moved, but a failed COMMIT is a failed COMMIT.
            self._w_fail(conn, list(job.futures), exc)
            raise AssertionError("unreachable: _w_fail raises on a failed COMMIT") from exc
        except sqlite3.Error:
            self.stats["compaction_errors"] += 1  # an optimisation only
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return False
        return True


_ROWS_PER_STATEMENT = 200  # x 3 columns stays far below SQLite's 32766 variables


@functools.lru_cache(maxsize=4096)
def _values_sql(head: str, columns: int, rows: int, tail: str) -> str:
    row = "(" + ",".join("?" * columns) + ")"
    return f"{head} VALUES {','.join([row] * rows)}{tail}"


def _write_rows(
    conn: sqlite3.Connection,
    head: str,
    columns: int,
    rows: Sequence[tuple[Any, ...]],
    tail: str = "",
) -> None:
    """Many rows per statement: every sqlite3 step releases and retakes the
    GIL, and retaking it behind a busy event loop thread is what limits group
    commit throughput, so a group uses a handful of steps, not one per row."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        sql = _values_sql(head, columns, len(chunk), tail)
        conn.execute(sql, [value for row in chunk for value in row])


class _CommitFailed(Exception):
    """COMMIT raised: the outcome is unknown."""


class _WriterStop(Exception):
    """The writer thread must stop (journal broken)."""
