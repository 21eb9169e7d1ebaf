"""The JOC cluster service: who is active, decided in the shared database.

What must hold (JS7-FACTS 4, with the *improve* items):

* every time is the database's clock (``now()``); an instance's own clock is
  only used to *shorten* its belief that it is active;
* a standby takes over only when the active's ``HEART_BEAT`` is older than
  ``heart_beat_exceeded_interval``, and only by a compare-and-set
  (``UPDATE … WHERE MEMBER_ID = old AND HEART_BEAT = old AND EPOCH = old``)
  that changes exactly one row — so of two standbys exactly one wins;
* every take-over or hand-over increments ``EPOCH``; every active-only write
  runs ``fence()`` in its own transaction, which share-locks the cluster row
  holding this instance's epoch — so an active that was paused and replaced
  cannot write anything once it wakes (the row lock also keeps a take-over
  from committing between the check and the write);
* the active believes it is active only until ``lease_until``: the send time of
  its last successful heartbeat plus the exceeded interval, on the monotonic
  clock. That is never later than the moment a standby may take over (the
  database stamped the heartbeat after it was sent), so a paused, partitioned
  or DB-less active steps down before anyone else steps up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from components.joc.db import Conn, Database, DatabaseUnavailable

log = logging.getLogger("js7.joc.cluster")


class Fenced(Exception):
    """This instance's epoch is no longer the cluster's: it was replaced and
    must not write as the active instance."""


@dataclass(frozen=True)
class ClusterRow:
    """``JOC_CLUSTER`` as read in one statement, with the database's verdict."""

    member_id: str | None
    heart_beat: dt.datetime | None
    switch_member_id: str | None
    epoch: int
    expired: bool  # no active member, or its heartbeat is older than the interval
    db_now: dt.datetime


async def read_cluster(conn: Conn, exceeded: float) -> ClusterRow:
    cur = await conn.execute(
        """SELECT MEMBER_ID, HEART_BEAT, SWITCH_MEMBER_ID, EPOCH,
                  MEMBER_ID IS NULL OR HEART_BEAT IS NULL
                      OR now() - HEART_BEAT > make_interval(secs => %s),
                  now()
           FROM JOC_CLUSTER WHERE ID = 'cluster'""",
        (exceeded,),
    )
    row = await cur.fetchone()
    if row is None:
        raise DatabaseUnavailable("JOC_CLUSTER has no row 'cluster' (schema not created?)")
    return ClusterRow(row[0], row[1], row[2], int(row[3]), bool(row[4]), row[5])


async def open_activity(conn: Conn, member: str, service: str, epoch: int) -> None:
    await conn.execute(
        """INSERT INTO JOC_SERVICE_ACTIVITY (MEMBER_ID, SERVICE, EPOCH, ACTIVE_FROM, ACTIVE_UNTIL)
           VALUES (%s, %s, %s, now(), now()) ON CONFLICT (SERVICE, EPOCH) DO NOTHING""",
        (member, service, epoch),
    )


async def try_take_over(conn: Conn, member: str, seen: ClusterRow, exceeded: float) -> int | None:
    """Compare-and-set take-over from the state ``seen``: the new epoch when
    this instance won, ``None`` when anything changed since it was read (or
    the heartbeat is not expired any more by the database's clock)."""
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE JOC_CLUSTER
               SET MEMBER_ID = %s, HEART_BEAT = now(), EPOCH = EPOCH + 1,
                   SWITCH_MEMBER_ID = NULL, SWITCH_HEART_BEAT = NULL
               WHERE ID = 'cluster'
                 AND MEMBER_ID IS NOT DISTINCT FROM %s
                 AND HEART_BEAT IS NOT DISTINCT FROM %s
                 AND EPOCH = %s
                 AND (MEMBER_ID IS NULL OR HEART_BEAT IS NULL
                      OR now() - HEART_BEAT > make_interval(secs => %s))
               RETURNING EPOCH""",
            (member, seen.member_id, seen.heart_beat, seen.epoch, exceeded),
        )
        rows = await cur.fetchall()
        if len(rows) != 1:
            return None
        epoch = int(rows[0][0])
        await open_activity(conn, member, "cluster", epoch)
        return epoch


async def fence(conn: Conn, member: str, epoch: int) -> None:
    """Inside a transaction: prove that ``member`` still holds ``epoch`` and
    keep it so until the transaction ends (a share lock on the cluster row,
    which a take-over's UPDATE has to wait for). Raises ``Fenced``."""
    cur = await conn.execute(
        """SELECT 1 FROM JOC_CLUSTER WHERE ID = 'cluster' AND MEMBER_ID = %s AND EPOCH = %s
           FOR SHARE""",
        (member, epoch),
    )
    if await cur.fetchone() is None:
        raise Fenced(f"{member} no longer holds epoch {epoch}")


async def confirm_active(conn: Conn, member: str, epoch: int) -> str | None:
    """The active's heartbeat: renews ``HEART_BEAT`` only while this instance
    holds ``epoch``; answers the requested switch target, if any."""
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE JOC_CLUSTER SET HEART_BEAT = now()
               WHERE ID = 'cluster' AND MEMBER_ID = %s AND EPOCH = %s
               RETURNING SWITCH_MEMBER_ID""",
            (member, epoch),
        )
        row = await cur.fetchone()
        if row is None:
            raise Fenced(f"{member} no longer holds epoch {epoch}")
        await open_activity(conn, member, "cluster", epoch)
        await conn.execute(
            """UPDATE JOC_SERVICE_ACTIVITY SET ACTIVE_UNTIL = now()
               WHERE SERVICE = 'cluster' AND EPOCH = %s""",
            (epoch,),
        )
        return str(row[0]) if row[0] is not None else None


async def hand_over(conn: Conn, member: str, epoch: int, target: str | None) -> int | None:
    """Give the active role to ``target`` (``None``: to whoever comes first),
    with a new epoch. Returns it, or ``None`` if this instance was not active."""
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE JOC_CLUSTER
               SET MEMBER_ID = %s, HEART_BEAT = CASE WHEN %s::text IS NULL THEN NULL ELSE now() END,
                   EPOCH = EPOCH + 1, SWITCH_MEMBER_ID = NULL, SWITCH_HEART_BEAT = NULL
               WHERE ID = 'cluster' AND MEMBER_ID = %s AND EPOCH = %s
               RETURNING EPOCH""",
            (target, target, member, epoch),
        )
        row = await cur.fetchone()
        await conn.execute(
            """UPDATE JOC_SERVICE_ACTIVITY SET ACTIVE_UNTIL = now(), ENDED = TRUE
               WHERE MEMBER_ID = %s AND EPOCH = %s AND NOT ENDED""",
            (member, epoch),
        )
        return int(row[0]) if row is not None else None


ServiceHook = Callable[[int], Awaitable[None]]


class ClusterService:
    """One instance's part in the cluster. ``on_active(epoch)`` starts the
    active-only services, ``on_standby()`` stops them (and waits until they
    stopped); both are called from this service's loop only."""

    def __init__(
        self,
        db: Database,
        member_id: str,
        uri: str,
        ordering: int,
        polling_interval: float,
        exceeded: float,
        on_active: ServiceHook,
        on_standby: Callable[[], Awaitable[None]],
    ) -> None:
        self.db = db
        self.member_id = member_id
        self.uri = uri
        self.ordering = ordering
        self.polling = polling_interval
        self.exceeded = exceeded
        # A cluster call must give up well before the lease runs out.
        self.db_timeout = max(0.2, min(db.timeout, exceeded / 3))
        self._on_active = on_active
        self._on_standby = on_standby
        self.epoch: int | None = None
        self.lease_until = 0.0
        self.last_row: ClusterRow | None = None
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.services_running = False

    # -- what the rest of the instance asks -------------------------------

    def is_active(self) -> bool:
        """Active by this instance's own, conservative belief."""
        return self.epoch is not None and time.monotonic() < self.lease_until

    def active_epoch(self) -> int | None:
        return self.epoch if self.is_active() else None

    # -- the loop ----------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster tick failed")
            if self.epoch is not None and not self.is_active():
                log.warning("lease of epoch %s ran out: stepping down", self.epoch)
                await self._step_down()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.polling)
            self.wake.clear()

    async def tick(self) -> None:
        """One round: heartbeat; as active, a pending switch; as standby, a
        hand-over to this instance or a take-over of an expired active."""
        sent = time.monotonic()
        try:
            if self.epoch is not None:
                target = await self.db.run(self._active_round, self.db_timeout)
                self.lease_until = sent + self.exceeded
                if target is not None and target != self.member_id:
                    await self.switch_to(target)
                return
            row = await self.db.run(self._standby_round, self.db_timeout)
        except Fenced as exc:
            log.warning("fenced: %s", exc)
            await self._step_down()
            return
        except DatabaseUnavailable:
            return
        self.last_row = row
        if row.member_id == self.member_id:
            # Handed over to us (switch-over / normal stop of the active).
            await self._activate(row.epoch, sent)
        elif row.expired:
            epoch = await self._guard(
                lambda c: try_take_over(c, self.member_id, row, self.exceeded)
            )
            if epoch is not None:
                log.info(
                    "took over from %s (epoch %d, heartbeat %s)",
                    row.member_id,
                    epoch,
                    row.heart_beat,
                )
                self.lease_until = sent + self.exceeded
                self.epoch = epoch
                await self._start_services(epoch)

    async def _guard(self, fn: Callable[[Conn], Awaitable[int | None]]) -> int | None:
        try:
            return await self.db.run(fn, self.db_timeout)
        except DatabaseUnavailable:
            return None

    async def _instance_heartbeat(self, conn: Conn) -> None:
        await conn.execute(
            """INSERT INTO JOC_INSTANCES (MEMBER_ID, HEART_BEAT, ORDERING, URI, STARTED_AT)
               VALUES (%s, now(), %s, %s, now())
               ON CONFLICT (MEMBER_ID) DO UPDATE
               SET HEART_BEAT = now(), ORDERING = EXCLUDED.ORDERING, URI = EXCLUDED.URI,
                   STOPPED = FALSE""",
            (self.member_id, self.ordering, self.uri),
        )

    async def _active_round(self, conn: Conn) -> str | None:
        assert self.epoch is not None
        await self._instance_heartbeat(conn)
        return await confirm_active(conn, self.member_id, self.epoch)

    async def _standby_round(self, conn: Conn) -> ClusterRow:
        await self._instance_heartbeat(conn)
        return await read_cluster(conn, self.exceeded)

    async def _activate(self, epoch: int, sent: float) -> None:
        self.epoch = epoch
        try:
            await self.db.run(self._active_round, self.db_timeout)
        except (Fenced, DatabaseUnavailable) as exc:
            log.warning("could not confirm the hand-over of epoch %d: %s", epoch, exc)
            self.epoch = None
            return
        self.lease_until = sent + self.exceeded
        log.info("became active by hand-over (epoch %d)", epoch)
        await self._start_services(epoch)

    async def _start_services(self, epoch: int) -> None:
        self.services_running = True
        await self._on_active(epoch)

    async def _step_down(self) -> None:
        self.epoch = None
        self.lease_until = 0.0
        if self.services_running:
            self.services_running = False
            await self._on_standby()

    # -- switch-over and stop ---------------------------------------------

    async def request_switch(self, target: str) -> None:
        """Ask the active (whichever instance that is) to hand over to ``target``."""

        async def write(conn: Conn) -> int:
            cur = await conn.execute(
                """UPDATE JOC_CLUSTER SET SWITCH_MEMBER_ID = %s, SWITCH_HEART_BEAT = now()
                   WHERE ID = 'cluster' AND MEMBER_ID IS NOT NULL AND MEMBER_ID <> %s""",
                (target, target),
            )
            return cur.rowcount

        if await self.db.run(write) != 1:
            raise ValueError(f"{target} is already the active instance (or none is active)")
        self.wake.set()

    async def switch_to(self, target: str | None) -> bool:
        """As the active: stop the services, then hand the role to ``target``."""
        epoch = self.epoch
        if epoch is None:
            return False
        log.info("handing over to %s (epoch %d)", target or "<next>", epoch)
        await self._step_down()  # services stop before anyone else may start them
        try:
            new = await self.db.run(lambda c: hand_over(c, self.member_id, epoch, target))
        except DatabaseUnavailable as exc:
            log.warning("hand-over failed, the standbys will take over on expiry: %s", exc)
            return False
        log.info("handed over to %s (epoch %s)", target or "<next>", new)
        return new is not None

    async def next_standby(self) -> str | None:
        async def pick(conn: Conn) -> str | None:
            cur = await conn.execute(
                """SELECT MEMBER_ID FROM JOC_INSTANCES
                   WHERE MEMBER_ID <> %s AND NOT STOPPED
                     AND now() - HEART_BEAT <= make_interval(secs => %s)
                   ORDER BY ORDERING, MEMBER_ID LIMIT 1""",
                (self.member_id, self.exceeded),
            )
            row = await cur.fetchone()
            return str(row[0]) if row else None

        return await self.db.run(pick)

    async def stop(self) -> None:
        """A normal stop: hand over to the next live standby (or leave the
        role free), then mark this instance stopped."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            if self.epoch is not None:
                target = await self.next_standby()
                await self.switch_to(target)
            await self._step_down()

            async def mark(conn: Conn) -> None:
                await conn.execute(
                    "UPDATE JOC_INSTANCES SET STOPPED = TRUE WHERE MEMBER_ID = %s",
                    (self.member_id,),
                )

            await self.db.run(mark)
        except DatabaseUnavailable as exc:
            log.warning("stopping without the database: %s", exc)
