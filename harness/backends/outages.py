"""Database outages, the same on every backend: ``stop`` is PostgreSQL's
immediate shutdown (no checkpoint, every client cut off; a restart
recovers), ``hang`` freezes the whole server (its sockets stay open, nothing
answers), ``cut`` cuts every client's link to it (``<node>--postgres``).

A backend mixes this in and says where its database server is
(``_outage_database``): anything with the four operations of
``OutageDatabase`` — the local backend's ``PostgresServer``, the Docker
backend's ``PostgresContainer``. What holds: ``db_outage_end`` with the mode
that began the outage leaves the server answering again.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from harness.backends.base import DbOutageMode
from harness.backends.links import ProxiedLinks
from harness.errors import ConfigError


class OutageDatabase(Protocol):
    def stop_immediate(self) -> None: ...

    def start(self) -> None:
        """Start after ``stop_immediate``; return once it answers."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class DatabaseOutages(ProxiedLinks):
    def _outage_database(self) -> OutageDatabase | None:
        """The deployment's database server; None without one."""
        raise NotImplementedError

    async def db_outage_begin(self, mode: DbOutageMode) -> None:
        db = self._outage_database()
        if db is None:
            raise ConfigError("this topology has no database")
        if mode == "stop":
            await asyncio.to_thread(db.stop_immediate)
        elif mode == "hang":
            await asyncio.to_thread(db.pause)
        elif mode == "cut":
            await self.cut(self._db_links(), "both", "drop")
        else:
            raise ConfigError(f"unknown db outage mode {mode!r}")

    async def db_outage_end(self, mode: DbOutageMode) -> None:
        db = self._outage_database()
        if db is None:
            return
        if mode == "stop":
            await asyncio.to_thread(db.start)
        elif mode == "hang":
            await asyncio.to_thread(db.resume)
        elif mode == "cut":
            await self.heal(self._db_links())
