"""The engine: finds due order steps, claims them, runs their jobs.

What must hold:

* It runs nothing unless the cluster says this member may (the exclusive
  member of a passive cluster; every member of an active cluster), and every
  claim re-checks that in the database (see ``store.claim``).
* A job is a shell command in its own process group (``/bin/sh -c``, a new
  session), or an in-process no-op that only waits ``noop`` seconds (for high
  rates). Every running job's group is known, so the watchdog can kill them
  all from its own thread before the process aborts.
* A member only claims while it has capacity (``max-tasks``, and per job
  ``<job tasks>``: at most that many of the job's tasks at once). In an active
  cluster it waits a random fraction of a poll interval before each round and
  takes candidates in random order, so every member gets a share.
* On a normal stop the running jobs are killed, their tasks recorded
  ``killed`` and their orders given back unchanged: the step runs again.
* A shell job sees the engine's environment (``spooler_module.cxx:681-701``):
  ``SCHEDULER_ID``, ``SCHEDULER_HOST``, ``SCHEDULER_TCP_PORT``,
  ``SCHEDULER_JOB_NAME``, ``SCHEDULER_TASK_ID``, ``SCHEDULER_JOB_CHAIN``,
  ``SCHEDULER_ORDER_ID``, ``SCHEDULER_ORDER_HISTORY_ID`` (the run's order
  history row, kept when another member continues the run),
  ``SCHEDULER_ORDER_STATE`` and ``SCHEDULER_CONFIGURATION_DIRECTORY``
  (``DIR/config/live``, as in the engine's data directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg

from components.jobscheduler1 import store
from components.jobscheduler1.db import Db
from components.jobscheduler1.options import Options

log = logging.getLogger("js7ha.jobscheduler1.engine")
T = TypeVar("T")
OUTPUT_LIMIT = 4000


class Engine:
    def __init__(self, opts: Options, may_run: Callable[[], bool]) -> None:
        self.opts = opts
        self.sid = opts.scheduler_id
        self.me = opts.member_id
        self.may_run = may_run
        self.db = Db(opts.db_url, f"js1-engine-{self.me}", opts.timing.timeout)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="js1-engine-db")
        self._tasks: dict[int, asyncio.Task[None]] = {}
        # What ``<show_job>`` shows of each running task: its step, start, pid.
        self.running_steps: dict[int, dict[str, Any]] = {}
        self.live_dir = opts.data_dir / "config" / "live"
        self._pgids: set[int] = set()
        self._pg_lock = threading.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[[store.Conn], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.db.run, fn)

    def wake(self) -> None:
        self._wake.set()

    # -- life cycle --------------------------------------------------------

    def start(self) -> None:
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self._loop_task = asyncio.create_task(self._loop(), name="js1-engine")

    async def _loop(self) -> None:
        poll = self.opts.timing.poll
        active_cluster = self.opts.distributed
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)
            self._wake.clear()
            if self._stopping or not self.may_run():
                continue
            capacity = self.opts.max_tasks - len(self._tasks)
            if capacity <= 0:
                continue
            if active_cluster:
                # Random back-off: whoever is fastest would otherwise take it all.
                await asyncio.sleep(random.uniform(0, poll))
            try:
                await self._round(capacity, active_cluster)
            except psycopg.Error as exc:
                log.warning("database: %s", _first_line(exc))
            except Exception:
                log.exception("engine round failed")

    async def _round(self, capacity: int, active_cluster: bool) -> None:
        steps = await self.call(
            lambda c: store.candidates(c, self.sid, self.me, active_cluster, capacity * 3)
        )
        if active_cluster:
            random.shuffle(steps)
        per_job: dict[str, int] = {}
        for r in self.running_steps.values():
            per_job[r["job"]] = per_job.get(r["job"], 0) + 1
        for step in steps:
            if capacity <= 0 or self._stopping or not self.may_run():
                return
            if step["action"] != "next_state" and per_job.get(step["job"], 0) >= step["tasks"]:
                continue
            if step["action"] == "next_state":
                if await self.call(functools.partial(self._skip, step=step)):
                    self._wake.set()
                continue
            got = await self.call(functools.partial(self._claim, step=step))
            if got is None:
                continue
            task_id, started = got
            capacity -= 1
            per_job[step["job"]] = per_job.get(step["job"], 0) + 1
            self.running_steps[task_id] = {
                "job": step["job"],
                "step": step,
                "started": started,
                "pid": None,
            }
            self._tasks[task_id] = asyncio.create_task(self._run_step(task_id, step))

    def _claim(self, c: store.Conn, step: dict[str, Any]) -> tuple[int, int] | None:
        ok = store.claim(
            c,
            self.sid,
            step["job_chain"],
            step["id"],
            self.me,
            step["distributed_next_time"],
            self.opts.exclusive,
        )
        if not ok:
            return None
        step["history_id"] = store.open_order_run(c, self.sid, step)
        return store.start_task(c, self.sid, self.me, step, self.opts.exclusive)

    def _skip(self, c: store.Conn, step: dict[str, Any]) -> bool:
        """A skipped node: pass it without running its job."""
        ok = store.claim(
            c,
            self.sid,
            step["job_chain"],
            step["id"],
            self.me,
            step["distributed_next_time"],
            self.opts.exclusive,
        )
        return ok and store.advance(c, self.sid, self.me, step, ok=True)

    async def _run_step(self, task_id: int, step: dict[str, Any]) -> None:
        rc: int | None = None
        output: str | None = None
        killed = False
        try:
            if step["command"] is not None:
                rc, output = await self._shell(task_id, step)
                killed = rc is not None and rc < 0 and self._stopping
            else:
                await asyncio.sleep(float(step["noop_seconds"] or 0))
                rc = 0
        except asyncio.CancelledError:
            killed = True
        except OSError as exc:
            log.error("task %d: cannot start job %s: %s", task_id, step["job"], exc)
            rc, output = None, f"cannot start: {exc}"
        try:
            await self._persist(task_id, step, rc, output, killed)
        finally:
            self._tasks.pop(task_id, None)
            self.running_steps.pop(task_id, None)
            self._wake.set()

    async def _shell(self, task_id: int, step: dict[str, Any]) -> tuple[int | None, str]:
        env = dict(os.environ)
        env.update(
            {
                "SCHEDULER_ID": self.sid,
                "SCHEDULER_HOST": self.opts.host,
                "SCHEDULER_TCP_PORT": str(self.opts.port),
                "SCHEDULER_CONFIGURATION_DIRECTORY": str(self.live_dir),
                "SCHEDULER_JOB_NAME": step["job"],
                "SCHEDULER_TASK_ID": str(task_id),
                "SCHEDULER_JOB_CHAIN": step["job_chain"],
                "SCHEDULER_ORDER_ID": step["id"],
                "SCHEDULER_ORDER_HISTORY_ID": str(step.get("history_id") or ""),
                "SCHEDULER_ORDER_STATE": step["state"],
            }
        )
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            step["command"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed as a whole
            env=env,
        )
        with self._pg_lock:
            self._pgids.add(proc.pid)
        if task_id in self.running_steps:
            self.running_steps[task_id]["pid"] = proc.pid
        try:
            out, _ = await proc.communicate()
        except asyncio.CancelledError:
            _killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
            raise
        finally:
            with self._pg_lock:
                self._pgids.discard(proc.pid)
        return proc.returncode, out.decode(errors="replace")[-OUTPUT_LIMIT:]

    async def _persist(
        self, task_id: int, step: dict[str, Any], rc: int | None, output: str | None, killed: bool
    ) -> None:
        """Record the task's end and move the order on — retried until the
        database answers (the job's outcome must not be lost)."""
        ok = rc == 0
        result = "killed" if killed else ("ok" if ok else "failed")

        def tx(c: store.Conn) -> bool:
            store.end_task(c, task_id, rc, result, output)
            if killed:
                store.release(c, self.sid, self.me, step)
                return True
            return store.advance(c, self.sid, self.me, step, ok)

        delay = self.opts.timing.poll
        while True:
            try:
                held = await self.call(tx)
                break
            except psycopg.Error as exc:
                log.warning("task %d: cannot record its end yet: %s", task_id, _first_line(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.opts.timing.beat)
        if not held:
            log.warning(
                "task %d: order %s/%s was taken from %s meanwhile (declared dead):"
                " its step result is not applied",
                task_id,
                step["job_chain"],
                step["id"],
                self.me,
            )

    def kill_all_sync(self) -> int:
        """SIGKILL every running job's process group (from any thread)."""
        with self._pg_lock:
            groups = list(self._pgids)
        for pgid in groups:
            _killpg(pgid, signal.SIGKILL)
        return len(groups)

    async def stop(self, grace: float) -> None:
        """Normal stop: no new steps; running jobs are terminated and their
        tasks recorded ``killed`` with the order given back."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        with self._pg_lock:
            groups = list(self._pgids)
        for pgid in groups:
            _killpg(pgid, signal.SIGTERM)
        pending = list(self._tasks.values())
        if pending:
            log.info("stopping: terminating %d running task(s)", len(pending))
            _, still = await asyncio.wait(pending, timeout=grace)
            self.kill_all_sync()
            for t in still:
                t.cancel()
            if still:
                await asyncio.wait(still, timeout=grace)
        self._executor.shutdown(wait=False, cancel_futures=True)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
