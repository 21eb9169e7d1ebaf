"""``python -m components.cluster_watch --data-dir DIR --cluster-watch-id=ID``:
JS7's standalone Cluster Watch for a Controller pair (``js7-cluster-watch``).

Config: ``DIR/config/cluster-watch.conf`` and ``DIR/config/private.conf``
(``components/cluster_watch/settings.py``). No state: like JS7's, the Watch
learns the cluster from the active node's heartbeats after every start.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from aiohttp import web

from components.cluster_watch import settings
from components.common.cluster.watch_service import ClusterWatchService
from components.common.config import Config, ConfigProblem, die
from components.common.web import serve, setup_logging
from components.wire.codec import to_json

log = logging.getLogger("js7.cluster.watch.ClusterWatchMain")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m components.cluster_watch")
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--cluster-watch-id", required=True)
    return ap.parse_args()


def main() -> None:
    args = _args()
    setup_logging()
    cfg_dir = args.data_dir / "config"
    try:
        cfg = Config.load(cfg_dir / "cluster-watch.conf", cfg_dir / "private.conf")
        s = settings.load(cfg, args.cluster_watch_id)
    except ConfigProblem as p:
        die(p)

    async def run() -> None:
        service = ClusterWatchService(
            s.watch_id, "/controller/api", "", "", s.retry_max_delay, label="Controller cluster"
        )
        for node in s.nodes:
            service.watch([node.uri], user=node.user, password=node.password)

        async def health(_: web.Request) -> web.Response:
            return web.json_response(
                {
                    "status": "ok",
                    "clusterWatchId": s.watch_id,
                    "clusterWatchRunId": service.run_id,
                    **service.arbiter.status(),
                    "lossToConfirm": to_json(service.loss_to_confirm),
                }
            )

        app = web.Application()
        app.router.add_get("/health", health)
        log.info("ClusterWatch %s watches %s", s.watch_id, ", ".join(n.uri for n in s.nodes))
        try:
            await serve(app, s.host, s.port)
        finally:
            await service.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
