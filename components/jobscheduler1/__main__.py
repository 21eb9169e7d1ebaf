"""``python -m components.jobscheduler1 --data-dir DIR [--id SCHEDULER_ID]
[--db URL] [-exclusive] [-backup] [-backup-precedence=N] [-distributed-orders]``.

Config: ``DIR/config/scheduler.conf`` (section ``js1``: ``id``, ``member-id``,
``db``, ``host``, ``port``, ``exclusive``, ``backup``, ``backup-precedence``,
``distributed-orders``, ``heartbeat-period``, ``heartbeat-timeout``,
``max-tasks``); the command line wins. Invalid options stop the member at
start with the engine's message (SCHEDULER-368, SCHEDULER-369) and status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from components.common.config import ConfigProblem, die
from components.common.web import serve, setup_logging
from components.jobscheduler1 import options
from components.jobscheduler1.api import build_app, render_plain
from components.jobscheduler1.cluster import Cluster
from components.jobscheduler1.engine import Engine

log = logging.getLogger("js7ha.jobscheduler1")


async def amain(opts: options.Options) -> None:
    cluster: Cluster | None = None
    engine = Engine(opts, lambda: cluster is not None and cluster.may_run())
    cluster = Cluster(opts, engine.kill_all_sync)
    app = build_app(opts, cluster, engine)
    stopped = cluster

    async def on_startup(_: object) -> None:
        stopped.start()
        engine.start()

    async def on_shutdown(_: object) -> None:
        # Tasks first, then the cluster row: a backup must never see this
        # member terminated while one of its jobs still runs.
        grace = min(5.0, opts.timing.timeout)
        await engine.stop(grace)
        loop = asyncio.get_running_loop()
        # Not the default executor: asyncio.run() would wait for a call blocked
        # on a cut database link forever.
        pool = ThreadPoolExecutor(1, thread_name_prefix="js1-terminate")
        try:
            await asyncio.wait_for(
                loop.run_in_executor(pool, stopped.terminate), opts.timing.timeout
            )
        except Exception as exc:  # noqa: BLE001 - e.g. the database is cut: stop anyway
            log.warning("could not record the normal termination: %r", exc)
        finally:
            pool.shutdown(wait=False)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    log.info(
        "JobScheduler %s member %s starting (%s cluster, heartbeat period %ss, timeout %ss)",
        opts.scheduler_id,
        opts.member_id,
        opts.cluster_mode,
        opts.timing.period,
        opts.timing.timeout,
    )
    await serve(app, opts.host, opts.port, render=render_plain)


def main() -> None:
    setup_logging()
    try:
        opts = options.load(sys.argv[1:])
    except options.OptionError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except ConfigProblem as p:
        die(p)
    asyncio.run(amain(opts))
    log.info("JobScheduler member %s terminated", opts.member_id)
    for h in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            h.flush()
    # A database call blocked on a cut link must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
