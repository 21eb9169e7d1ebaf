"""PostgreSQL in a container of its own (the project image's
``js7ha-pg-start``), alias ``postgres`` on the deployment's network.

Clients reach it through their ``<node>--postgres`` links; the harness
reaches it through a port published on 127.0.0.1, to create the test's
database and to see it ready. The outages mirror ``harness.postgres``'s
local server: ``stop_immediate`` is PostgreSQL's immediate shutdown
(SIGQUIT: no checkpoint, clients cut off), ``pause`` the cgroup freezer (the
server hangs with its sockets open).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from harness.backends.docker import containers
from harness.backends.docker.containers import HOST, Containers
from harness.errors import PostgresError
from harness.postgres import answers
from harness.topology import DATABASE_NODE

PG_PORT = 5432
PG_USER = "js7ha"


class PostgresContainer:
    """The running database container; ``ready_deadline``: seconds it may
    take to accept connections after a start."""

    def __init__(self, container: Any, host_port: int, ready_deadline: float) -> None:
        self.container = container
        self.host_port = host_port
        self.ready_deadline = ready_deadline

    def admin_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@{HOST}:{self.host_port}/{dbname}?application_name=js7ha"

    def wait_ready(self) -> None:
        """Until the server answers a query; ``PostgresError`` with the
        container log's tail when it does not within the deadline or exits."""
        deadline = time.monotonic() + self.ready_deadline
        last: Exception | None = None
        while time.monotonic() < deadline:
            last = answers(self.admin_url())
            if last is None:
                return
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.1)
        raise PostgresError(
            f"postgres container not ready: {last}\n{containers.logs(self.container, tail=30)}"
        )

    def create_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=10) as c:
            c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))

    def stop_immediate(self) -> None:
        self.container.kill("SIGQUIT")  # PostgreSQL's immediate shutdown
        self.container.wait(timeout=30)

    def start(self) -> None:
        self.container.start()
        self.wait_ready()

    def pause(self) -> None:
        self.container.pause()

    def resume(self) -> None:
        self.container.unpause()


async def start_postgres(
    engine: Containers, host_port: int, ready_deadline: float
) -> PostgresContainer:
    """Start the database container and wait until it is ready."""
    container = await engine.run(
        "postgres", ["js7ha-pg-start"], alias=DATABASE_NODE, published={PG_PORT: host_port}
    )
    pg = PostgresContainer(container, host_port, ready_deadline)
    await asyncio.to_thread(pg.wait_ready)
    return pg
