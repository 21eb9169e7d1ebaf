"""A frozen JOC writer must not keep a standby from taking over.

Every fenced write (History's batches, the Daily Plan) runs in a transaction
that holds a share lock on the JOC_CLUSTER row, which a take-over's UPDATE
waits for. When the writing process freezes (SIGSTOP, a paused container),
only PostgreSQL's own timeouts can end that transaction — and the server
arms them only at certain points of the protocol:
``idle_in_transaction_session_timeout`` when it sends ReadyForQuery (after a
Sync or a simple query), ``statement_timeout`` only while it executes. It
arms neither while it waits for the rest of a pipeline (psycopg's
``executemany``: every row's Parse/Bind/Execute, one Sync at the end), nor
for the rest of a statement whose Parse it already processed. So:

* ``test_postgres_ends_a_frozen_transaction_only_after_a_sync_or_inside_a_query``
  shows the server's side with raw protocol messages (the hazard, and what
  the writers rely on instead);
* ``test_the_fenced_writers_send_no_pipeline_and_no_large_extended_statement``
  traces the real History and Daily Plan writes (libpq's protocol trace)
  and checks they never leave the server in such a state: one Execute per
  Sync, and every large statement one simple Query message;
* ``test_a_frozen_history_writer_never_keeps_a_standby_from_taking_over``
  freezes a real History writer (``HistoryService._commit`` in a process of
  its own, writing big batches back to back) at random instants and takes
  over each time, within the bound the server's timeouts give.

Run as a module (``python -m tests.joc.test_frozen_writer URL ...``) it is
that writer process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from components.joc.cluster import Fenced, read_cluster, try_take_over
from components.joc.config import Schedule
from components.joc.dailyplan import DailyPlanService
from components.joc.db import Database, DatabaseUnavailable
from components.joc.feed import Feed
from components.joc.history import HistoryService

WRITER, STANDBY, CONTROLLER_ID = "joc-writer", "joc-standby", "controller"
BATCH_IDS = 1_000_000  # eventIds of batch i: i * BATCH_IDS + 1, ...
ROOT = Path(__file__).resolve().parents[2]


def timings(profile: Any) -> tuple[float, float, float]:
    """(database timeout, idle-in-transaction timeout, exceeded interval) as
    ``components.joc.app.Joc`` derives them from the profile's settings."""
    db_timeout = float(profile.components.get("joc.database.timeout", 2.0))
    exceeded = float(profile.components["joc.cluster.heart_beat_exceeded_interval"])
    return db_timeout, min(db_timeout, exceeded / 2), exceeded


def batch(i: int, orders: int) -> list[dict[str, Any]]:
    """Controller events, batch ``i``: its orders added, attached, started,
    a step begun and a line of stdout each; the orders of batch ``i - 1``
    processed, moved and finished (row updates). Order ids as long as real
    ones, so that a batch's statements are large."""
    events: list[dict[str, Any]] = []
    eid = i * BATCH_IDS

    def ev(kind: str, oid: str, **more: Any) -> None:
        nonlocal eid
        eid += 1
        events.append({"eventId": eid, "TYPE": kind, "Key": oid, **more})

    def oid(k: int, j: int) -> str:
        return f"#2024-05-01#T{k:05d}{j:05d}-frozen-writer-order"

    for j in range(orders):
        ev("OrderAdded", oid(i, j), workflowId={"path": "w", "versionId": "1"})
        ev("OrderAttached", oid(i, j), agentPath="agent-1")
        ev("OrderStarted", oid(i, j))
        ev("OrderProcessingStarted", oid(i, j))
        ev("OrderStdoutWritten", oid(i, j), chunk=f"{oid(i, j)} says hello\n" + "x" * 200)
    if i > 1:
        for j in range(orders):
            ok = {"TYPE": "Succeeded", "namedValues": {"returnCode": 0}}
            ev("OrderProcessed", oid(i - 1, j), outcome=ok)
            ev("OrderMoved", oid(i - 1, j), to=[1])
            ev("OrderFinished", oid(i - 1, j))
    return events


# -- PostgreSQL's side: raw protocol messages --------------------------------


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


class RawSession:
    """A PostgreSQL session spoken byte by byte (trust authentication), so a
    test can stop sending anywhere — in the middle of a pipeline, or of a
    message — as a frozen client does."""

    def __init__(self, url: str, options: str) -> None:
        info = conninfo_to_dict(url)
        self.sock = socket.create_connection((info["host"], int(info["port"])), timeout=10)
        params = [("user", info["user"]), ("database", info["dbname"]), ("options", options)]
        body = struct.pack("!I", 196608) + b"".join(_cstr(k) + _cstr(v) for k, v in params) + b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        self.buf = b""
        self.until_ready()

    def read(self) -> tuple[bytes, bytes]:
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!I", self.buf[1:5])[0]:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.buf += data
        size = struct.unpack("!I", self.buf[1:5])[0]
        kind, body, self.buf = self.buf[:1], self.buf[5 : 1 + size], self.buf[1 + size :]
        return kind, body

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        seen = []
        while True:
            kind, body = self.read()
            seen.append((kind, body))
            if kind == b"E":
                raise AssertionError(f"server error: {body!r}")
            if kind == b"Z":
                return seen

    def error(self) -> bytes:
        """The next error the server sends."""
        while True:
            kind, body = self.read()
            if kind == b"E":
                return body

    def query(self, sql: str) -> None:
        self.sock.sendall(_msg(b"Q", _cstr(sql)))
        self.until_ready()

    def close(self) -> None:
        self.sock.close()


def _extended(sql: str, value: bytes) -> bytes:
    """Parse, Bind (one text parameter), Execute — no Sync."""
    parse = _msg(b"P", _cstr("") + _cstr(sql) + struct.pack("!H", 0))
    bind = _msg(
        b"B",
        _cstr("")
        + _cstr("")
        + struct.pack("!HH", 0, 1)
        + struct.pack("!I", len(value))
        + value
        + struct.pack("!H", 0),
    )
    return parse + bind + _msg(b"E", _cstr("") + struct.pack("!I", 0))


BIG = b"x" * 200_000  # far more than one write of a frozen client delivers
FROZEN_AT = {
    # What a frozen writer last sent after its fence; True: the server keeps
    # its transaction (and the lock) for as long as it stays frozen.
    "a statement and its Sync": (_extended("SELECT $1", b"1") + _msg(b"S", b""), False),
    "a pipeline, no Sync yet (executemany)": (_extended("SELECT $1", b"1") * 3, True),
    "part of a large Bind after its Parse": (_extended("SELECT length($1)", BIG)[:100_000], True),
    "part of a large simple Query": (
        _msg(b"Q", _cstr(f"SELECT length('{BIG.decode()}')"))[:100_000],
        False,
    ),
}


@pytest.mark.parametrize("frozen_at", list(FROZEN_AT))
def test_postgres_ends_a_frozen_transaction_only_after_a_sync_or_inside_a_query(
    database_url: str, frozen_at: str
) -> None:
    """The writer's session has the timeouts ``Database`` sets; it fences
    (``FOR SHARE`` on the cluster row), sends ``frozen_at`` and stops. A
    standby's take-over UPDATE then waits three times the longest timeout:
    it gets through only where the server armed its idle timeout."""
    statement, idle = 0.5, 0.3
    options = Database(database_url, statement, idle_tx_timeout=idle).options
    admin = psycopg.connect(database_url, autocommit=True)
    admin.execute(
        "CREATE TABLE JOC_CLUSTER (ID VARCHAR(10) PRIMARY KEY, EPOCH BIGINT NOT NULL);"
        "INSERT INTO JOC_CLUSTER VALUES ('cluster', 1)"
    )
    frozen = RawSession(database_url, options)
    patience = 3 * max(statement, idle)
    standby = psycopg.connect(
        database_url, autocommit=True, options=f"-c lock_timeout={int(1000 * patience)}"
    )
    try:
        frozen.query("BEGIN; SELECT 1 FROM JOC_CLUSTER WHERE ID = 'cluster' FOR SHARE")
        data, keeps_lock = FROZEN_AT[frozen_at]
        frozen.sock.sendall(data)
        t0 = time.monotonic()
        try:
            standby.execute("UPDATE JOC_CLUSTER SET EPOCH = EPOCH + 1 WHERE ID = 'cluster'")
            waited, blocked = time.monotonic() - t0, False
        except psycopg.errors.LockNotAvailable:
            waited, blocked = time.monotonic() - t0, True
        assert blocked == keeps_lock, (
            f"frozen after {frozen_at}: the take-over "
            f"{'was still blocked' if blocked else 'got through'} after {waited:.2f}s"
        )
        if not keeps_lock:
            # The frozen session was ended by the idle timeout, nothing else.
            assert b"idle-in-transaction" in frozen.error(), "ended, but not by the idle timeout"
            with pytest.raises(ConnectionError):
                frozen.read()
    finally:
        frozen.close()
        standby.close()
        admin.close()


# -- the writers' protocol, traced -------------------------------------------

# A statement in the extended protocol (Parse/Bind/Describe/Execute/Sync,
# handed to the socket in one write) is safe only if it reaches the server
# whole even when the client freezes right after that write: it does when it
# fits into an empty socket buffer — a page always does. Anything larger must
# be one simple Query.
EXTENDED_LIMIT = 4096


Message = tuple[str, int, str, str]  # direction (F/B), length, type, the rest


class TracedDatabase(Database):
    """``Database`` whose connections write libpq's protocol trace."""

    def __init__(self, url: str, timeout: float, folder: Path) -> None:
        super().__init__(url, timeout)
        self.folder = folder
        self.traced: list[tuple[psycopg.AsyncConnection[Any], IO[str], Path]] = []

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await super()._connect()
        path = self.folder / f"connection-{len(self.traced)}.trace"
        f = path.open("w")
        conn.pgconn.trace(f.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        self.traced.append((conn, f, path))
        return conn

    def transactions(self) -> list[list[Message]]:
        """The messages of every BEGIN ... COMMIT/ROLLBACK, of all connections."""
        out: list[list[Message]] = []
        for conn, f, path in self.traced:
            assert not conn.closed, "a traced connection was dropped: its trace is incomplete"
            conn.pgconn.untrace()  # flushes
            f.close()
            current: list[Message] | None = None
            for line in path.read_text().splitlines():
                parts = line.split("\t", 3)
                if len(parts) < 3:
                    continue
                msg = (parts[0], int(parts[1]), parts[2].strip(), parts[-1].strip())
                if msg[0] == "F" and msg[2] == "Query" and msg[3] == '"BEGIN"':
                    current = []
                elif msg[0] == "F" and msg[2] == "Query" and msg[3] in ('"COMMIT"', '"ROLLBACK"'):
                    if current is not None:
                        out.append(current)
                    current = None
                elif current is not None:
                    current.append(msg)
        return out


def protocol_faults(transaction: list[Message]) -> tuple[list[str], int]:
    """What a frozen client would leave the server waiting in with no timeout
    armed: an extended-protocol statement with more than one Execute before
    its Sync (a pipeline), or one larger than ``EXTENDED_LIMIT``. Also
    answers how many Query messages over the limit there were."""
    faults: list[str] = []
    big_queries = 0
    unit: list[tuple[int, str]] = []  # the extended-protocol messages since the last Sync
    for direction, length, kind, _ in transaction:
        if direction != "F":
            continue
        size = 1 + length
        if kind == "Query":
            if unit:
                faults.append(f"a Query after {[k for _, k in unit]} without their Sync")
                unit = []
            big_queries += size > EXTENDED_LIMIT
            continue
        unit.append((size, kind))
        if kind != "Sync":
            continue
        executes = sum(k == "Execute" for _, k in unit)
        total = sum(s for s, _ in unit)
        if executes > 1:
            faults.append(f"a pipeline of {executes} Executes before one Sync ({total} bytes)")
        elif total > EXTENDED_LIMIT:
            faults.append(f"an extended-protocol statement of {total} bytes")
        unit = []
    if unit:
        faults.append(f"{[k for _, k in unit]} without a Sync at the end of the transaction")
    return faults, big_queries


class _Controller:
    async def command(self, body: dict[str, Any]) -> dict[str, Any]:
        return {}


class _Locator:
    """Stands in for the Controller: every planned order is submitted."""

    async def active(self) -> tuple[str, _Controller]:
        return "controller", _Controller()

    def forget(self) -> None:
        pass


async def test_the_fenced_writers_send_no_pipeline_and_no_large_extended_statement(
    database_url: str, tmp_path: Path
) -> None:
    """Two History batches (the second one after the open orders were
    forgotten, as after a fail-over: read back, then updated) and a Daily
    Plan, each in its fenced transaction, on traced connections: nowhere a
    pipeline, nowhere a large extended-protocol statement — so wherever the
    writer freezes, the server's idle timeout ends its transaction."""
    orders = 200
    plain = Database(database_url, 10.0)
    await plain.ensure_schema()
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    epoch = await try_take_over(conn, WRITER, await read_cluster(conn, 1.0), 1.0)
    assert epoch is not None
    db = TracedDatabase(database_url, 10.0, tmp_path)
    history = HistoryService(db, WRITER, CONTROLLER_ID, None, Feed())  # type: ignore[arg-type]
    schedule = Schedule(
        "frozen-writer-schedule",
        "w",
        tuple(f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(0, 60, 7))[:orders],
    )
    plan = DailyPlanService(db, WRITER, CONTROLLER_ID, _Locator(), (schedule,), 60.0)  # type: ignore[arg-type]
    try:
        await history._commit(epoch, batch(1, orders))
        history._cursors = {}  # as after a fail-over: the open orders are read back
        await history._commit(epoch, batch(2, orders))
        result = await plan.generate(dt.date(2024, 5, 1), (schedule,), epoch=epoch)
        assert len(result["submitted"]) == orders
        assert history.duplicates_skipped == 0

        transactions = db.transactions()
        # History: two batches; Daily Plan: store and mark.
        assert len(transactions) == 4, len(transactions)
        faults: list[str] = []
        large = 0
        for tx in transactions:
            found, big = protocol_faults(tx)
            faults += found
            large += big
        assert not faults, "\n".join(faults)
        # Meaningful only if the statements were large: History's three
        # inserts, then three inserts, two updates and the read-back of the
        # open orders; the Daily Plan's insert, read and update, and the
        # Submission History's insert (DPL_HISTORY) with the update.
        assert large == 13, f"{large} statements over {EXTENDED_LIMIT} bytes, not 13"

        cur = await conn.execute(
            """SELECT (SELECT count(*) FROM HISTORY_ORDERS),
                      (SELECT count(*) FROM HISTORY_ORDERS WHERE STATE = 'FINISHED'
                         AND END_TIME IS NOT NULL AND POSITION = '[1]'),
                      (SELECT count(*) FROM HISTORY_ORDER_STEPS WHERE RETURN_CODE = 0),
                      (SELECT count(*) FROM HISTORY_LOGS),
                      (SELECT count(*) FROM DPL_ORDERS WHERE SUBMITTED)"""
        )
        assert await cur.fetchone() == (2 * orders, orders, orders, 2 * orders, orders)
        # HISTORY_LOGS.ID (BIGSERIAL) follows the order of the chunks.
        cur = await conn.execute("SELECT EVENT_ID FROM HISTORY_LOGS ORDER BY ID")
        ids = [r[0] for r in await cur.fetchall()]
        assert ids == sorted(ids)
    finally:
        await conn.close()
        await db.close()
        await plain.close()


# -- a real writer, frozen at random instants --------------------------------


async def _epoch_of(conn: psycopg.AsyncConnection[Any], member: str) -> int | None:
    cur = await conn.execute(
        "SELECT EPOCH FROM JOC_CLUSTER WHERE ID = 'cluster' AND MEMBER_ID = %s", (member,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else None


async def write_forever(url: str, db_timeout: float, idle: float, orders: int) -> None:
    """The writer process: while ``WRITER`` holds the cluster row's epoch,
    History batches back to back through ``HistoryService._commit``; when
    fenced (or cut off), it waits for the role and resumes after the last
    committed batch — as ``HistoryService.run`` does."""
    db = Database(url, db_timeout, idle_tx_timeout=idle)
    history = HistoryService(db, WRITER, CONTROLLER_ID, None, Feed())  # type: ignore[arg-type]
    while True:
        try:
            epoch = await db.run(lambda c: _epoch_of(c, WRITER))
            if epoch is None:
                await asyncio.sleep(0.02)
                continue
            history._cursors = {}
            i = await history.load_position() // BATCH_IDS + 1
            while True:
                await history._commit(epoch, batch(i, orders))
                i += 1
        except (Fenced, DatabaseUnavailable):
            continue
        except psycopg.Error as exc:
            print(f"writer: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            await asyncio.sleep(0.1)


async def wait_until(
    what: str, probe: Callable[[], Awaitable[Any]], deadline: float, interval: float
) -> Any:
    end = time.monotonic() + deadline
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline:.1f}s")
        await asyncio.sleep(interval)


async def test_a_frozen_history_writer_never_keeps_a_standby_from_taking_over(
    database_url: str, profile: Any, rng: Any, tmp_path: Path
) -> None:
    """Rounds of: the writer holds the role and writes big batches; at a
    random instant it is frozen (SIGSTOP) and a standby takes over at once.
    The frozen writer's backend must let go within what the server's timeouts
    promise: the statement under way (``statement_timeout``, the database
    timeout) and then ``idle_in_transaction_session_timeout``."""
    rounds, orders = 12, 150
    db_timeout, idle, exceeded = timings(profile)
    bound = db_timeout + idle + 0.5  # + the take-over's own round trip
    setup = Database(database_url, 10.0)
    await setup.ensure_schema()
    await setup.close()
    url = database_url.replace("application_name=js7ha", "application_name=frozen-writer")
    assert url != database_url
    admin = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    standby = await psycopg.AsyncConnection.connect(
        database_url,
        autocommit=True,
        options=f"-c lock_timeout={int(1000 * bound)}",
    )
    stderr = (tmp_path / "writer.stderr").open("w+")
    writer = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.joc.test_frozen_writer", url),
        *(str(db_timeout), str(idle), str(orders)),
        cwd=ROOT,
        stderr=stderr,
        stdout=subprocess.DEVNULL,
    )

    def writer_log() -> str:
        stderr.flush()
        return Path(stderr.name).read_text()[-3000:]

    async def hand_to_writer() -> int:
        cur = await admin.execute(
            """UPDATE JOC_CLUSTER SET MEMBER_ID = %s, HEART_BEAT = NULL, EPOCH = EPOCH + 1
               WHERE ID = 'cluster' RETURNING EPOCH""",
            (WRITER,),
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def written_in(epoch: int) -> bool:
        assert writer.returncode is None, f"the writer exited: {writer_log()}"
        cur = await admin.execute(
            "SELECT 1 FROM JOC_SERVICE_ACTIVITY WHERE SERVICE = 'history' AND EPOCH = %s",
            (epoch,),
        )
        return await cur.fetchone() is not None

    async def writer_backends() -> list[str]:
        cur = await admin.execute(
            """SELECT state FROM pg_stat_activity
               WHERE application_name = 'frozen-writer' AND xact_start IS NOT NULL"""
        )
        return [str(r[0]) for r in await cur.fetchall()]

    seen: list[tuple[list[str], float]] = []
    try:
        for n in range(rounds):
            epoch = await hand_to_writer()
            try:
                await wait_until(
                    f"round {n}: the writer writes in epoch {epoch}",
                    lambda e=epoch: written_in(e),
                    profile.heal_deadline,
                    profile.poll_interval,
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nwriter: {writer_log()}") from None
            await asyncio.sleep(rng.uniform(0.0, 0.25))  # a random instant of its work
            os.kill(writer.pid, signal.SIGSTOP)
            try:
                in_tx = await writer_backends()
                t0 = time.monotonic()
                try:
                    seen_row = await read_cluster(standby, exceeded)
                    new = await try_take_over(standby, STANDBY, seen_row, exceeded)
                except psycopg.errors.LockNotAvailable:
                    raise AssertionError(
                        f"round {n}: the take-over still waited for the frozen writer "
                        f"after {time.monotonic() - t0:.2f}s (bound {bound:.2f}s); the "
                        f"writer's backend in its transaction was {in_tx}, now "
                        f"{await writer_backends()}; earlier rounds (states, waits): {seen}"
                    ) from None
                waited = time.monotonic() - t0
                assert new == epoch + 1
                assert waited <= bound, f"round {n}: the take-over took {waited:.2f}s"
                seen.append((in_tx, round(waited, 2)))
            finally:
                os.kill(writer.pid, signal.SIGCONT)
        # Meaningful only if the writer was often frozen inside its transaction.
        inside = sum(1 for states, _ in seen if states)
        assert inside >= rounds // 3, f"frozen inside a transaction {inside}x: {seen}"
        cur = await admin.execute(
            "SELECT count(*) FROM (SELECT HASH FROM HISTORY_ORDERS GROUP BY 1 HAVING count(*) > 1)"
            " d"
        )
        assert await cur.fetchone() == (0,)
    finally:
        if writer.returncode is None:
            os.kill(writer.pid, signal.SIGCONT)
            writer.kill()
        await asyncio.wait_for(writer.wait(), profile.stop_deadline)
        stderr.close()
        await standby.close()
        await admin.close()


if __name__ == "__main__":
    url_, timeout_, idle_, orders_ = sys.argv[1:5]
    asyncio.run(write_forever(url_, float(timeout_), float(idle_), int(orders_)))
