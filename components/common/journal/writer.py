"""The journal's writer thread: ONE thread with its own SQLite connection
does all the writing — group commits, replicated commits, snapshots,
releases and the vacuum after them — and hands every outcome back to the
event loop with ``_post``; nothing in memory changes on this thread.

``WriterThread`` is the writer's half of ``Journal`` (a mixin: the two halves
share the fields below, the loop's half owns everything else).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import queue
import sqlite3
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from components.common.eventid import EventIdGenerator
from components.common.journal.base import SCHEMA_VERSION
from components.common.journal.codec import _stamp
from components.common.journal.errors import JournalError
from components.common.journal.requests import (
    _Apply,
    _Install,
    _Persist,
    _Release,
    _ReleaseJob,
    _Request,
)


class WriterThread:
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

    # Shared with the loop's half (set in Journal.__init__).
    path: Path
    stats: dict[str, int]
    _queue: queue.SimpleQueue[_Request]
    _loop: asyncio.AbstractEventLoop | None
    _clock: Callable[[], float]
    _tail_cache: int
    _gen: EventIdGenerator
    # Writer-thread-only fields.
    _w_last: int
    _w_torn: int
    _w_job: _ReleaseJob | None
    _w_dead: BaseException | None
    # The loop's half receives the outcomes.
    _on_persisted: Callable[[list[_Persist]], None]
    _on_applied: Callable[[_Apply], None]
    _on_installed: Callable[[_Install], None]
    _on_released: Callable[[int], None]
    _on_failed: Callable[[list[asyncio.Future[Any]], BaseException, bool], None]
    _w_failed_requests: Callable[..., None]

    @staticmethod
    def _resolve(future: asyncio.Future[Any], value: Any) -> None:
        if not future.done():
            future.set_result(value)

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
