"""Cluster membership: heartbeats, take-over, dead members, the watchdog.

Runs in two threads of its own, so a busy or blocked event loop cannot delay
a heartbeat and a blocked heartbeat cannot delay the watchdog.

What must hold (JS7-FACTS §6, times from ``options.Timing``):

* **Heartbeat** — ``UPDATE scheduler_clusters SET last_heart_beat=now,
  next_heart_beat=now+beat WHERE member_id=me AND last_heart_beat=<old> AND
  NOT dead``. No row changed and the row says ``dead``: another member took
  over from this one, so it aborts at once.
* **Passive cluster** (``-exclusive``): at most one row is ``exclusive``
  (a unique index enforces it). The primary (no ``-backup``) takes the
  exclusive row when nobody holds it; a backup never does — so a normal
  termination, which clears the terminating member's row and marks it
  ``command='terminated'``, hands over to nobody. A backup takes over only
  from a *dead* holder (database clock past its ``next_heart_beat +
  timeout``), only if no live member of lower precedence (ties: lower member
  id) exists, and in ONE transaction under an advisory lock: mark the holder
  dead and not exclusive (conditional on its old heartbeat), free its orders,
  mark its unfinished tasks disrupted, make itself ``active, exclusive``,
  then move scheduled orders whose start fell due before now to their next
  start (starts due during the take-over wait are lost, not run late).
* **Active cluster** (``-distributed-orders``): every member is ``active``;
  whoever sees a member dead marks it so and frees its orders, in one
  transaction conditional on the dead member's last heartbeat.
* **Watchdog** — a member that has not written its heartbeat for
  ``fence_after`` kills its running tasks, logs the engine's
  ``SCHEDULER-386`` and aborts (``os._exit``): strictly before anyone may
  declare it dead. A take-over logs ``SCHEDULER-835`` (and ``SCHEDULER-836``
  for the dead member), as the engine does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from components.jobscheduler1 import store
from components.jobscheduler1.db import NOW_MS, Db, migrate
from components.jobscheduler1.options import Options

log = logging.getLogger("js7ha.jobscheduler1.cluster")

FENCE_EXIT_STATUS = 99


class _Abort(Exception):
    """Roll back a take-over whose condition no longer holds."""


class Cluster:
    def __init__(self, opts: Options, kill_tasks: Callable[[], int]) -> None:
        self.opts = opts
        self.sid = opts.scheduler_id
        self.me = opts.member_id
        self.timing = opts.timing
        self.kill_tasks = kill_tasks
        self.db = Db(opts.db_url, f"js1-cluster-{self.me}", opts.timing.timeout)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.registered = False
        self.active = False  # may run jobs
        self.exclusive = False
        self.activated_at: int | None = None
        self.rows: list[dict[str, Any]] = []
        self.rows_read_at: float | None = None
        self._last_hb: int | None = None
        self._last_ok_sent = time.monotonic()
        self._next_beat = 0.0
        self._terminated = False
        self._threads: list[threading.Thread] = []
        self._last_warning = ("", 0.0)

    # -- what the engine and the API read ------------------------------

    def may_run(self) -> bool:
        with self._lock:
            return self.registered and self.active and not self._terminated

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "registered": self.registered,
                "active": self.active,
                "exclusive": self.exclusive,
                "activated_at": self.activated_at,
                "cluster": [dict(r) for r in self.rows],
                "cluster_read_age": None
                if self.rows_read_at is None
                else round(time.monotonic() - self.rows_read_at, 3),
                "heartbeat_age": round(time.monotonic() - self._last_ok_sent, 3),
            }

    # -- life cycle --------------------------------------------------------

    def start(self) -> None:
        for name, target in (("cluster", self._run), ("watchdog", self._watchdog)):
            t = threading.Thread(target=target, name=f"js1-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.registered:
                    self.db.run(lambda c: migrate(c))
                    self._register()
                if time.monotonic() >= self._next_beat:
                    self._heartbeat()
                self._evaluate()
            except psycopg.Error as exc:
                self._db_warning(exc)
            except Exception:
                log.exception("cluster thread error")
            self._stop.wait(self.timing.tick)

    def _db_warning(self, exc: BaseException) -> None:
        # Once per distinct problem per heartbeat cycle: the thread retries every tick.
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        now = time.monotonic()
        if text != self._last_warning[0] or now - self._last_warning[1] > self.timing.beat:
            log.warning("database: %s", text)
            self._last_warning = (text, now)

    def _register(self) -> None:
        """Join as a new incarnation: not dead, not active, with a heartbeat.
        What an earlier incarnation of this member held is freed — nothing of
        it runs any more."""
        t = self.timing
        beat_ms = round(t.beat * 1000)
        # Without -exclusive every member runs its own jobs: active at once.
        active = not self.opts.exclusive

        def tx(c: store.Conn) -> int:
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"js1-cluster:{self.sid}",))
            sent = time.monotonic()
            row = c.execute(
                f"""INSERT INTO scheduler_clusters (member_id, scheduler_id, precedence,
                        last_heart_beat, next_heart_beat, active, exclusive, dead, paused,
                        command, http_url, deactivating_member_id)
                    VALUES (%(me)s, %(sid)s, %(prec)s, {NOW_MS}, {NOW_MS} + %(beat)s, %(active)s,
                            false, false, false, NULL, %(url)s, NULL)
                    ON CONFLICT (member_id) DO UPDATE SET scheduler_id = EXCLUDED.scheduler_id,
                        precedence = EXCLUDED.precedence,
                        last_heart_beat = EXCLUDED.last_heart_beat,
                        next_heart_beat = EXCLUDED.next_heart_beat, active = EXCLUDED.active,
                        exclusive = false, dead = false, paused = false, command = NULL,
                        http_url = EXCLUDED.http_url, deactivating_member_id = NULL
                    RETURNING last_heart_beat""",
                {
                    "me": self.me,
                    "sid": self.sid,
                    "prec": self.opts.precedence,
                    "beat": beat_ms,
                    "active": active,
                    "url": f"http://{self.opts.host}:{self.opts.port}",
                },
            ).fetchone()
            assert row is not None
            orders, tasks = store.free_member(c, self.sid, self.me)
            if orders or tasks:
                log.info(
                    "freed %d order(s) and %d disrupted task(s) of my previous run", orders, tasks
                )
            store.log_event(c, self.sid, self.me, "started", self.opts.cluster_mode)
            self._beat_ok(sent)
            return int(row["last_heart_beat"])

        self._last_hb = self.db.run(tx)
        with self._lock:
            self.registered = True
            self.active = active
            if active:
                self.activated_at = store.wall_ms()
        log.info(
            "SCHEDULER-CLUSTER member %s of %s registered (%s cluster, precedence %d%s)",
            self.me,
            self.sid,
            self.opts.cluster_mode,
            self.opts.precedence,
            ", backup" if self.opts.backup else "",
        )
        self._next_beat = time.monotonic() + self.timing.beat

    def _beat_ok(self, sent: float) -> None:
        with self._lock:
            self._last_ok_sent = max(self._last_ok_sent, sent)

    def _heartbeat(self) -> None:
        sent = time.monotonic()
        self._next_beat = sent + self.timing.beat
        beat_ms = round(self.timing.beat * 1000)

        def tx(c: store.Conn) -> dict[str, Any] | None:
            row = c.execute(
                f"""UPDATE scheduler_clusters
                    SET last_heart_beat = {NOW_MS}, next_heart_beat = {NOW_MS} + %s
                    WHERE member_id = %s AND last_heart_beat = %s AND NOT dead
                    RETURNING last_heart_beat, exclusive, active""",
                (beat_ms, self.me, self._last_hb),
            ).fetchone()
            if row is not None:
                return {"ok": True, **row}
            mine = c.execute(
                "SELECT last_heart_beat, dead, deactivating_member_id, exclusive"
                " FROM scheduler_clusters WHERE member_id = %s",
                (self.me,),
            ).fetchone()
            return {"ok": False, **(mine or {"dead": True, "deactivating_member_id": None})}

        res = self.db.run(tx)
        assert res is not None
        if res["ok"]:
            self._last_hb = res["last_heart_beat"]
            self._beat_ok(sent)
            if self.opts.exclusive and self.exclusive and not res["exclusive"]:
                self.fence("my exclusive cluster row was taken from me")
            return
        if res["dead"]:
            self.fence(f"declared dead by {res.get('deactivating_member_id') or 'another member'}")
        # Someone else wrote my heartbeat (a second process with my member id, or
        # an earlier write whose answer was lost): adopt it and go on.
        log.warning(
            "SCHEDULER-CLUSTER heartbeat of %s was changed by someone else (%s, expected %s)",
            self.me,
            res.get("last_heart_beat"),
            self._last_hb,
        )
        self._last_hb = res.get("last_heart_beat")

    # -- looking at the others ------------------------------------------

    def _evaluate(self) -> None:
        def read(c: store.Conn) -> tuple[list[dict[str, Any]], int]:
            rows = c.execute(
                "SELECT * FROM scheduler_clusters WHERE scheduler_id = %s ORDER BY member_id",
                (self.sid,),
            ).fetchall()
            return rows, store.now_ms(c)

        rows, now = self.db.run(read)
        with self._lock:
            self.rows = rows
            self.rows_read_at = time.monotonic()
        timeout_ms = round(self.timing.timeout * 1000)

        def stale(r: dict[str, Any]) -> bool:
            nhb = r["next_heart_beat"]
            return nhb is None or now > nhb + timeout_ms

        def live(r: dict[str, Any]) -> bool:
            return not r["dead"] and r["command"] is None and not stale(r)

        by_id = {r["member_id"]: r for r in rows}
        mine = by_id.get(self.me)
        if mine is None or self._terminated:
            return
        if self.opts.distributed:
            for r in rows:
                others = r["member_id"] != self.me and not r["dead"] and r["command"] is None
                if others and stale(r):
                    self._declare_dead(r)
            return
        if not self.opts.exclusive:
            return
        holder = next((r for r in rows if r["exclusive"]), None)
        if holder is not None and holder["member_id"] == self.me:
            if not self.active:
                # Our own take-over committed but its answer was lost.
                self._set_active(now)
            return
        if self.exclusive:
            self.fence("another member holds the exclusive cluster row")
        if holder is None:
            if not self.opts.backup:
                self._take_over(None)
            return
        if not stale(holder):
            return
        rank = (self.opts.precedence, self.me)
        lower = [
            r["member_id"]
            for r in rows
            if r["member_id"] not in (self.me, holder["member_id"])
            and live(r)
            and (r["precedence"], r["member_id"]) < rank
        ]
        if lower:
            return  # a member of lower precedence is alive: it takes over
        self._take_over(holder)

    def _take_over(self, holder: dict[str, Any] | None) -> None:
        lock_key = f"js1-cluster:{self.sid}"

        def tx(c: store.Conn) -> tuple[int, list[dict[str, Any]], tuple[int, int]]:
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_key,))
            freed = (0, 0)
            if holder is None:
                if c.execute(
                    "SELECT 1 FROM scheduler_clusters WHERE scheduler_id = %s AND exclusive",
                    (self.sid,),
                ).fetchone():
                    raise _Abort("someone became exclusive meanwhile")
            else:
                changed = c.execute(
                    """UPDATE scheduler_clusters
                       SET exclusive = false, active = false, dead = true,
                           deactivating_member_id = %s
                       WHERE member_id = %s AND last_heart_beat IS NOT DISTINCT FROM %s
                         AND exclusive AND NOT dead""",
                    (self.me, holder["member_id"], holder["last_heart_beat"]),
                ).rowcount
                if changed != 1:
                    raise _Abort(f"{holder['member_id']} is no longer the same dead holder")
                freed = store.free_member(c, self.sid, holder["member_id"])
                store.log_event(c, self.sid, holder["member_id"], "dead", f"by {self.me}")
            changed = c.execute(
                """UPDATE scheduler_clusters SET active = true, exclusive = true,
                       deactivating_member_id = NULL
                   WHERE member_id = %s AND NOT dead AND command IS NULL""",
                (self.me,),
            ).rowcount
            if changed != 1:
                raise _Abort("my own cluster row is dead or terminated")
            now = store.now_ms(c)
            skipped = store.skip_missed_starts(c, self.sid, now)
            store.log_event(
                c,
                self.sid,
                self.me,
                "active",
                "take-over from " + holder["member_id"] if holder else "start",
                at=now,  # the instant before which missed starts were skipped
            )
            return now, skipped, freed

        try:
            now, skipped, freed = self.db.run(tx)
        except _Abort as why:
            log.info("take-over not done: %s", why)
            return
        except psycopg.errors.UniqueViolation:
            log.info("take-over not done: another member became exclusive at the same time")
            return
        self._set_active(now)
        # The engine's words (scheduler_messages.cxx:431-432), which a
        # watcher of the log reads the take-over from.
        if holder is not None:
            log.warning("SCHEDULER-836  Deactivating that dead Scheduler %s", holder["member_id"])
        log.info("SCHEDULER-835  This JobScheduler is becoming exclusive now")
        if holder is not None:
            log.warning(
                "SCHEDULER-CLUSTER %s took over from dead member %s (last heartbeat %s);"
                " freed %d order(s), %d disrupted task(s)",
                self.me,
                holder["member_id"],
                holder["last_heart_beat"],
                *freed,
            )
        else:
            log.info("SCHEDULER-CLUSTER %s is the active (exclusive) member", self.me)
        for s in skipped:
            log.info(
                "start of order %s/%s due at %s fell into the take-over wait:"
                " it runs at its next scheduled time %s",
                s["job_chain"],
                s["id"],
                s["missed_due"],
                s["next"],
            )

    def _set_active(self, now: int) -> None:
        with self._lock:
            self.active = True
            self.exclusive = True
            self.activated_at = now

    def _declare_dead(self, r: dict[str, Any]) -> None:
        def tx(c: store.Conn) -> tuple[int, int] | None:
            changed = c.execute(
                """UPDATE scheduler_clusters SET dead = true, active = false,
                       deactivating_member_id = %s
                   WHERE member_id = %s AND last_heart_beat IS NOT DISTINCT FROM %s
                     AND NOT dead AND command IS NULL""",
                (self.me, r["member_id"], r["last_heart_beat"]),
            ).rowcount
            if changed != 1:
                return None
            store.log_event(c, self.sid, r["member_id"], "dead", f"by {self.me}")
            return store.free_member(c, self.sid, r["member_id"])

        freed = self.db.run(tx)
        if freed is not None:
            log.warning("SCHEDULER-836  Deactivating that dead Scheduler %s", r["member_id"])
            log.warning(
                "SCHEDULER-CLUSTER member %s is dead (last heartbeat %s): freed %d order(s),"
                " %d disrupted task(s) for the others",
                r["member_id"],
                r["last_heart_beat"],
                *freed,
            )

    # -- ending ------------------------------------------------------------

    def terminate(self) -> None:
        """A normal termination: record it so nobody takes over (call after the
        engine has stopped its tasks)."""
        with self._lock:
            self._terminated = True
            self.active = False
        self._stop.set()
        for t in self._threads:
            if t.name == "js1-cluster":
                t.join(timeout=self.timing.timeout)

        def tx(c: store.Conn) -> int:
            n = c.execute(
                """UPDATE scheduler_clusters SET active = false, exclusive = false,
                       command = 'terminated', next_heart_beat = NULL
                   WHERE member_id = %s AND NOT dead""",
                (self.me,),
            ).rowcount
            store.log_event(c, self.sid, self.me, "terminated")
            return n

        if self.registered:
            n = self.db.run(tx)
            log.info("SCHEDULER-CLUSTER %s terminated normally (%d row)", self.me, n)
        self.db.close()

    def _watchdog(self) -> None:
        limit = self.timing.fence_after
        while not self._stop.wait(self.timing.tick / 2):
            with self._lock:
                armed = self.registered and not self._terminated
                age = time.monotonic() - self._last_ok_sent
            if armed and age > limit:
                last = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - age))
                self.fence(
                    f"no heartbeat written for {age:.3f}s (limit {limit:.3f}s)",
                    "SCHEDULER-386",
                    f"Last heart beat was {last}, {int(age)} seconds ago. Something is delaying"
                    " JobScheduler execution, the JobScheduler is aborted immediately",
                )

    def fence(
        self,
        why: str,
        code: str = "SCHEDULER-367",
        message: str = "Scheduler is aborting because it has lost its exclusivity",
    ) -> None:
        """Abort now: kill every running task first, so nothing of this member
        runs once the others may take over. Logged with the engine's code:
        SCHEDULER-386 when its own heartbeat is late, SCHEDULER-367 when it
        lost its exclusivity (scheduler_messages.cxx:215, :232)."""
        killed = -1
        with contextlib.suppress(Exception):
            killed = self.kill_tasks()
        log.critical(
            "%s  %s (self-fencing of %s: %s; killed %d task(s))",
            code,
            message,
            self.me,
            why,
            killed,
        )
        for h in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                h.flush()
        sys.stderr.flush()
        os._exit(FENCE_EXIT_STATUS)
