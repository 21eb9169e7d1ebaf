"""HTTP API of one member.

``GET /health`` answers 200 once the member has joined the cluster table,
then as long as the process runs (it never touches the database).
``GET /status`` is the member's view of itself and the "Cluster tab": its
member id, role (``active``/``passive``/``backup``) and the cluster
rows as it last read them. Everything else reads or writes the shared
database, so any member shows the same jobs, job chains, orders and tasks:

* ``GET /jobs``; ``PUT /jobs/{name}`` ``{"command": "…"}`` or ``{"noop": s}``,
  optional ``"stopped"``; ``POST /jobs/{name}/stop|start``
* ``GET /job_chains``; ``PUT /job_chains/{name}`` ``{"distributed": bool,
  "nodes": [{"state", "job", "next_state"?, "error_state"?, "action"?}]}``;
  ``POST /job_chains/{name}/stop|start``;
  ``POST /job_chains/{name}/nodes/{state}/stop|skip|activate``
* ``GET /orders[?job_chain=]``; ``POST /orders`` ``{"job_chain", "id",
  "run_time"?, "state"?, "suspended"?}``; ``GET /orders/{chain}/{id}``;
  ``POST /orders/{chain}/{id}/suspend|resume``
* ``GET /tasks[?job_chain=&order_id=&after=]`` — the task history
* ``GET /cluster/events`` — activations, deaths, terminations

Bad input gets a 4xx JSON problem; an unreachable database a 503 problem.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from aiohttp import web

from components.common.web import Problem, problem_middleware, read_json
from components.jobscheduler1 import schedule, store
from components.jobscheduler1.cluster import Cluster
from components.jobscheduler1.db import Db
from components.jobscheduler1.engine import Engine
from components.jobscheduler1.options import Options

T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise Problem(400, "InvalidName", f"{what} must match {_NAME.pattern}, got {value!r}")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise Problem(400, "BadRequest", f"{key!r} must be true or false, got {value!r}")
    return value


def _object(body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Problem(400, "BadRequest", "expected a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Problem(400, "BadRequest", f"unknown fields {unknown}; allowed: {sorted(allowed)}")
    return body


def build_app(opts: Options, cluster: Cluster, engine: Engine) -> web.Application:
    sid = opts.scheduler_id
    db = Db(opts.db_url, f"js1-api-{opts.member_id}", opts.timing.timeout)
    executor = ThreadPoolExecutor(2, thread_name_prefix="js1-api-db")
    budget = max(2.0, opts.timing.timeout)

    async def call(fn: Callable[[store.Conn], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(executor, db.run, fn), budget)
        except store.NotFound as exc:
            raise Problem(404, "UnknownItem", str(exc)) from None
        except store.Conflict as exc:
            raise Problem(409, "Duplicate", str(exc)) from None
        except schedule.RunTimeError as exc:
            raise Problem(400, "InvalidRunTime", str(exc)) from None
        except TimeoutError:
            raise Problem(503, "DatabaseUnavailable", f"no answer within {budget}s") from None
        except psycopg.Error as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Problem(503, "DatabaseUnavailable", text) from None

    async def health(_: web.Request) -> web.Response:
        # Ready once it joined the cluster (schema in place, own row written);
        # afterwards it answers as long as the process runs, database or not.
        if not cluster.snapshot()["registered"]:
            raise Problem(503, "NotReady", "not yet registered in the cluster table")
        return web.json_response({"status": "ok", "member_id": opts.member_id})

    async def status(_: web.Request) -> web.Response:
        snap = cluster.snapshot()
        return web.json_response(
            {
                "member_id": opts.member_id,
                "scheduler_id": sid,
                "role": cluster.role(),
                "cluster_mode": opts.cluster_mode,
                "backup": opts.backup,
                "precedence": opts.precedence,
                "distributed": opts.distributed,
                "running_tasks": engine.running,
                "started_steps": engine.started_steps,
                **snap,
            }
        )

    async def events(_: web.Request) -> web.Response:
        return web.json_response({"events": await call(lambda c: store.cluster_events(c, sid))})

    # -- jobs --------------------------------------------------------------

    async def get_jobs(_: web.Request) -> web.Response:
        return web.json_response({"jobs": await call(lambda c: store.list_jobs(c, sid))})

    async def put_job(request: web.Request) -> web.Response:
        name = _name(request.match_info["name"], "job name")
        body = _object(await read_json(request), {"command", "noop", "stopped"})
        command, noop = body.get("command"), body.get("noop")
        if (command is None) == (noop is None):
            raise Problem(400, "BadRequest", 'a job needs exactly one of "command" or "noop"')
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise Problem(400, "BadRequest", '"command" must be a non-empty string')
        if noop is not None and (
            isinstance(noop, bool) or not isinstance(noop, int | float) or noop < 0
        ):
            raise Problem(400, "BadRequest", '"noop" must be a number of seconds >= 0')
        stopped = _bool(body, "stopped", False)
        await call(lambda c: store.put_job(c, sid, name, command, noop, stopped))
        engine.wake()
        return web.json_response({"name": name}, status=201)

    async def job_command(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        cmd = request.match_info["cmd"]
        if cmd not in ("stop", "start"):
            raise Problem(404, "UnknownCommand", f"jobs know stop and start, not {cmd!r}")
        await call(lambda c: store.set_job_stopped(c, sid, name, cmd == "stop"))
        engine.wake()
        return web.json_response({"name": name, "state": "stopped" if cmd == "stop" else "active"})

    # -- job chains ----------------------------------------------------------

    async def get_chains(_: web.Request) -> web.Response:
        chains = await call(lambda c: store.list_job_chains(c, sid))
        return web.json_response({"job_chains": chains})

    async def put_chain(request: web.Request) -> web.Response:
        name = _name(request.match_info["name"], "job chain name")
        body = _object(await read_json(request), {"distributed", "nodes"})
        nodes = body.get("nodes")
        if not isinstance(nodes, list) or not nodes:
            raise Problem(400, "BadRequest", '"nodes" must be a non-empty list')
        clean = []
        seen = set()
        for n in nodes:
            n = _object(n, {"state", "job", "next_state", "error_state", "action"})
            state = _name(n.get("state"), "node state")
            if state in seen:
                raise Problem(400, "BadRequest", f"node state {state!r} appears twice")
            seen.add(state)
            action = n.get("action")
            if action not in store.NODE_ACTIONS:
                raise Problem(
                    400, "BadRequest", f"action must be stop, next_state or null, not {action!r}"
                )
            node = {"state": state, "job": _name(n.get("job"), "node job"), "action": action}
            for key in ("next_state", "error_state"):
                if key in n:
                    node[key] = None if n[key] is None else _name(n[key], key)
            clean.append(node)
        distributed = _bool(body, "distributed", False)
        await call(lambda c: store.put_job_chain(c, sid, name, distributed, clean))
        engine.wake()
        return web.json_response({"name": name}, status=201)

    async def chain_command(request: web.Request) -> web.Response:
        name, cmd = request.match_info["name"], request.match_info["cmd"]
        if cmd not in ("stop", "start"):
            raise Problem(404, "UnknownCommand", f"job chains know stop and start, not {cmd!r}")
        await call(lambda c: store.set_chain_stopped(c, sid, name, cmd == "stop"))
        engine.wake()
        return web.json_response({"name": name, "state": "stopped" if cmd == "stop" else "active"})

    async def node_command(request: web.Request) -> web.Response:
        name, state, cmd = (request.match_info[k] for k in ("name", "state", "cmd"))
        actions = {"stop": "stop", "skip": "next_state", "activate": None}
        if cmd not in actions:
            raise Problem(404, "UnknownCommand", f"nodes know {sorted(actions)}, not {cmd!r}")
        await call(lambda c: store.set_node_action(c, sid, name, state, actions[cmd]))
        engine.wake()
        return web.json_response({"job_chain": name, "state": state, "command": cmd})

    # -- orders -------------------------------------------------------------

    async def get_orders(request: web.Request) -> web.Response:
        chain = request.query.get("job_chain")
        return web.json_response({"orders": await call(lambda c: store.list_orders(c, sid, chain))})

    async def add_order(request: web.Request) -> web.Response:
        body = _object(
            await read_json(request), {"job_chain", "id", "run_time", "state", "suspended"}
        )
        chain = _name(body.get("job_chain"), "job_chain")
        oid = _name(body.get("id"), "order id")
        state = body.get("state")
        if state is not None:
            _name(state, "state")
        suspended = _bool(body, "suspended", False)
        order = await call(
            lambda c: store.add_order(
                c, sid, chain, oid, body.get("run_time"), state, suspended, opts.member_id
            )
        )
        engine.wake()
        return web.json_response(order, status=201)

    async def get_order(request: web.Request) -> web.Response:
        chain, oid = request.match_info["chain"], request.match_info["id"]
        return web.json_response(await call(lambda c: store.get_order(c, sid, chain, oid)))

    async def order_command(request: web.Request) -> web.Response:
        chain, oid, cmd = (request.match_info[k] for k in ("chain", "id", "cmd"))
        if cmd not in ("suspend", "resume"):
            raise Problem(404, "UnknownCommand", f"orders know suspend and resume, not {cmd!r}")
        await call(lambda c: store.set_order_suspended(c, sid, chain, oid, cmd == "suspend"))
        engine.wake()
        return web.json_response(await call(lambda c: store.get_order(c, sid, chain, oid)))

    async def get_tasks(request: web.Request) -> web.Response:
        q = request.query
        try:
            after = int(q.get("after", "0"))
        except ValueError:
            raise Problem(400, "BadRequest", f"after must be a task id: {q['after']!r}") from None
        rows = await call(
            lambda c: store.tasks(c, sid, q.get("job_chain"), q.get("order_id"), after)
        )
        return web.json_response({"tasks": rows})

    async def on_cleanup(_: web.Application) -> None:
        executor.shutdown(wait=False, cancel_futures=True)

    app = web.Application(middlewares=[problem_middleware])
    app.on_cleanup.append(on_cleanup)
    r = app.router
    r.add_get("/health", health)
    r.add_get("/status", status)
    r.add_get("/cluster/events", events)
    r.add_get("/jobs", get_jobs)
    r.add_put("/jobs/{name}", put_job)
    r.add_post("/jobs/{name}/{cmd}", job_command)
    r.add_get("/job_chains", get_chains)
    r.add_put("/job_chains/{name}", put_chain)
    r.add_post("/job_chains/{name}/{cmd}", chain_command)
    r.add_post("/job_chains/{name}/nodes/{state}/{cmd}", node_command)
    r.add_get("/orders", get_orders)
    r.add_post("/orders", add_order)
    r.add_get("/orders/{chain}/{id}", get_order)
    r.add_post("/orders/{chain}/{id}/{cmd}", order_command)
    r.add_get("/tasks", get_tasks)
    return app
