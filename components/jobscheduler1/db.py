"""The database: schema (created and migrated by the component) and connections.

What must hold: every member of a cluster sees the same jobs, job chains,
nodes, orders and cluster rows, because they live only here. Times are integer
milliseconds since the epoch on the *database's* clock (``NOW_MS``), so all
members compare heartbeats against one clock.

``SCHEDULER_CLUSTERS`` has exactly the columns of the engine's table
(JS7-FACTS §6); ``last_heart_beat``/``next_heart_beat`` hold milliseconds.
A partial unique index enforces at most one ``exclusive`` row per scheduler
id. What the engine keeps besides (activation events, jobs, job chains,
orders, the task and order history) lives in tables of its own: nobody but
the reference reads them — the harness asks a member with XML commands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

log = logging.getLogger("js7ha.jobscheduler1.db")
T = TypeVar("T")

NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint"
SCHEMA_VERSION = 2

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS scheduler_clusters (
    member_id              varchar(100) PRIMARY KEY,
    scheduler_id           varchar(100) NOT NULL,
    precedence             integer      NOT NULL DEFAULT 0,
    last_heart_beat        bigint,
    next_heart_beat        bigint,
    active                 boolean      NOT NULL DEFAULT false,
    exclusive              boolean      NOT NULL DEFAULT false,
    dead                   boolean      NOT NULL DEFAULT false,
    paused                 boolean      NOT NULL DEFAULT false,
    command                varchar(250),
    http_url               varchar(100),
    deactivating_member_id varchar(100)
);
CREATE UNIQUE INDEX IF NOT EXISTS scheduler_clusters_one_exclusive
    ON scheduler_clusters (scheduler_id) WHERE exclusive;

CREATE TABLE IF NOT EXISTS scheduler_cluster_events (
    id           bigserial PRIMARY KEY,
    scheduler_id varchar(100) NOT NULL,
    member_id    varchar(100) NOT NULL,
    event        varchar(30)  NOT NULL,
    time         bigint       NOT NULL,
    detail       text
);

CREATE TABLE IF NOT EXISTS scheduler_jobs (
    spooler_id   varchar(100) NOT NULL,
    name         varchar(255) NOT NULL,
    command      text,
    noop_seconds double precision,
    stopped      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (spooler_id, name)
);

CREATE TABLE IF NOT EXISTS scheduler_job_chains (
    spooler_id  varchar(100) NOT NULL,
    name        varchar(255) NOT NULL,
    distributed boolean NOT NULL DEFAULT false,
    stopped     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (spooler_id, name)
);

CREATE TABLE IF NOT EXISTS scheduler_job_chain_nodes (
    spooler_id  varchar(100) NOT NULL,
    job_chain   varchar(255) NOT NULL,
    state       varchar(100) NOT NULL,
    ordinal     integer NOT NULL,
    job         varchar(255) NOT NULL,
    next_state  varchar(100),
    error_state varchar(100),
    action      varchar(20),
    PRIMARY KEY (spooler_id, job_chain, state)
);

CREATE TABLE IF NOT EXISTS scheduler_orders (
    spooler_id                  varchar(100) NOT NULL,
    job_chain                   varchar(255) NOT NULL,
    id                          varchar(255) NOT NULL,
    state                       varchar(100),
    initial_state               varchar(100) NOT NULL,
    suspended                   boolean NOT NULL DEFAULT false,
    finished                    boolean NOT NULL DEFAULT false,
    run_time                    jsonb,
    run_no                      integer NOT NULL DEFAULT 1,
    run_due                     bigint,
    distributed_next_time       bigint,
    occupying_cluster_member_id varchar(100),
    owner_member_id             varchar(100),
    created                     bigint NOT NULL,
    PRIMARY KEY (spooler_id, job_chain, id)
);
CREATE INDEX IF NOT EXISTS scheduler_orders_due
    ON scheduler_orders (spooler_id, distributed_next_time)
    WHERE NOT finished AND occupying_cluster_member_id IS NULL;

CREATE TABLE IF NOT EXISTS scheduler_history (
    id                bigserial PRIMARY KEY,
    spooler_id        varchar(100) NOT NULL,
    cluster_member_id varchar(100) NOT NULL,
    job_chain         varchar(255) NOT NULL,
    order_id          varchar(255) NOT NULL,
    run_no            integer NOT NULL,
    run_due           bigint,
    state             varchar(100) NOT NULL,
    job               varchar(255) NOT NULL,
    exclusive         boolean NOT NULL,
    start_time        bigint NOT NULL,
    end_time          bigint,
    exit_code         integer,
    result            varchar(20),
    output            text
);
"""


# Version 2, for the XML command interface: a job's task limit (<job tasks>),
# end nodes (<job_chain_node.end>, no job), and the order history the engine
# keeps in SCHEDULER_ORDER_HISTORY (database.cxx:794-804): one row per run of
# an order, its id given to the run's jobs as SCHEDULER_ORDER_HISTORY_ID.
_SCHEMA_V2 = """
ALTER TABLE scheduler_jobs ADD COLUMN IF NOT EXISTS tasks integer NOT NULL DEFAULT 1;
ALTER TABLE scheduler_job_chain_nodes ALTER COLUMN job DROP NOT NULL;
ALTER TABLE scheduler_orders ADD COLUMN IF NOT EXISTS history_id bigint;
ALTER TABLE scheduler_history ADD COLUMN IF NOT EXISTS pid integer;
CREATE TABLE IF NOT EXISTS scheduler_order_history (
    history_id  bigserial PRIMARY KEY,
    spooler_id  varchar(100) NOT NULL,
    job_chain   varchar(255) NOT NULL,
    order_id    varchar(255) NOT NULL,
    state       varchar(100),
    start_time  bigint NOT NULL,
    end_time    bigint
);
CREATE INDEX IF NOT EXISTS scheduler_order_history_order
    ON scheduler_order_history (spooler_id, job_chain, order_id);
"""


def migrate(conn: psycopg.Connection[dict[str, Any]]) -> None:
    """Create or migrate the schema. Members starting at once serialise on an
    advisory lock: concurrent ``CREATE … IF NOT EXISTS`` can still collide in
    PostgreSQL's catalogue."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('js7ha-jobscheduler1-schema'))")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS scheduler_schema_version (version integer NOT NULL)"
        )
        row = conn.execute("SELECT max(version) AS v FROM scheduler_schema_version").fetchone()
        current = row["v"] if row and row["v"] is not None else 0
        if current < 1:
            conn.execute(_SCHEMA_V1)
            conn.execute("INSERT INTO scheduler_schema_version VALUES (1)")
        if current < 2:
            conn.execute(_SCHEMA_V2)
            conn.execute("INSERT INTO scheduler_schema_version VALUES (2)")
            log.info("database schema at version %d", SCHEMA_VERSION)


class Db:
    """One connection used by one actor (the cluster thread, the engine, the
    API), serialised by a lock. Each call runs in one transaction; a failed
    call closes the connection so the next call reconnects.

    A call may block while the database link is cut: the cut heals by closing
    the connection, and the watchdog aborts the process long before anyone may
    act on that member's silence, so a blocked call never hides a fault.
    """

    def __init__(self, url: str, name: str, connect_timeout: float) -> None:
        self.url = url
        self.name = name
        self.connect_timeout = max(2, int(connect_timeout))
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=self.connect_timeout,
                application_name=self.name[:60],
            )
        return self._conn

    def run(self, fn: Callable[[psycopg.Connection[dict[str, Any]]], T]) -> T:
        with self._lock:
            try:
                conn = self._connect()
                with conn.transaction():
                    return fn(conn)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._reset()
                raise

    def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a broken connection may fail to close
                log.debug("closing a broken connection failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._reset()
