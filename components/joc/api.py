"""The JOC REST API under ``/joc/api`` (JS7-FACTS 5): ``POST`` + JSON, the
session in header ``X-Access-Token``; field names as in the public JS7 API
schemas (``sos-berlin/js7-api-schemas``), js7ha extensions marked as such.

What must hold: no request without a valid session gets past the door (401),
none without the permission its route needs (403), bad input is a 400 problem
naming the field — never a traceback; a standby serves every operation but the
live feed and running logs, which it refuses with the problem ``JocStandby``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from components.common.auth import User
from components.common.client import NodeClient, ProblemError
from components.common.web import Problem, read_json
from components.joc import inventory, openapi, order_log
from components.joc.answers import (
    ORDER_HSTATE,
    order_v,
)
from components.joc.app import Joc
from components.joc.calls import (
    PREFIX,
    TOKEN_HEADER,
    Body,
    Calls,
    Route,
    Session,
    standby_problem,
)
from components.joc.cluster_calls import ClusterCalls
from components.joc.controllers import NoActiveController, is_stale_active
from components.joc.db import Conn, DatabaseUnavailable
from components.joc.errors import joc_error_middleware
from components.joc.event_calls import EventCalls
from components.joc.fields import (
    SELECTORS,
    field_int,
    field_list,
    field_str,
    parse_date,
    parse_scheduled_for,
)
from components.joc.inventory import split_path
from components.joc.service_calls import ServiceCalls
from components.joc.timestamps import delivery, iso
from components.joc.views import audit
from components.joc.views.page import HistoryPage
from components.joc.views.routes import HistoryViews
from components.joc.views.routes import routes as history_routes
from components.wire.items import silly_signed_workflows


class Api(Calls):
    def __init__(self, joc: Joc) -> None:
        super().__init__(joc)
        self.sessions: dict[str, Session] = {}
        self._order_seq = 0
        self.cluster_calls = ClusterCalls(joc)
        self.service_calls = ServiceCalls(joc)
        self.event_calls = EventCalls(joc)
        self.routes = [
            Route("authentication/login", None, self.login, "Log in (Basic auth)"),
            Route("authentication/logout", "", self.logout, "Log out"),
            Route(
                "orders/add",
                "orders",
                self.orders_add,
                "Add orders",
                ("controllerId", "orders", "auditLog"),
            ),
            Route(
                "orders",
                "view",
                self.orders,
                "Current state of orders (from the Controller)",
                ("controllerId", "orderIds"),
            ),
            Route(
                "order/log",
                "view",
                self.order_log,
                "The log of an order",
                ("controllerId", "historyId"),
            ),
            Route(
                "controller",
                "view",
                self.cluster_calls.controller,
                "One Controller node's status (controller/jobscheduler200_v-schema.json)",
                ("controllerId", "url"),
            ),
            Route(
                "joc/version",
                "view",
                self.cluster_calls.version,
                "JOC's version (joc/version-schema.json: version, gitHash, date)",
            ),
            Route(
                "orders/overview/summary",
                "view",
                self.orders_summary,
                "Successful and failed orders in a period (order/summary-schema.json)",
                ("controllerId", "dateFrom", "dateTo", "timeZone"),
            ),
            Route(
                "task/log",
                "view",
                self.task_log,
                "One task's (job step's) log, text/plain (job/taskFilter-schema.json)",
                ("controllerId", "taskId"),
            ),
            Route(
                "controller/components",
                "view",
                self.cluster_calls.components,
                "JOC instances, Controller nodes, database and cluster state",
                ("controllerId",),
            ),
            Route(
                "controller/cluster/switchover",
                "cluster",
                self.controller_switchover,
                "Controller cluster switch-over (active JOC only; Controller only when Coupled)",
                ("controllerId",),
            ),
            Route(
                "controller/cluster/confirm_node_loss",
                "cluster",
                self.confirm_node_loss,
                "Confirm that a Controller cluster node the Cluster Watch (the active JOC"
                " instance) could not judge is really lost",
                ("controllerId", "auditLog"),
            ),
            Route(
                "joc/cluster/switch_member",
                "cluster",
                self.cluster_calls.switch_member,
                "Make another JOC instance the active one",
                ("memberId",),
            ),
            Route(
                "joc/cluster/activity",
                "view",
                self.cluster_calls.activity,
                "js7ha: the services' own activity intervals with their epoch",
            ),
            Route(
                "inventory/store",
                "deploy",
                self.inventory_store,
                "Store a draft: WORKFLOW, SCHEDULE, WORKINGDAYSCALENDAR or FOLDER"
                " (inventory/configurationObject-schema.json)",
                ("path", "objectType", "configuration", "valid", "auditLog"),
            ),
            Route(
                "inventory/release",
                "deploy",
                self.inventory_release,
                "Release (update) or recall (delete) schedules and calendars"
                " (inventory/release/release-schema.json)",
                ("update", "delete", "auditLog"),
            ),
            Route(
                "inventory/deployment/deploy",
                "deploy",
                self.deploy,
                "Deploy stored workflows to the Controller (publish/deploy-schema.json:"
                " controllerIds, store.draftConfigurations/deployConfigurations); js7ha:"
                " workflows (plain JSON)",
                ("controllerIds", "store", "delete", "auditLog", "controllerId", "workflows"),
            ),
            Route(
                "joc/cluster/run",
                "cleanup",
                self.service_calls.cluster_run,
                "Run a JOC service now: cleanup or dailyplan (active JOC only)",
                ("type", "auditLog"),
            ),
            Route(
                "settings",
                "view",
                self.service_calls.read_settings,
                "The cluster's global settings (configuration/configuration200-schema.json,"
                " configurationType GLOBALS)",
            ),
            Route(
                "settings/store",
                "settings",
                self.service_calls.store_settings,
                "Replace the global settings (settings/storeSettings-schema.json)",
                ("configurationItem", "auditLog"),
            ),
            Route(
                "cleanup/run",
                "cleanup",
                self.service_calls.cleanup_run,
                "js7ha: run the Cleanup now and answer with its cut-offs (active JOC only;"
                " JOC's joc/cluster/run answers only that the run started)",
            ),
            Route(
                "daily_plan/orders/generate",
                "dailyplan",
                self.service_calls.dailyplan_generate,
                "Plan the released schedules' orders of days (dailyplan/generate/"
                "generate-request-schema.json); js7ha: inline schedules",
                (
                    "controllerId",
                    "dailyPlanDates",
                    "dailyPlanDate",
                    "schedulePaths",
                    "workflowPaths",
                    "overwrite",
                    "withSubmit",
                    "includeNonAutoPlannedOrders",
                    "auditLog",
                    "schedules",
                ),
            ),
            Route(
                "daily_plan/orders/submit",
                "dailyplan",
                self.service_calls.dailyplan_submit,
                "Submit planned orders (orderManagement/modify/dailyPlanSubmitOrders-schema.json)",
                (*SELECTORS, "auditLog"),
            ),
            Route(
                "daily_plan/orders",
                "view",
                self.service_calls.dailyplan_orders,
                "Planned orders (orderManagement/dailyplan/dailyPlanOrdersFilter-schema.json"
                " → plannedOrders-schema.json)",
                (*SELECTORS, "states", "late"),
            ),
            Route(
                "events",
                "view",
                self.event_calls.events,
                "JOC's event long poll for its views: History's HistoryOrderStarted/"
                "HistoryOrderTerminated snapshots, from the active instance only"
                " (event/controllerFilter-schema.json → event/event-schema.json)",
                ("controllerId", "eventId"),
            ),
            Route(
                "events/history",
                "view",
                self.history_feed,
                "Live feed of new history items, server-sent events (active JOC only)",
                method="GET",
            ),
            *(Route(*r) for r in history_routes(HistoryViews(joc.db, self.cfg.controller_id))),
        ]

    # -- app -----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[joc_error_middleware], client_max_size=16 * 1024**2)
        app.router.add_get("/health", self.health)
        app.router.add_get("/joc/history", HistoryPage(self.joc).render)
        app.router.add_get(f"{PREFIX}/openapi.json", self.openapi)
        for r in self.routes:
            app.router.add_route(r.method, f"{PREFIX}/{r.path}", self._wrap(r))
        return app

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            session = None
            if route.permission is not None:
                session = self._session(request)
                if route.permission and route.permission not in session.permissions:
                    raise Problem(
                        403,
                        "Forbidden",
                        f"account '{session.account}' lacks the permission "
                        f"'{route.permission}' for {route.path}",
                    )
            body: Body = {}
            if route.method == "POST" and route.permission is not None:
                raw = await read_json(request) if request.can_read_body else {}
                if not isinstance(raw, dict):
                    raise Problem(400, "InvalidJson", "the request body must be a JSON object")
                body = raw
                cid = body.get("controllerId")
                if cid is not None and cid != self.cfg.controller_id:
                    raise Problem(400, "UnknownController", f"unknown controllerId {cid!r}")
                ids = field_list(body, "controllerIds")
                if ids is not None and set(ids) - {self.cfg.controller_id}:
                    raise Problem(400, "UnknownController", f"unknown controllerIds {ids!r}")
            try:
                resp = await route.handler(request, body, session)
            except DatabaseUnavailable as exc:
                raise Problem(503, "DatabaseUnavailable", f"the JOC database: {exc}") from None
            if session is not None and audit.audits(route.permission) and resp.status < 400:
                await audit.record(
                    self.joc.db, session.account, route.path, body, self.cfg.controller_id
                )
            return resp

        return handle

    def _session(self, request: web.Request) -> Session:
        token = request.headers.get(TOKEN_HEADER) or request.query.get("accessToken")
        if not token:
            raise Problem(401, "Unauthenticated", f"header {TOKEN_HEADER} is missing")
        s = self.sessions.get(token)
        if s is None or s.expires < time.monotonic():
            self.sessions.pop(token, None)
            raise Problem(401, "Unauthenticated", "the access token is unknown or expired")
        s.expires = time.monotonic() + self.cfg.session_timeout
        return s

    async def health(self, _: web.Request) -> web.Response:
        if not self.joc.schema_ready:
            raise Problem(503, "Starting", "waiting for the database")
        history = self.joc.history
        return web.json_response(
            {
                # degraded: up, but History kept events it could not store.
                "status": "degraded" if history.problem else "ok",
                "problem": history.problem,
                "memberId": self.cfg.member_id,
                "active": self.joc.cluster.is_active(),
                "epoch": self.joc.cluster.active_epoch(),
                "database": self.joc.db.status(),
            }
        )

    async def openapi(self, _: web.Request) -> web.Response:
        return web.json_response(openapi.document(self.routes))

    # -- authentication --------------------------------------------------------

    async def login(self, request: web.Request, _: Body, __: Session | None) -> web.Response:
        auth = request.headers.get("Authorization", "")
        scheme, _sep, value = auth.partition(" ")
        if scheme.lower() != "basic" or not value:
            raise Problem(401, "Unauthenticated", "Basic authentication is required")
        try:
            user, _s, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Problem(401, "Unauthenticated", "malformed Basic credentials") from None
        account = self.cfg.accounts.get(user)
        if account is None or not User(user, account.password).check(password):
            raise Problem(401, "Unauthenticated", "wrong account or password")
        token = secrets.token_urlsafe(24)
        self.sessions[token] = Session(
            user, account.permissions, time.monotonic() + self.cfg.session_timeout
        )
        return web.json_response(
            {
                "accessToken": token,
                "account": user,
                "sessionTimeout": int(self.cfg.session_timeout * 1000),
                "isAuthenticated": True,
                "permissions": sorted(account.permissions),
                "memberId": self.cfg.member_id,
            }
        )

    async def logout(self, request: web.Request, _: Body, __: Session | None) -> web.Response:
        token = request.headers.get(TOKEN_HEADER, "")
        self.sessions.pop(token, None)
        return web.json_response({"isAuthenticated": False, "deliveryDate": delivery()})

    # -- Controller forwarding -------------------------------------------------

    async def _controller(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """``fn`` on the active Controller node. A node that answers it is no
        longer active (503 ``ClusterNodeIsNotActive``) or that refuses the
        connection was replaced or is down: ask every node again and try once
        more — ``fn`` was not acted on. A connection lost later is a 503: the
        outcome is unknown, so it is not repeated."""
        locator = self.joc.controllers
        for attempt in (1, 2):
            try:
                _, ctl = await locator.active()
                return await fn(ctl)
            except ProblemError as exc:
                if is_stale_active(exc) and attempt == 1:
                    locator.forget()
                    continue
                raise Problem(exc.status, exc.code, exc.message) from None
            except NoActiveController as exc:
                raise Problem(503, "ControllerUnreachable", str(exc)) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                locator.forget()
                if isinstance(exc, aiohttp.ClientConnectorError) and attempt == 1:
                    continue  # never reached the node: nothing was done
                why = f"{type(exc).__name__}: {exc}"
                raise Problem(503, "ControllerUnreachable", why) from None
        raise AssertionError("unreachable")

    async def orders_add(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            raise Problem(400, "InvalidField", "'orders' must be a non-empty list")
        commands = []
        ids = []
        today = dt.datetime.now(dt.UTC).date().isoformat()
        for i, o in enumerate(orders):
            if not isinstance(o, dict):
                raise Problem(400, "InvalidField", f"orders[{i}] must be an object")
            path = field_str(o, "workflowPath")
            name = field_str(o, "orderName", required=False) or "order"
            oid = field_str(o, "orderId", required=False)  # js7ha extension
            if oid is None:
                self._order_seq += 1
                oid = f"#{today}#T{int(time.time() * 1000)}{self._order_seq:04d}-{name}"
            tz = o.get("timeZone", "Etc/UTC")
            if not isinstance(tz, str):
                raise Problem(400, "InvalidField", f"orders[{i}].timeZone must be a string")
            args = o.get("arguments", {})
            if not isinstance(args, dict):
                raise Problem(400, "InvalidField", f"orders[{i}].arguments must be an object")
            fresh: Body = {"id": oid, "workflowPath": path}
            if args:
                fresh["arguments"] = args
            when = parse_scheduled_for(o.get("scheduledFor"), tz)
            if when is not None:
                fresh["scheduledFor"] = when
            commands.append({"TYPE": "AddOrder", "order": fresh})
            ids.append(oid)
        answer = await self._controller(
            lambda ctl: ctl.command({"TYPE": "Batch", "commands": commands})
        )
        responses = answer.get("responses", []) if isinstance(answer, dict) else []
        problems = [
            {"orderId": oid, **r}
            for oid, r in zip(ids, responses, strict=False)
            if isinstance(r, dict) and r.get("TYPE") == "Problem"
        ]
        added = [oid for oid in ids if oid not in {p["orderId"] for p in problems}]
        if problems and not added:
            p = problems[0]
            raise Problem(400, str(p.get("code")), str(p.get("message")), orderId=p["orderId"])
        out: Body = {"deliveryDate": delivery(), "orderIds": added}
        if problems:
            out["problems"] = problems
        return web.json_response(out)

    async def orders(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        ids = field_list(body, "orderIds")
        if ids is None:
            raise Problem(400, "InvalidField", "'orderIds' must be a list of strings")

        wanted = set(ids)

        async def get(ctl: NodeClient) -> list[Any]:
            # JS7's public snapshot, read once: what a client of a real
            # Controller reads (a request per id would make a long list a
            # denial of service).
            return [
                order_v(o)
                for o in await ctl.get_ndjson("/snapshot/")
                if o.get("TYPE") == "Order" and o.get("id") in wanted
            ]

        orders = await self._controller(get)
        return web.json_response({"deliveryDate": delivery(), "orders": orders})

    async def controller_switchover(
        self, _: web.Request, body: Body, __: Session | None
    ) -> web.Response:
        if not self.joc.cluster.is_active():
            raise standby_problem("controller/cluster/switchover")
        await self._controller(lambda ctl: ctl.command({"TYPE": "ClusterSwitchOver"}))
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    async def confirm_node_loss(
        self, _: web.Request, __: Body, session: Session | None
    ) -> web.Response:
        if not self.joc.cluster.is_active():
            raise standby_problem("controller/cluster/confirm_node_loss")
        await self.joc.cluster_watch.confirm_node_loss(session.account if session else None)
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    async def _post_workflows(self, version: str, workflows: list[Body]) -> None:
        """One JS7 item request: AddVersion, then each workflow signed (the
        reference JOC signs with JS7's Silly test signature)."""
        ops = silly_signed_workflows(version, workflows)

        async def post(ctl: NodeClient) -> Any:
            return await ctl.post_items(ops)

        await self._controller(post)

    async def deploy(self, _: web.Request, body: Body, session: Session | None) -> web.Response:
        if "workflows" in body:
            return await self._deploy_plain(body)
        return await self._deploy_stored(body, session.account if session else None)

    async def _deploy_plain(self, body: Body) -> web.Response:
        """js7ha: workflows as plain Controller JSON, one version per versionId."""
        workflows = field_list(body, "workflows", dict)
        if not workflows:
            raise Problem(400, "InvalidField", "'workflows' must be a non-empty list of objects")
        by_version: dict[str, list[Body]] = {}
        for w in workflows:
            by_version.setdefault(str(w.get("versionId", "1")), []).append(w)
        for version, group in by_version.items():
            await self._post_workflows(version, group)
        return web.json_response({"deliveryDate": delivery()})

    async def _deploy_stored(self, body: Body, account: str | None) -> web.Response:
        """JOC's deployment (publish/deploy-schema.json): the drafts
        (``store.draftConfigurations``) or the last deployed versions
        (``store.deployConfigurations``) of workflows, or of a folder's
        workflows, to the Controller, and the removal of deployed ones
        (``delete.deployConfigurations``), as one new version (the commit id:
        AddVersion, the signed workflows, a RemoveVersioned for each removal)."""
        if field_list(body, "controllerIds") is None:
            raise Problem(400, "InvalidField", "'controllerIds' must be a list of strings")
        requests = _configurations(body, "store", ("draftConfigurations", "deployConfigurations"))
        removals = _configurations(body, "delete", ("deployConfigurations",))
        if not requests and not removals:
            raise Problem(
                400,
                "InvalidField",
                "'store' needs draftConfigurations or deployConfigurations,"
                " or 'delete' deployConfigurations",
            )
        cid = self.cfg.controller_id

        async def read(conn: Conn) -> tuple[list[Body], list[Body]]:
            found: dict[str, Body] = {}
            for key, conf in requests:
                path, folder = split_path(conf["path"])[0], conf["objectType"] == "FOLDER"
                if key == "draftConfigurations":
                    rows = await inventory.drafts(
                        conn,
                        ("WORKFLOW",),
                        path,
                        folder=folder,
                        recursive=bool(conf.get("recursive")),
                    )
                else:
                    rows = await inventory.last_deployed(conn, cid, path, folder=folder)
                if not rows and not folder:
                    what = "draft" if key == "draftConfigurations" else "deployed workflow"
                    raise Problem(404, "UnknownConfiguration", f"no {what} {path}")
                for r in rows:
                    if not r["valid"]:
                        raise Problem(
                            400, "InvalidConfiguration", f"{r['path']} is not valid: not deployed"
                        )
                    found[r["path"]] = r
            gone: dict[str, Body] = {}
            for _, conf in removals:
                path, folder = split_path(conf["path"])[0], conf["objectType"] == "FOLDER"
                rows = await inventory.last_deployed(conn, cid, path, folder=folder)
                if not rows and not folder:
                    raise Problem(404, "UnknownConfiguration", f"no deployed workflow {path}")
                gone |= {r["path"]: r for r in rows}
            both = sorted(set(found) & set(gone))
            if both:
                raise Problem(
                    400, "InvalidField", f"deployed and deleted at once: {', '.join(both)}"
                )
            return list(found.values()), list(gone.values())

        items, gone = await self.joc.db.run(read)
        if items or gone:
            commit = str(uuid.uuid4())
            ops = silly_signed_workflows(
                commit,
                [inventory.controller_workflow(r["name"], commit, r["content"]) for r in items],
            )
            ops += [{"TYPE": "RemoveVersioned", "path": f"Workflow:{r['name']}"} for r in gone]

            async def post(ctl: NodeClient) -> Any:
                return await ctl.post_items(ops)

            await self._controller(post)

            async def record(conn: Conn) -> None:
                async with conn.transaction():
                    await inventory.record_deployment(conn, cid, commit, items, account)
                    await inventory.record_deployment(conn, cid, commit, gone, account, "DELETE")

            await self.joc.db.run(record)
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    # -- inventory ---------------------------------------------------------------

    async def inventory_store(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``inventory/store``: a draft; an invalid one is stored with
        ``valid: false`` and ``invalidMsg`` (as JOC does)."""
        kind = body.get("objectType")
        if kind not in inventory.STORABLE:
            raise Problem(
                400,
                "UnsupportedObjectType",
                f"'objectType' must be one of {', '.join(inventory.STORABLE)}, not {kind!r}",
            )
        path = split_path(body.get("path"))[0]
        conf = body.get("configuration", {} if kind == "FOLDER" else None)
        if not isinstance(conf, dict):
            raise Problem(400, "InvalidField", "'configuration' must be an object")

        async def write(conn: Conn) -> Body:
            return await inventory.store(conn, path, str(kind), conf)

        out = await self.joc.db.run(write)
        out["configurationDate"] = iso(out["configurationDate"])
        return web.json_response({**out, "deliveryDate": delivery()})

    async def inventory_release(
        self, _: web.Request, body: Body, __: Session | None
    ) -> web.Response:
        """JOC's ``inventory/release``: ``update`` releases drafts (a folder:
        every releasable draft in it, recursively), ``delete`` recalls."""
        parsed: dict[str, list[tuple[str, str]]] = {}
        for key in ("update", "delete"):
            parsed[key] = []
            for i, r in enumerate(field_list(body, key, dict) or []):
                kind = r.get("objectType")
                if kind not in (*inventory.RELEASABLE, "FOLDER"):
                    raise Problem(
                        400,
                        "UnsupportedObjectType",
                        f"{key}[{i}].objectType: the reference releases"
                        f" {', '.join(inventory.RELEASABLE)} and FOLDER, not {kind!r}",
                    )
                parsed[key].append((split_path(r.get("path"), f"{key}[{i}].path")[0], kind))
        if not parsed["update"] and not parsed["delete"]:
            raise Problem(400, "InvalidField", "'update' or 'delete' must name objects")

        async def write(conn: Conn) -> None:
            async with conn.transaction():
                todo: dict[int, Body] = {}
                for path, kind in parsed["update"]:
                    folder = kind == "FOLDER"
                    types = inventory.RELEASABLE if folder else (kind,)
                    rows = await inventory.drafts(conn, types, path, folder=folder, recursive=True)
                    if not rows and not folder:
                        raise Problem(404, "UnknownConfiguration", f"no {kind} {path}")
                    for r in rows:
                        if not r["valid"]:
                            raise Problem(400, "InvalidConfiguration", f"{r['path']} is not valid")
                        todo[r["id"]] = r
                await inventory.release(conn, list(todo.values()))
                for path, kind in parsed["delete"]:
                    for t in inventory.RELEASABLE if kind == "FOLDER" else (kind,):
                        await inventory.recall(conn, t, path, folder=kind == "FOLDER")

        await self.joc.db.run(write)
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    # -- history ------------------------------------------------------------------

    def _filters(self, body: Body, alias: str, time_col: str) -> tuple[str, list[Any], int]:
        where = [f"{alias}.CONTROLLER_ID = %s"]
        params: list[Any] = [self.cfg.controller_id]
        start, end = parse_date(body, "dateFrom"), parse_date(body, "dateTo")
        if start is not None:
            where.append(f"{alias}.{time_col} >= %s")
            params.append(start)
        if end is not None:
            where.append(f"{alias}.{time_col} < %s")
            params.append(end)
        ids = field_list(body, "orderIds")
        if ids is not None:
            where.append(f"{alias}.ORDER_ID = ANY(%s)")
            params.append(ids)
        states = field_list(body, "historyStates")
        if states is not None:
            bad = set(states) - {"SUCCESSFUL", "FAILED", "INCOMPLETE"}
            if bad:
                raise Problem(400, "InvalidField", f"unknown historyStates {sorted(bad)}")
            where.append(f"{alias}.HSTATE = ANY(%s)")
            params.append(states)
        limit = field_int(body, "limit", 10_000, 1)
        return " AND ".join(where), params, limit

    async def orders_summary(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``orders/overview/summary`` (order/summary-schema.json): the
        orders of the history in the period, successful and failed."""
        where, params, _limit = self._filters(body, "o", "START_TIME")
        sql = f"""SELECT o.HSTATE, count(*) FROM (SELECT *, {ORDER_HSTATE} AS HSTATE
                  FROM HISTORY_ORDERS) o WHERE {where} GROUP BY o.HSTATE"""

        async def read(conn: Conn) -> dict[str, int]:
            cur = await conn.execute(sql.encode(), params)
            return {str(r[0]): int(r[1]) for r in await cur.fetchall()}

        counts = await self.joc.db.run(read)
        return web.json_response(
            {
                "deliveryDate": delivery(),
                "surveyDate": delivery(),
                "orders": {
                    "successful": counts.get("SUCCESSFUL", 0),
                    "failed": counts.get("FAILED", 0),
                },
            }
        )

    async def order_log(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``order/log`` (``order_log.py``): a finished order's log on
        every instance, a running order's only on the active one."""
        hid = body.get("historyId")
        if isinstance(hid, bool) or not isinstance(hid, int):
            raise Problem(400, "InvalidField", "'historyId' must be an integer")
        found = await self.joc.db.run(lambda conn: order_log.read(conn, hid))
        if found is None:
            raise Problem(404, "UnknownHistoryId", f"no order history with historyId {hid}")
        answer = order_log.order_log(hid, *found)
        if not answer["complete"] and not self.joc.cluster.is_active():
            raise standby_problem("the running log of an unfinished order")
        return web.json_response(answer)

    async def task_log(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``task/log``: one job step's output, as text/plain (JOC
        answers it so; a finished task's log, or what was written so far)."""
        tid = body.get("taskId")
        if isinstance(tid, bool) or not isinstance(tid, int):
            raise Problem(400, "InvalidField", "'taskId' must be an integer")

        async def read(conn: Conn) -> tuple[Any, list[Any]]:
            cur = await conn.execute(
                "SELECT END_TIME FROM HISTORY_ORDER_STEPS WHERE ID = %s", (tid,)
            )
            step = await cur.fetchone()
            cur = await conn.execute(
                "SELECT CHUNK FROM HISTORY_LOGS WHERE STEP_ID = %s ORDER BY EVENT_ID", (tid,)
            )
            return step, list(await cur.fetchall())

        step, chunks = await self.joc.db.run(read)
        if step is None:
            raise Problem(404, "UnknownTaskId", f"no task with taskId {tid}")
        if step[0] is None and not self.joc.cluster.is_active():
            raise standby_problem("the running log of an unfinished task")
        return web.Response(text="".join(c[0] for c in chunks), content_type="text/plain")

    async def history_feed(
        self, request: web.Request, _: Body, __: Session | None
    ) -> web.StreamResponse:
        if not self.joc.cluster.is_active():
            raise standby_problem("the live history feed")
        q = self.joc.feed.subscribe()
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        try:
            await resp.write(b"retry: 1000\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(q.get(), 5.0)
                except TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    await resp.write(b"event: JocStandby\ndata: {}\n\n")
                    break
                data = json.dumps(item, separators=(",", ":"))
                await resp.write(f"event: {item['TYPE']}\ndata: {data}\n\n".encode())
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            self.joc.feed.unsubscribe(q)
        return resp


def _configurations(body: Body, section: str, keys: tuple[str, ...]) -> list[tuple[str, Body]]:
    """``(key, configuration)`` of every ``<section>.<key>[i].configuration``
    (a WORKFLOW or FOLDER with a valid path), or a 400 naming the field."""
    part = body.get(section)
    if part is None:
        return []
    if not isinstance(part, dict):
        raise Problem(400, "InvalidField", f"'{section}' must be an object")
    found: list[tuple[str, Body]] = []
    for key in keys:
        for i, c in enumerate(field_list(part, key, dict) or []):
            conf = c.get("configuration")
            where = f"{section}.{key}[{i}].configuration"
            if not isinstance(conf, dict):
                raise Problem(400, "InvalidField", f"'{where}' must be an object")
            kind = conf.get("objectType")
            if kind not in ("WORKFLOW", "FOLDER"):
                raise Problem(
                    400,
                    "UnsupportedObjectType",
                    f"{where}.objectType: the reference deploys WORKFLOW and FOLDER, not {kind!r}",
                )
            split_path(conf.get("path"), f"{where}.path")
            found.append((key, conf))
    return found
