"""The database: schema, connections with hard deadlines, and the outage status.

What must hold: no caller ever waits longer than its deadline for the
database, whatever the outage looks like (server stopped, frozen, or the link
black-holed); a connection that missed a deadline is abandoned, never reused;
``status`` says whether the last attempt reached the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

log = logging.getLogger("js7.joc.db")
T = TypeVar("T")

SCHEMA_LOCK = 7_300_001  # pg_advisory_xact_lock key: instances create the schema one at a time

# Names follow JS7 (JOC_CLUSTER, JOC_INSTANCES, JOC_VARIABLES, HISTORY_*, DPL_ORDERS,
# INV_CONFIGURATIONS, INV_RELEASED_CONFIGURATIONS, DEP_HISTORY, DPL_HISTORY,
# JOC_AUDIT_LOG, JOC_CONFIGURATIONS; TYPE as text where JOC
# numbers it); the js7ha extensions are EPOCH (fencing) and JOC_SERVICE_ACTIVITY.
SCHEMA = """
CREATE TABLE IF NOT EXISTS JOC_CLUSTER (
    ID                VARCHAR(10) PRIMARY KEY,
    MEMBER_ID         VARCHAR(165),
    HEART_BEAT        TIMESTAMPTZ,
    SWITCH_MEMBER_ID  VARCHAR(165),
    SWITCH_HEART_BEAT TIMESTAMPTZ,
    EPOCH             BIGINT NOT NULL DEFAULT 0
);
INSERT INTO JOC_CLUSTER (ID, EPOCH) VALUES ('cluster', 0) ON CONFLICT (ID) DO NOTHING;
CREATE TABLE IF NOT EXISTS JOC_INSTANCES (
    MEMBER_ID   VARCHAR(165) PRIMARY KEY,
    HEART_BEAT  TIMESTAMPTZ NOT NULL,
    ORDERING    INTEGER NOT NULL DEFAULT 0,
    URI         VARCHAR(255) NOT NULL,
    STARTED_AT  TIMESTAMPTZ NOT NULL,
    STOPPED     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS JOC_VARIABLES (
    NAME          VARCHAR(255) PRIMARY KEY,
    NUMERIC_VALUE BIGINT,
    TEXT_VALUE    TEXT
);
CREATE TABLE IF NOT EXISTS JOC_SERVICE_ACTIVITY (
    ID          BIGSERIAL PRIMARY KEY,
    MEMBER_ID   VARCHAR(165) NOT NULL,
    SERVICE     VARCHAR(30) NOT NULL,
    EPOCH       BIGINT NOT NULL,
    ACTIVE_FROM TIMESTAMPTZ NOT NULL,
    ACTIVE_UNTIL TIMESTAMPTZ NOT NULL,
    ENDED       BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (SERVICE, EPOCH)
);
CREATE SEQUENCE IF NOT EXISTS HISTORY_IDS;
CREATE TABLE IF NOT EXISTS HISTORY_ORDERS (
    ID                  BIGINT PRIMARY KEY,
    CONTROLLER_ID       VARCHAR(100) NOT NULL,
    ORDER_ID            VARCHAR(255) NOT NULL,
    WORKFLOW_PATH       VARCHAR(255) NOT NULL,
    WORKFLOW_VERSION_ID VARCHAR(255) NOT NULL,
    START_EVENT_ID      BIGINT NOT NULL,
    START_TIME          TIMESTAMPTZ NOT NULL,
    PLANNED_TIME        TIMESTAMPTZ,
    END_TIME            TIMESTAMPTZ,
    END_EVENT_ID        BIGINT,
    STATE               VARCHAR(20) NOT NULL,
    POSITION            VARCHAR(50) NOT NULL,
    AGENT_PATH          VARCHAR(255),
    ERROR_TEXT          TEXT,
    MODIFIED            TIMESTAMPTZ NOT NULL,
    HASH                CHAR(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS HISTORY_ORDERS_OPEN ON HISTORY_ORDERS (CONTROLLER_ID, ORDER_ID)
    WHERE END_EVENT_ID IS NULL;
CREATE INDEX IF NOT EXISTS HISTORY_ORDERS_START ON HISTORY_ORDERS (START_TIME);
CREATE TABLE IF NOT EXISTS HISTORY_ORDER_STEPS (
    ID               BIGINT PRIMARY KEY,
    HISTORY_ORDER_ID BIGINT NOT NULL REFERENCES HISTORY_ORDERS (ID) ON DELETE CASCADE,
    CONTROLLER_ID    VARCHAR(100) NOT NULL,
    ORDER_ID         VARCHAR(255) NOT NULL,
    WORKFLOW_PATH    VARCHAR(255) NOT NULL,
    POSITION         VARCHAR(50) NOT NULL,
    JOB_NAME         VARCHAR(255) NOT NULL,
    AGENT_PATH       VARCHAR(255),
    START_EVENT_ID   BIGINT NOT NULL,
    START_TIME       TIMESTAMPTZ NOT NULL,
    END_TIME         TIMESTAMPTZ,
    END_EVENT_ID     BIGINT,
    RETURN_CODE      INTEGER,
    STATE            VARCHAR(20) NOT NULL,
    ERROR_TEXT       TEXT,
    HASH             CHAR(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS HISTORY_ORDER_STEPS_ORDER ON HISTORY_ORDER_STEPS (HISTORY_ORDER_ID);
CREATE TABLE IF NOT EXISTS HISTORY_LOGS (
    ID               BIGSERIAL PRIMARY KEY,
    HISTORY_ORDER_ID BIGINT NOT NULL REFERENCES HISTORY_ORDERS (ID) ON DELETE CASCADE,
    STEP_ID          BIGINT,
    EVENT_ID         BIGINT NOT NULL,
    STREAM           VARCHAR(6) NOT NULL,
    CHUNK            TEXT NOT NULL,
    HASH             CHAR(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS HISTORY_LOGS_ORDER ON HISTORY_LOGS (HISTORY_ORDER_ID);
CREATE TABLE IF NOT EXISTS HISTORY_POISON (
    CONTROLLER_ID    VARCHAR(100) NOT NULL,
    EVENT_ID         BIGINT NOT NULL,
    EVENT            TEXT NOT NULL,
    PROBLEM          TEXT NOT NULL,
    CREATED          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (CONTROLLER_ID, EVENT_ID)
);
CREATE TABLE IF NOT EXISTS DPL_ORDERS (
    ORDER_ID       VARCHAR(255) PRIMARY KEY,
    CONTROLLER_ID  VARCHAR(100) NOT NULL,
    SCHEDULE_NAME  VARCHAR(255) NOT NULL,
    WORKFLOW_PATH  VARCHAR(255) NOT NULL,
    PLAN_DATE      DATE NOT NULL,
    SCHEDULED_FOR  TIMESTAMPTZ NOT NULL,
    SUBMITTED      BOOLEAN NOT NULL DEFAULT FALSE,
    SUBMIT_TIME    TIMESTAMPTZ,
    CREATED        TIMESTAMPTZ NOT NULL
);
ALTER TABLE DPL_ORDERS ADD COLUMN IF NOT EXISTS ORDER_NAME VARCHAR(255);
ALTER TABLE DPL_ORDERS ADD COLUMN IF NOT EXISTS ARGUMENTS TEXT;
ALTER TABLE DPL_ORDERS ADD COLUMN IF NOT EXISTS TIME_ZONE VARCHAR(100);
CREATE TABLE IF NOT EXISTS INV_CONFIGURATIONS (
    ID        BIGSERIAL PRIMARY KEY,
    TYPE      VARCHAR(30) NOT NULL,
    PATH      VARCHAR(255) NOT NULL,
    FOLDER    VARCHAR(255) NOT NULL,
    NAME      VARCHAR(255) NOT NULL,
    CONTENT   TEXT NOT NULL,
    VALID     BOOLEAN NOT NULL,
    DEPLOYED  BOOLEAN NOT NULL,
    RELEASED  BOOLEAN NOT NULL,
    CREATED   TIMESTAMPTZ NOT NULL,
    MODIFIED  TIMESTAMPTZ NOT NULL,
    UNIQUE (TYPE, PATH)
);
CREATE TABLE IF NOT EXISTS INV_RELEASED_CONFIGURATIONS (
    ID        BIGSERIAL PRIMARY KEY,
    CID       BIGINT NOT NULL,
    TYPE      VARCHAR(30) NOT NULL,
    PATH      VARCHAR(255) NOT NULL,
    NAME      VARCHAR(255) NOT NULL,
    CONTENT   TEXT NOT NULL,
    CREATED   TIMESTAMPTZ NOT NULL,
    MODIFIED  TIMESTAMPTZ NOT NULL,
    UNIQUE (TYPE, NAME)
);
CREATE TABLE IF NOT EXISTS DEP_HISTORY (
    ID                   BIGSERIAL PRIMARY KEY,
    INV_CONFIGURATION_ID BIGINT NOT NULL,
    CONTROLLER_ID        VARCHAR(100) NOT NULL,
    TYPE                 VARCHAR(30) NOT NULL,
    PATH                 VARCHAR(255) NOT NULL,
    NAME                 VARCHAR(255) NOT NULL,
    COMMIT_ID            VARCHAR(255) NOT NULL,
    CONTENT              TEXT NOT NULL,
    STATE                VARCHAR(20) NOT NULL,
    DEPLOYMENT_DATE      TIMESTAMPTZ NOT NULL
);
ALTER TABLE DEP_HISTORY ADD COLUMN IF NOT EXISTS ACCOUNT VARCHAR(100);
ALTER TABLE DEP_HISTORY ADD COLUMN IF NOT EXISTS OPERATION VARCHAR(10) NOT NULL DEFAULT 'UPDATE';
CREATE INDEX IF NOT EXISTS DEP_HISTORY_DATE ON DEP_HISTORY (DEPLOYMENT_DATE);
CREATE TABLE IF NOT EXISTS DPL_HISTORY (
    ID              BIGSERIAL PRIMARY KEY,
    CONTROLLER_ID   VARCHAR(100) NOT NULL,
    DAILY_PLAN_DATE DATE NOT NULL,
    SUBMISSION_TIME TIMESTAMPTZ NOT NULL,
    ORDER_ID        VARCHAR(255) NOT NULL,
    WORKFLOW_PATH   VARCHAR(255) NOT NULL,
    SCHEDULED_FOR   TIMESTAMPTZ,
    SUBMITTED       BOOLEAN NOT NULL,
    MESSAGE         TEXT
);
CREATE INDEX IF NOT EXISTS DPL_HISTORY_DATE ON DPL_HISTORY (DAILY_PLAN_DATE, SUBMISSION_TIME);
CREATE TABLE IF NOT EXISTS JOC_AUDIT_LOG (
    ID            BIGSERIAL PRIMARY KEY,
    CONTROLLER_ID VARCHAR(100),
    ACCOUNT       VARCHAR(255) NOT NULL,
    REQUEST       VARCHAR(255) NOT NULL,
    PARAMETERS    TEXT,
    CATEGORY      VARCHAR(20) NOT NULL,
    COMMENT       VARCHAR(2000),
    TIME_SPENT    BIGINT,
    TICKET_LINK   VARCHAR(255),
    COMMIT_ID     VARCHAR(255),
    CREATED       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS JOC_AUDIT_LOG_CREATED ON JOC_AUDIT_LOG (CREATED);
CREATE TABLE IF NOT EXISTS JOC_CONFIGURATIONS (
    ID                 BIGSERIAL PRIMARY KEY,
    CONTROLLER_ID      VARCHAR(100),
    ACCOUNT            VARCHAR(255) NOT NULL,
    CONFIGURATION_TYPE VARCHAR(30) NOT NULL,
    NAME               VARCHAR(255),
    OBJECT_TYPE        VARCHAR(30),
    SHARED             BOOLEAN NOT NULL DEFAULT FALSE,
    CONFIGURATION_ITEM TEXT NOT NULL,
    MODIFIED           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS JOC_CONFIGURATIONS_GLOBALS ON JOC_CONFIGURATIONS
    (CONFIGURATION_TYPE) WHERE CONFIGURATION_TYPE = 'GLOBALS';
"""


Conn = psycopg.AsyncConnection[Any]  # a connection to the shared database


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):  # a datetime too: ISO 8601 with its offset
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON array, for one multi-row statement that reads them with
    ``jsonb_to_recordset(%s::jsonb)`` (see ``execute_whole``)."""
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


async def execute_whole(
    conn: psycopg.AsyncConnection[Any], query: str, params: Any = None
) -> psycopg.AsyncClientCursor[Any]:
    """``query`` with ``params`` bound on the client and sent as one message
    of the simple query protocol. What a fenced transaction — one holding the
    share lock on JOC_CLUSTER that a take-over's UPDATE waits for — uses for
    every statement whose message may be large, and instead of
    ``executemany``.

    Why: the server arms ``idle_in_transaction_session_timeout`` only when it
    sends ReadyForQuery (after a Sync, or after a simple query), and keeps it
    armed while it reads the next message; ``statement_timeout`` ends with
    each Execute and is ignored while a message is being read. So

    * ``executemany`` — psycopg runs it in libpq pipeline mode: every row's
      Parse/Bind/Execute and one Sync at the end — leaves the server waiting
      for the next message of the pipeline with neither timeout armed;
    * so does one extended-protocol statement with a large parameter whose
      Bind is still on its way: the server has processed the Parse and waits
      for the rest of the Bind, with no ReadyForQuery in between;

    and a writer frozen at that moment (SIGSTOP, a paused container) keeps
    its transaction, and the lock, as long as it stays frozen: no standby can
    take over. A simple Query is the first message the server reads after
    ReadyForQuery: however much of it arrived, the idle timeout applies (and
    once it has arrived whole, the statement timeout). Small statements (a
    few hundred bytes, one write into an empty socket buffer) reach the
    server whole, whatever happens to the client, and need none of this.
    """
    cur = psycopg.AsyncClientCursor(conn)
    await cur.execute(query, params)
    return cur


def _forget(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer within the deadline
    (an outage, not a bug); ``__cause__`` holds what went wrong."""


class Database:
    """Connections to the shared database, each call bounded by a deadline.

    A connection that failed or missed a deadline is dropped (closed in the
    background without waiting), so a frozen server cannot hold up a caller.
    """

    def __init__(
        self, url: str, timeout: float, pool_size: int = 4, idle_tx_timeout: float | None = None
    ) -> None:
        self.url = url
        self.timeout = timeout
        # Server-side limits, so that a client that stopped talking mid-way (a
        # paused process, a cut link) cannot keep locks — above all the share
        # lock on JOC_CLUSTER that a take-over waits for — longer than this.
        # They do not apply while the server waits for the rest of a libpq
        # pipeline (``executemany``) or of a large statement: see
        # ``execute_whole``.
        ms = int(1000 * timeout)
        idle = int(1000 * (idle_tx_timeout if idle_tx_timeout is not None else timeout))
        self.options = (
            f"-c statement_timeout={ms} -c lock_timeout={ms} "
            f"-c idle_in_transaction_session_timeout={max(100, idle)}"
        )
        self.pool_size = pool_size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self.last_ok: float | None = None  # monotonic time of the last success
        self.last_error: str | None = None
        self.version: str | None = None
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def reachable(self) -> bool:
        return self.last_error is None and self.last_ok is not None

    def status(self) -> dict[str, Any]:
        ok = self.reachable
        return {
            "dbms": "PostgreSQL",
            "version": self.version,
            "connectionState": {"_text": "established" if ok else "unreachable"},
            "componentState": {"_text": "operational" if ok else "unavailable"},
            "error": self.last_error,
        }

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.url,
            connect_timeout=max(1, int(self.timeout)),
            autocommit=True,
            options=self.options,
        )
        if self.version is None:
            self.version = str(conn.info.server_version)
        return conn

    def _drop(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        if conn is None:
            return

        async def close() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self.timeout)

        t = asyncio.get_running_loop().create_task(close())
        self._background.add(t)
        t.add_done_callback(self._background.discard)

    async def run(
        self,
        fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]],
        timeout: float | None = None,
    ) -> T:
        """``fn(conn)`` on a pooled autocommit connection, within ``timeout``.

        Raises ``DatabaseUnavailable`` on a connection problem or a missed
        deadline; a database error that is the caller's (a constraint, SQL)
        propagates as the ``psycopg.Error`` it is, after the connection was
        dropped."""
        limit = self.timeout if timeout is None else timeout
        holder: list[psycopg.AsyncConnection[Any]] = []

        async def call() -> T:
            conn = self._idle.pop() if self._idle else await self._connect()
            holder.append(conn)
            return await fn(conn)

        task = asyncio.get_running_loop().create_task(call())
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            # Do not await the cancellation: psycopg may try to cancel the
            # query over a new connection, which hangs as long as the outage.
            # Whatever the abandoned call ends with is of no interest any more.
            task.add_done_callback(_forget)
            task.cancel()
            self._drop(holder[0] if holder else None)
            self._failed(f"no answer within {limit:.1f}s")
            raise DatabaseUnavailable(f"the database did not answer within {limit:.1f}s")
        conn = holder[0] if holder else None
        try:
            result = task.result()
        except (psycopg.OperationalError, OSError) as exc:
            self._drop(conn)
            self._failed(f"{type(exc).__name__}: {exc}".strip())
            raise DatabaseUnavailable(str(exc)) from exc
        except BaseException:
            self._drop(conn)
            raise
        assert conn is not None
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._drop(conn)
        elif len(self._idle) < self.pool_size:
            self._idle.append(conn)
        else:
            self._drop(conn)
        self.last_ok = time.monotonic()
        if self.last_error is not None:
            log.info("database reachable again")
        self.last_error = None
        return result

    def _failed(self, why: str) -> None:
        if self.last_error is None:
            log.warning("database unavailable: %s", why)
        self.last_error = why

    async def ensure_schema(self) -> None:
        async def create(conn: psycopg.AsyncConnection[Any]) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                await conn.execute(SCHEMA)

        await self.run(create)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)
