"""The Cleanup Service: purge history older than its retention.

What must hold: a run reads the cluster's settings (``settings``: the
``cleanup`` section) and computes its cut-off once, by the database's clock
(``now() - age``; an age of 0 keeps everything), and deletes exactly the
terminated orders whose start time is before it (with their steps and
logs), and exactly the logs of terminated orders started before the log
cut-off — in batches, each in its own fenced
transaction, so a replaced instance deletes nothing. Orders still running are
kept whatever their age: History still writes to them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from components.joc.cluster import Fenced, fence, open_activity
from components.joc.config import JocConfig
from components.joc.db import Conn, Database, DatabaseUnavailable
from components.joc.settings import CleanupSettings, read_cleanup

log = logging.getLogger("js7.joc.cleanup")


class CleanupService:
    def __init__(self, db: Database, member_id: str, cfg: JocConfig) -> None:
        self.db = db
        self.member_id = member_id
        self.cfg = cfg
        self.last_run: dict[str, Any] | None = None

    async def run(self, epoch: int) -> None:
        """While active: a run whenever the database clock is in the
        settings' window."""
        try:
            while True:
                try:
                    now, cfg = await self.db.run(_now_and_settings)
                    if cfg.in_window(now):
                        await self.run_once(epoch)
                except DatabaseUnavailable:
                    pass
                await asyncio.sleep(self.cfg.cleanup_interval)
        except Fenced as exc:
            log.warning("Cleanup Service fenced: %s", exc)

    async def run_once(self, epoch: int) -> dict[str, Any]:
        """One complete run; raises ``Fenced`` or ``DatabaseUnavailable``."""
        cfg = await self.db.run(read_cleanup)
        order_cut, log_cut = await self.db.run(lambda c: _cutoffs(c, cfg))
        deleted = {"orders": 0, "logs": 0}
        batch = cfg.batch_size
        while order_cut is not None:
            n = await self.db.run(lambda c: self._delete_orders(c, epoch, order_cut, batch))
            deleted["orders"] += n
            if n < batch:
                break
        while log_cut is not None:
            n = await self.db.run(lambda c: self._delete_logs(c, epoch, log_cut, batch))
            deleted["logs"] += n
            if n < batch:
                break
        self.last_run = {
            "orderHistoryCutoff": order_cut and order_cut.isoformat(),
            "orderLogCutoff": log_cut and log_cut.isoformat(),
            "deleted": deleted,
            "epoch": epoch,
        }
        log.info("cleanup: %s", self.last_run)
        return self.last_run

    async def _delete_orders(self, conn: Conn, epoch: int, cut: dt.datetime, batch: int) -> int:
        async with conn.transaction():
            await fence(conn, self.member_id, epoch)
            await open_activity(conn, self.member_id, "cleanup", epoch)
            cur = await conn.execute(
                """DELETE FROM HISTORY_ORDERS WHERE ID IN (
                       SELECT ID FROM HISTORY_ORDERS
                       WHERE START_TIME < %s AND END_EVENT_ID IS NOT NULL LIMIT %s)""",
                (cut, batch),
            )
            return cur.rowcount

    async def _delete_logs(self, conn: Conn, epoch: int, cut: dt.datetime, batch: int) -> int:
        async with conn.transaction():
            await fence(conn, self.member_id, epoch)
            cur = await conn.execute(
                """DELETE FROM HISTORY_LOGS WHERE ID IN (
                       SELECT l.ID FROM HISTORY_LOGS l JOIN HISTORY_ORDERS o
                         ON o.ID = l.HISTORY_ORDER_ID
                       WHERE o.START_TIME < %s AND o.END_EVENT_ID IS NOT NULL LIMIT %s)""",
                (cut, batch),
            )
            return cur.rowcount


async def _now_and_settings(conn: Conn) -> tuple[dt.datetime, CleanupSettings]:
    cur = await conn.execute("SELECT now()")
    row = await cur.fetchone()
    assert row is not None
    return row[0], await read_cleanup(conn)


async def _cutoffs(
    conn: Conn, cfg: CleanupSettings
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The cut-offs by the database's clock; None for an age of 0 (kept for ever)."""
    cur = await conn.execute(
        "SELECT now() - make_interval(secs => %s), now() - make_interval(secs => %s)",
        (cfg.order_history_age, cfg.order_log_age),
    )
    row = await cur.fetchone()
    assert row is not None
    order_cut = row[0] if cfg.order_history_age else None
    return order_cut, row[1] if cfg.order_log_age else None
