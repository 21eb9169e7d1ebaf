"""The Cleanup Service: purge history older than its retention.

What must hold: a run computes its cut-off once, by the database's clock
(``now() - age``), and deletes exactly the terminated orders whose start time
is before it (with their steps and logs), and exactly the logs of terminated
orders started before the log cut-off — in batches, each in its own fenced
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

log = logging.getLogger("js7.joc.cleanup")


def in_window(now: dt.datetime, begin: str, end: str) -> bool:
    """Whether the UTC time of day of ``now`` is in [begin, end) (may wrap midnight)."""
    t = now.astimezone(dt.UTC).strftime("%H:%M:%S")
    b, e = (begin + ":00")[:8], (end + ":00")[:8]
    return b <= t < e if b <= e else (t >= b or t < e)


class CleanupService:
    def __init__(self, db: Database, member_id: str, cfg: JocConfig) -> None:
        self.db = db
        self.member_id = member_id
        self.cfg = cfg
        self.last_run: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "orderHistoryAge": self.cfg.cleanup_ages["order-history"],
            "orderLogAge": self.cfg.cleanup_ages["order-log"],
            "dailyPlanHistoryAge": self.cfg.cleanup_ages["daily-plan-history"],
            "period": {"begin": self.cfg.cleanup_period[0], "end": self.cfg.cleanup_period[1]},
            "batchSize": self.cfg.cleanup_batch_size,
            "lastRun": self.last_run,
        }

    async def run(self, epoch: int) -> None:
        """While active: a run whenever the database clock is in the window."""
        try:
            while True:
                try:
                    now = await self.db.run(_db_now)
                    if in_window(now, *self.cfg.cleanup_period):
                        await self.run_once(epoch)
                except DatabaseUnavailable:
                    pass
                await asyncio.sleep(self.cfg.cleanup_interval)
        except Fenced as exc:
            log.warning("Cleanup Service fenced: %s", exc)

    async def run_once(self, epoch: int) -> dict[str, Any]:
        """One complete run; raises ``Fenced`` or ``DatabaseUnavailable``."""
        ages = self.cfg.cleanup_ages
        cutoffs = await self.db.run(lambda c: _cutoffs(c, ages["order-history"], ages["order-log"]))
        order_cut, log_cut = cutoffs
        deleted = {"orders": 0, "logs": 0}
        batch = self.cfg.cleanup_batch_size
        while True:
            n = await self.db.run(lambda c: self._delete_orders(c, epoch, order_cut, batch))
            deleted["orders"] += n
            if n < batch:
                break
        while True:
            n = await self.db.run(lambda c: self._delete_logs(c, epoch, log_cut, batch))
            deleted["logs"] += n
            if n < batch:
                break
        self.last_run = {
            "orderHistoryCutoff": order_cut.isoformat(),
            "orderLogCutoff": log_cut.isoformat(),
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


async def _db_now(conn: Conn) -> dt.datetime:
    cur = await conn.execute("SELECT now()")
    row = await cur.fetchone()
    assert row is not None
    value: dt.datetime = row[0]
    return value


async def _cutoffs(conn: Conn, order_age: float, log_age: float) -> tuple[dt.datetime, dt.datetime]:
    cur = await conn.execute(
        "SELECT now() - make_interval(secs => %s), now() - make_interval(secs => %s)",
        (order_age, log_age),
    )
    row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]
