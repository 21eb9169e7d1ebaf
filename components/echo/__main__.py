"""``python -m components.echo --data-dir DIR``.

Endpoints: ``GET /health``; ``GET /tick`` (a counter advanced every 10 ms by
the event loop — it stops while the process is paused); ``GET /peer/{name}``
(calls the peer's ``/health`` over this node's link to it); ``GET /db`` (runs
``SELECT 1`` over the database link); ``GET /state`` and ``POST /state``
(a value persisted under ``state/``, to show state wipes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from components.common.config import Config, ConfigProblem, data_dir_args, die
from components.common.web import Problem, problem_middleware, read_json, serve, setup_logging

log = logging.getLogger("js7ha.echo")


def build_app(cfg: Config, data_dir: Path) -> web.Application:
    name = cfg.string("js7ha.node-name")
    peers = cfg.mapping("js7ha.peers", {})
    db_url = cfg.string("js7ha.database-url", "")
    timeout = cfg.seconds("js7ha.peer-timeout", 2.0)
    state_file = data_dir / "state" / "value.json"
    ticks = 0
    started = time.time()

    async def ticker(app: web.Application) -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def on_startup(app: web.Application) -> None:
        app["ticker"] = asyncio.create_task(ticker(app))
        app["client"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def on_cleanup(app: web.Application) -> None:
        app["ticker"].cancel()
        await app["client"].close()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "node": name, "pid": os.getpid()})

    async def tick(_: web.Request) -> web.Response:
        return web.json_response({"node": name, "ticks": ticks, "uptime": time.time() - started})

    async def peer(request: web.Request) -> web.Response:
        target = request.match_info["name"]
        if target not in peers:
            raise Problem(404, "UnknownPeer", f"no link from {name} to {target!r}")
        t0 = time.monotonic()
        try:
            async with request.app["client"].get(f"http://{peers[target]}/health") as resp:
                body = await resp.json()
            return web.json_response(
                {"peer": target, "ok": True, "answer": body, "seconds": time.monotonic() - t0}
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Problem(
                502,
                "PeerUnreachable",
                f"{target}: {type(exc).__name__}: {exc}",
                seconds=time.monotonic() - t0,
            ) from None

    async def db(_: web.Request) -> web.Response:
        if not db_url:
            raise Problem(404, "NoDatabase", "this node has no database link")
        import psycopg

        t0 = time.monotonic()
        try:
            async with await asyncio.wait_for(
                psycopg.AsyncConnection.connect(db_url, connect_timeout=max(1, int(timeout))),
                timeout,
            ) as conn:
                cur = await asyncio.wait_for(conn.execute("SELECT 1"), timeout)
                row = await cur.fetchone()
            return web.json_response({"ok": row == (1,), "seconds": time.monotonic() - t0})
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise Problem(503, "DatabaseUnavailable", f"{type(exc).__name__}: {exc}") from None

    async def get_state(_: web.Request) -> web.Response:
        if not state_file.exists():
            return web.json_response({"value": None})
        return web.json_response(json.loads(state_file.read_text()))

    async def put_state(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or "value" not in body:
            raise Problem(400, "MissingField", 'expected {"value": ...}')
        tmp = state_file.with_suffix(".tmp")
        with tmp.open("w") as f:
            json.dump({"value": body["value"]}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(state_file)
        return web.json_response({"value": body["value"]})

    app = web.Application(middlewares=[problem_middleware])
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/health", health)
    app.router.add_get("/tick", tick)
    app.router.add_get("/peer/{name}", peer)
    app.router.add_get("/db", db)
    app.router.add_get("/state", get_state)
    app.router.add_post("/state", put_state)
    return app


def main() -> None:
    args = data_dir_args("python -m components.echo")
    setup_logging()
    try:
        cfg = Config.load(args.data_dir / "config" / "echo.conf")
        host = cfg.string("js7ha.host", "127.0.0.1")
        port = cfg.port("js7ha.port")
        app = build_app(cfg, args.data_dir)
    except ConfigProblem as p:
        die(p)
    (args.data_dir / "state").mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(app, host, port))


if __name__ == "__main__":
    main()
