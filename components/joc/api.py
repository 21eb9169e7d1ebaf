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
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import psycopg
from aiohttp import web

from components.common.auth import User
from components.common.client import NodeClient, ProblemError
from components.common.config import ConfigProblem
from components.common.web import Problem, read_json
from components.joc import inventory, order_log
from components.joc.app import Joc
from components.joc.cluster import Fenced
from components.joc.config import parse_schedule
from components.joc.controllers import ControllerNode, NoActiveController, is_stale_active
from components.joc.dailyplan import STATE_SEVERITY, Selection
from components.joc.db import DatabaseUnavailable
from components.joc.errors import joc_error_middleware
from components.joc.inventory import split_path
from components.joc.timestamps import delivery, iso
from components.joc.views import audit
from components.joc.views.page import HistoryPage
from components.joc.views.routes import HistoryViews
from components.joc.views.routes import routes as history_routes
from components.joc.views.subviews import position_string
from components.wire import JS7_VERSION, RELEASE_DATE
from components.wire.items import silly_signed_workflows

PREFIX = "/joc/api"
TOKEN_HEADER = "X-Access-Token"
Body = dict[str, Any]
Conn = psycopg.AsyncConnection[Any]


def standby_problem(what: str) -> Problem:
    return Problem(
        409, "JocStandby", f"{what} is only available on the active JOC Cockpit instance"
    )


# -- request field helpers -------------------------------------------------


def node_state(active: bool | None) -> Body:
    """JOC's clusterNodeState (controller/clusterNodeState-schema.json);
    ``None``: unknown (the node did not answer)."""
    if active is None:
        return {"_text": "unknown", "severity": 3}
    return {"_text": "active", "severity": 0} if active else {"_text": "inactive", "severity": 1}


def component_state(operational: bool) -> Body:
    """JOC's componentState (controller/componentState-schema.json)."""
    if operational:
        return {"_text": "operational", "severity": 0}
    return {"_text": "unknown", "severity": 3}


# JOC's grouped order states and their severities (JOC's OrdersHelper
# .severityByGroupedStates, joc-cockpit 2.8).
ORDER_SEVERITY = {
    "PLANNED": 4,
    "PENDING": 10,
    "SCHEDULED": 1,
    "WAITING": 8,
    "FAILED": 2,
    "SUSPENDED": 5,
    "CANCELLED": 2,
    "BROKEN": 2,
    "RUNNING": 0,
    "INPROGRESS": 3,
    "FINISHED": 6,
    "BLOCKED": 7,
    "PROMPTING": 12,
    "UNKNOWN": 2,
}


def order_state_text(o: Body, now_ms: int) -> str:
    """A JS7 ``Order`` (the Controller's snapshot) as JOC groups its state."""
    state = str((o.get("state") or {}).get("TYPE"))
    if state in ("Finished", "Failed", "Cancelled"):
        return state.upper()
    if o.get("isSuspended"):
        return "SUSPENDED"
    if state == "Prompting":
        return "PROMPTING"
    if state != "Fresh":
        return "INPROGRESS"
    due = o.get("scheduledFor")
    return "SCHEDULED" if isinstance(due, int) and due > now_ms else "PENDING"


# An order's history state (JOC's historyState): from HISTORY_ORDERS.STATE.
ORDER_HSTATE = (
    "CASE WHEN STATE = 'FINISHED' THEN 'SUCCESSFUL' WHEN STATE IN ('FAILED','CANCELLED') "
    "THEN 'FAILED' ELSE 'INCOMPLETE' END"
)


def order_v(o: Body) -> Body:
    """A JS7 ``Order`` as JOC's ``orders`` answers it (order/order_v-schema.json)."""
    text = order_state_text(o, int(time.time() * 1000))
    workflow_position = o.get("workflowPosition") or {}
    position = workflow_position.get("position") or [0]
    out: Body = {
        "orderId": o["id"],
        "workflowId": dict(workflow_position.get("workflowId") or {}),
        "state": {"_text": text, "severity": ORDER_SEVERITY[text]},
        "position": position,
        "positionString": position_string(position),
    }
    if o.get("arguments"):
        out["arguments"] = o["arguments"]
    if o.get("scheduledFor") is not None:
        out["scheduledFor"] = o["scheduledFor"]
    return out


# JOC's daily plan filter (orderManagement/dailyplan/dailyPlanOrdersFilterBase-schema.json).
SELECTORS = (
    "dailyPlanDateFrom",
    "dailyPlanDateTo",
    "schedulePaths",
    "scheduleFolders",
    "workflowPaths",
    "workflowFolders",
    "orderIds",
    "controllerIds",
)


def field_bool(body: Body, key: str, default: bool) -> bool:
    v = body.get(key, default)
    if not isinstance(v, bool):
        raise Problem(400, "InvalidField", f"'{key}' must be a boolean")
    return v


def field_day(value: Any, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise Problem(400, "InvalidField", f"'{key}' must be a date YYYY-MM-DD") from None


def field_folders(value: Any, key: str) -> tuple[tuple[str, bool], ...] | None:
    """JOC's folders (common/folders-schema.json): ``[{folder, recursive}]``."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("folder"), str)
        and f["folder"].startswith("/")
        and isinstance(f.get("recursive", False), bool)
        for f in value
    ):
        raise Problem(400, "InvalidField", f"'{key}' must be a list of {{folder, recursive}}")
    return tuple((f["folder"], bool(f.get("recursive", False))) for f in value)


def path_item(body: Body, key: str) -> tuple[tuple[str, ...] | None, Any]:
    """JOC's path item (dailyplan/generate/items/path-item-schema.json):
    ``{singles, folders}``; answers (singles, folders)."""
    v = body.get(key)
    if v is None:
        return None, None
    if not isinstance(v, dict):
        raise Problem(400, "InvalidField", f"'{key}' must be an object {{singles, folders}}")
    singles = field_list(v, "singles")
    return (
        tuple(singles) if singles is not None else None,
        field_folders(v.get("folders"), f"{key}.folders"),
    )


def selection(body: Body) -> Selection:
    """The schedule and workflow selectors of JOC's daily plan filters."""
    schedules, workflows = field_list(body, "schedulePaths"), field_list(body, "workflowPaths")
    return Selection(
        schedules=tuple(schedules) if schedules is not None else None,
        schedule_folders=field_folders(body.get("scheduleFolders"), "scheduleFolders"),
        workflows=tuple(workflows) if workflows is not None else None,
        workflow_folders=field_folders(body.get("workflowFolders"), "workflowFolders"),
    )


def field_str(body: Body, key: str, required: bool = True) -> str | None:
    v = body.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        raise Problem(400, "InvalidField", f"'{key}' must be a non-empty string")
    return v


def field_int(body: Body, key: str, default: int, minimum: int = 0) -> int:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise Problem(400, "InvalidField", f"'{key}' must be an integer >= {minimum}")
    return v


def field_list(body: Body, key: str, item: type = str) -> list[Any] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, item) for x in v):
        raise Problem(400, "InvalidField", f"'{key}' must be a list of {item.__name__}")
    return v


_REL = re.compile(r"^([+-]?\d+)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_date(body: Body, key: str) -> dt.datetime | None:
    """ISO-8601 or JOC's relative form (``-2h``, ``-1d`` or ``1d``; ``+1d``;
    ``0d`` = today 00:00 UTC)."""
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise Problem(400, "InvalidField", f"'{key}' must be a date string")
    now = dt.datetime.now(dt.UTC)
    m = _REL.match(v.strip())
    if m:
        # As JOC reads them: a period without sign lies in the past ("1d" =
        # "-1d"), only "+N" in the future.
        n = int(m.group(1))
        if not m.group(1).startswith("+"):
            n = -abs(n)
        if m.group(2) in "dw":
            now = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            return now + dt.timedelta(seconds=n * _UNIT[m.group(2)])
        except OverflowError:  # beyond years 1..9999, which no history reaches
            raise Problem(
                400, "InvalidField", f"'{key}' {v!r} lies beyond the dates JOC can hold"
            ) from None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, "InvalidField", f"'{key}' is not an ISO-8601 date: {v!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def parse_scheduled_for(value: Any, tz: str) -> int | None:
    """``scheduledFor`` of ``orders/add``: ``now``, ``now + N`` (seconds), an
    ISO-8601 date (in ``timeZone``) or — js7ha extension — epoch milliseconds."""
    if value is None or value == "now":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        m = re.match(r"^now\s*\+\s*(\d+)$", value.strip())
        if m:
            return int((time.time() + int(m.group(1))) * 1000)
        try:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if t.tzinfo is None:
                from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

                try:
                    t = t.replace(tzinfo=ZoneInfo(tz))
                except (ZoneInfoNotFoundError, ValueError):
                    raise Problem(400, "InvalidField", f"unknown timeZone {tz!r}") from None
            return int(t.timestamp() * 1000)
    raise Problem(
        400, "InvalidField", f"scheduledFor {value!r}: use now, 'now + N', or an ISO date"
    )


# -- sessions --------------------------------------------------------------


@dataclass
class Session:
    account: str
    permissions: frozenset[str]
    expires: float


Handler = Callable[[web.Request, Body, Session | None], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    path: str
    permission: str | None  # None: no session needed
    handler: Handler
    summary: str
    fields: tuple[str, ...] = ()
    method: str = "POST"


class Api:
    def __init__(self, joc: Joc) -> None:
        self.joc = joc
        self.cfg = joc.cfg
        self.sessions: dict[str, Session] = {}
        self._order_seq = 0
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
                self.controller,
                "One Controller node's status (controller/jobscheduler200_v-schema.json)",
                ("controllerId", "url"),
            ),
            Route(
                "joc/version",
                "view",
                self.version,
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
                self.components,
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
                "joc/cluster/switch_member",
                "cluster",
                self.switch_member,
                "Make another JOC instance the active one",
                ("memberId",),
            ),
            Route(
                "joc/cluster/activity",
                "view",
                self.activity,
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
                self.cluster_run,
                "Run a JOC service now: cleanup or dailyplan (active JOC only)",
                ("type", "auditLog"),
            ),
            Route(
                "cleanup/settings",
                "view",
                self.cleanup_settings,
                "js7ha: Cleanup retention, window and last run",
            ),
            Route(
                "cleanup/run",
                "cleanup",
                self.cleanup_run,
                "js7ha: run the Cleanup now (active JOC only)",
            ),
            Route(
                "daily_plan/orders/generate",
                "dailyplan",
                self.dailyplan_generate,
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
                self.dailyplan_submit,
                "Submit planned orders (orderManagement/modify/dailyPlanSubmitOrders-schema.json)",
                (*SELECTORS, "auditLog"),
            ),
            Route(
                "daily_plan/orders",
                "view",
                self.dailyplan_orders,
                "Planned orders (orderManagement/dailyplan/dailyPlanOrdersFilter-schema.json"
                " → plannedOrders-schema.json)",
                (*SELECTORS, "states", "late"),
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
        paths: dict[str, Any] = {}
        for r in self.routes:
            op: dict[str, Any] = {
                "summary": r.summary,
                "responses": {
                    "200": {"description": "OK"},
                    "400": {"$ref": "#/components/responses/Problem"},
                    "401": {"$ref": "#/components/responses/Problem"},
                    "403": {"$ref": "#/components/responses/Problem"},
                },
            }
            if r.permission is None:
                op["security"] = [{"basic": []}]
            else:
                op["x-permission"] = r.permission or "any"
            if r.method == "POST" and r.fields:
                op["requestBody"] = {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {f: {} for f in r.fields}}
                        }
                    }
                }
            paths[f"{PREFIX}/{r.path}"] = {r.method.lower(): op}
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "js7ha reference JOC Cockpit API", "version": "1"},
            "paths": paths,
            "security": [{"accessToken": []}],
            "components": {
                "securitySchemes": {
                    "accessToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
                    "basic": {"type": "http", "scheme": "basic"},
                },
                "responses": {
                    "Problem": {
                        "description": "a problem",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["TYPE", "code", "message"],
                                    "properties": {
                                        "TYPE": {"enum": ["Problem"]},
                                        "code": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                }
                            }
                        },
                    }
                },
            },
        }
        return web.json_response(doc)

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
        workflows, to the Controller as one new version (the commit id)."""
        if field_list(body, "controllerIds") is None:
            raise Problem(400, "InvalidField", "'controllerIds' must be a list of strings")
        if body.get("delete") is not None:
            raise Problem(
                400, "UnsupportedOperation", "the reference does not remove deployed objects"
            )
        store = body.get("store")
        if not isinstance(store, dict):
            raise Problem(400, "InvalidField", "'store' must be an object")
        requests: list[tuple[str, Body]] = []
        for key in ("draftConfigurations", "deployConfigurations"):
            for i, c in enumerate(field_list(store, key, dict) or []):
                conf = c.get("configuration")
                where = f"store.{key}[{i}].configuration"
                if not isinstance(conf, dict):
                    raise Problem(400, "InvalidField", f"'{where}' must be an object")
                kind = conf.get("objectType")
                if kind not in ("WORKFLOW", "FOLDER"):
                    raise Problem(
                        400,
                        "UnsupportedObjectType",
                        f"{where}.objectType: the reference deploys WORKFLOW and FOLDER,"
                        f" not {kind!r}",
                    )
                split_path(conf.get("path"), f"{where}.path")
                requests.append((key, conf))
        if not requests:
            raise Problem(
                400, "InvalidField", "'store' needs draftConfigurations or deployConfigurations"
            )
        cid = self.cfg.controller_id

        async def read(conn: Conn) -> list[Body]:
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
            return list(found.values())

        items = await self.joc.db.run(read)
        if items:
            commit = str(uuid.uuid4())
            await self._post_workflows(
                commit,
                [inventory.controller_workflow(r["name"], commit, r["content"]) for r in items],
            )

            async def record(conn: Conn) -> None:
                async with conn.transaction():
                    await inventory.record_deployment(conn, cid, commit, items, account)

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

    # -- cluster ------------------------------------------------------------------

    async def components(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        c = self.joc.cluster
        exceeded = c.exceeded

        async def read(conn: Conn) -> tuple[list[Any], Any]:
            cur = await conn.execute(
                """SELECT i.MEMBER_ID, i.URI, i.ORDERING, i.HEART_BEAT, i.STOPPED,
                          now() - i.HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_INSTANCES i ORDER BY i.ORDERING, i.MEMBER_ID""",
                (exceeded,),
            )
            instances = list(await cur.fetchall())
            cur = await conn.execute(
                """SELECT MEMBER_ID, EPOCH, now() - HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_CLUSTER WHERE ID = 'cluster'""",
                (exceeded,),
            )
            return instances, await cur.fetchone()

        me = self.cfg.member_id
        jocs: list[dict[str, Any]] = []
        try:
            instances, cluster = await self.joc.db.run(read)
        except DatabaseUnavailable:
            instances, cluster = [], None
        seen_me = False
        for member, uri, ordering, hb, stopped, fresh in instances:
            current = member == me
            seen_me = seen_me or current
            if current:
                active = c.is_active()
            else:
                active = bool(cluster and cluster[0] == member and cluster[2])
            jocs.append(
                {
                    "memberId": member,
                    "url": uri,
                    "ordering": ordering,
                    "current": current,
                    "lastHeartbeat": iso(hb),
                    "clusterNodeState": node_state(active),
                    "componentState": component_state(fresh and not stopped),
                }
            )
        if not seen_me:
            jocs.append(
                {
                    "memberId": me,
                    "url": self.joc.uri,
                    "current": True,
                    "clusterNodeState": node_state(c.is_active()),
                    "componentState": component_state(True),
                }
            )
        states = await self.joc.controllers.probe_all()
        controllers = []
        cluster_state = None
        for node in self.cfg.controllers:
            st = states.get(node.name, {})
            if st.get("isActive"):
                cluster_state = st.get("TYPE")
            controllers.append(
                {
                    **self._controller_info(node, st, states),
                    "nodeName": node.name,  # js7ha extension
                    "isActive": bool(st.get("isActive")),  # js7ha extension
                }
            )
        return web.json_response(
            {
                "deliveryDate": delivery(),
                "jocs": jocs,
                "controllers": controllers,
                "database": self.joc.db.status(),
                "clusterState": {"_text": cluster_state or "unknown"},
                "historyService": self.joc.history.status(),  # js7ha extension
                "epoch": c.active_epoch(),  # js7ha extension
            }
        )

    def _controller_info(
        self, node: ControllerNode, st: dict[str, Any], states: dict[str, dict[str, Any]]
    ) -> Body:
        """One Controller node as JOC describes it (controller/master-schema.json)."""
        nodes = list(self.cfg.controllers)
        role = "STANDALONE" if len(nodes) == 1 else ("PRIMARY" if node == nodes[0] else "BACKUP")
        active = bool(st.get("isActive"))
        reachable = bool(st.get("reachable"))
        coupled = any(s.get("TYPE") == "Coupled" for s in states.values() if s.get("isActive"))
        info: Body = {
            "id": nodes.index(node) + 1,
            "surveyDate": delivery(),
            "controllerId": self.cfg.controller_id,
            "title": node.name,
            "url": node.uri,
            "role": role,
            "isCoupled": coupled,
            "componentState": component_state(reachable),
            "connectionState": {
                "_text": "established" if reachable else "unreachable",
                "severity": 0 if reachable else 2,
            },
            "clusterNodeState": node_state(active if reachable else None),
        }
        if len(nodes) > 1:
            info["clusterUrl"] = node.uri
        return info

    async def controller(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``controller``: one Controller node's status — the one at
        ``url``, else the active one (else the first)."""
        url = field_str(body, "url", required=False)
        states = await self.joc.controllers.probe_all()
        nodes = list(self.cfg.controllers)
        if url is not None:
            chosen = [n for n in nodes if n.uri.rstrip("/") == url.rstrip("/")]
            if not chosen:
                raise Problem(400, "UnknownController", f"no Controller node has the url {url}")
        else:
            chosen = [n for n in nodes if states.get(n.name, {}).get("isActive")] or nodes[:1]
        node = chosen[0]
        info = self._controller_info(node, states.get(node.name, {}), states)
        return web.json_response({"deliveryDate": delivery(), "controller": info})

    async def version(self, _: web.Request, __: Body, ___: Session | None) -> web.Response:
        """The JS7 release whose wire format the reference follows, tagged as
        the reference's own (``2.8.0-js7ha``)."""
        return web.json_response({"version": JS7_VERSION, "gitHash": "js7ha", "date": RELEASE_DATE})

    async def switch_member(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        target = field_str(body, "memberId")
        assert target is not None
        exceeded = self.joc.cluster.exceeded

        async def check(conn: Conn) -> tuple[Any, Any]:
            cur = await conn.execute(
                """SELECT NOT STOPPED AND now() - HEART_BEAT <= make_interval(secs => %s)
                   FROM JOC_INSTANCES WHERE MEMBER_ID = %s""",
                (exceeded, target),
            )
            inst = await cur.fetchone()
            cur = await conn.execute("SELECT MEMBER_ID FROM JOC_CLUSTER WHERE ID = 'cluster'")
            return inst, await cur.fetchone()

        inst, cluster = await self.joc.db.run(check)
        if inst is None:
            raise Problem(400, "UnknownMember", f"no JOC instance with memberId {target!r}")
        if not inst[0]:
            raise Problem(409, "MemberNotAlive", f"JOC instance {target} is not running")
        if cluster is not None and cluster[0] == target:
            raise Problem(409, "AlreadyActive", f"JOC instance {target} is already active")
        try:
            await self.joc.cluster.request_switch(target)
        except ValueError as exc:
            raise Problem(409, "AlreadyActive", str(exc)) from None
        return web.json_response({"state": "SWITCH_MEMBER", "deliveryDate": delivery()})

    async def activity(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        exceeded = self.joc.cluster.exceeded

        async def read(conn: Conn) -> tuple[list[Any], Any]:
            cur = await conn.execute(
                """SELECT MEMBER_ID, SERVICE, EPOCH, extract(epoch FROM ACTIVE_FROM),
                          extract(epoch FROM ACTIVE_UNTIL), ENDED
                   FROM JOC_SERVICE_ACTIVITY ORDER BY ACTIVE_FROM, ID"""
            )
            rows = list(await cur.fetchall())
            cur = await conn.execute("SELECT extract(epoch FROM now())")
            return rows, await cur.fetchone()

        rows, now = await self.joc.db.run(read)
        out = []
        for member, service, epoch, t0, t1, ended in rows:
            item = {
                "memberId": member,
                "service": service,
                "epoch": epoch,
                "activeFrom": float(t0),
                "activeUntil": float(t1),
                "ended": ended,
            }
            if service == "cluster" and not ended:
                # The holder may have believed in its lease until then (see cluster.py).
                item["leaseUntil"] = float(t1) + exceeded
            out.append(item)
        return web.json_response(
            {"deliveryDate": delivery(), "dbNow": float(now[0]), "activity": out}
        )

    # -- cleanup and daily plan ------------------------------------------------------

    async def cleanup_settings(self, _: web.Request, __: Body, ___: Session | None) -> web.Response:
        return web.json_response({"deliveryDate": delivery(), **self.joc.cleanup.settings()})

    async def _cleanup_once(self, path: str) -> dict[str, Any]:
        epoch = self.joc.cluster.active_epoch()
        if epoch is None:
            raise standby_problem(path)
        try:
            return await self.joc.cleanup.run_once(epoch)
        except Fenced:
            raise standby_problem(path) from None

    async def cleanup_run(self, _: web.Request, __: Body, ___: Session | None) -> web.Response:
        result = await self._cleanup_once("cleanup/run")
        return web.json_response({"deliveryDate": delivery(), **result})

    async def cluster_run(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``joc/cluster/run``: run a service now (cluster/
        joc-cluster-service-run-schema.json → joc-cluster-response-schema.json).
        The reference runs ``cleanup`` and ``dailyplan`` (today's plan from the
        configured schedules, submitted); on a standby it refuses."""
        kind = field_str(body, "type")
        if kind == "cleanup":
            await self._cleanup_once("joc/cluster/run")
        elif kind == "dailyplan":
            epoch = self.joc.cluster.active_epoch()
            if epoch is None:
                raise standby_problem("joc/cluster/run")
            today = dt.datetime.now(dt.UTC).date()
            plan = self.joc.daily_plan
            try:
                schedules = await plan.schedules_of(today, Selection(), auto_only=True)
                await plan.generate(today, schedules, epoch=epoch)
            except Fenced:
                raise standby_problem("joc/cluster/run") from None
            except NoActiveController as exc:
                raise Problem(503, "ControllerUnreachable", str(exc)) from None
        else:
            raise Problem(
                400, "InvalidField", f"'type' must be cleanup or dailyplan here, not {kind!r}"
            )
        return web.json_response({"deliveryDate": delivery(), "type": kind, "state": "COMPLETED"})

    async def dailyplan_generate(
        self, _: web.Request, body: Body, __: Session | None
    ) -> web.Response:
        """JOC's ``daily_plan/orders/generate``: plan the days' orders of the
        released schedules (and the configured ones) that the selectors
        select; js7ha: ``schedules`` plans inline schedules instead."""
        if "schedules" in body:
            return await self._generate_inline(body)
        if body.get("dailyPlanDates") is not None:
            raw = field_list(body, "dailyPlanDates")
            if not raw:
                raise Problem(400, "InvalidField", "'dailyPlanDates' must list at least one date")
            dates = sorted({field_day(d, "dailyPlanDates") for d in raw})
        elif body.get("dailyPlanDate") is not None:  # JOC: deprecated
            dates = [field_day(body["dailyPlanDate"], "dailyPlanDate")]
        else:
            raise Problem(400, "InvalidField", "'dailyPlanDates' is required")
        schedules, schedule_folders = path_item(body, "schedulePaths")
        workflows, workflow_folders = path_item(body, "workflowPaths")
        chosen = Selection(schedules, schedule_folders, workflows, workflow_folders)
        overwrite = field_bool(body, "overwrite", False)
        submit = field_bool(body, "withSubmit", False)
        auto_only = not field_bool(body, "includeNonAutoPlannedOrders", False)
        plan = self.joc.daily_plan
        try:
            for day in dates:
                found = await plan.schedules_of(day, chosen, auto_only=auto_only)
                await plan.generate(day, found, submit=submit, overwrite=overwrite)
        except NoActiveController as exc:
            raise Problem(503, "ControllerUnreachable", str(exc)) from None
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    async def _generate_inline(self, body: Body) -> web.Response:
        date = field_day(body.get("dailyPlanDate"), "dailyPlanDate")
        raw = body.get("schedules")
        if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
            raise Problem(400, "InvalidField", "'schedules' must be a list of objects")
        try:
            schedules = [parse_schedule(s, "request", f"schedules[{i}]") for i, s in enumerate(raw)]
        except ConfigProblem as p:
            raise Problem(400, "InvalidField", str(p).removeprefix("request: ")) from None
        submit = field_bool(body, "withSubmit", True)
        try:
            result = await self.joc.daily_plan.generate(date, schedules, submit=submit)
        except NoActiveController as exc:
            raise Problem(503, "ControllerUnreachable", str(exc)) from None
        return web.json_response({"deliveryDate": delivery(), **result})

    def _plan_range(self, body: Body, required: bool) -> tuple[dt.date | None, dt.date | None]:
        lo, hi = body.get("dailyPlanDateFrom"), body.get("dailyPlanDateTo")
        if lo is None and required:
            raise Problem(400, "InvalidField", "'dailyPlanDateFrom' is required")
        start = field_day(lo, "dailyPlanDateFrom") if lo is not None else None
        end = field_day(hi, "dailyPlanDateTo") if hi is not None else start
        if start is not None and end is not None and end < start:
            raise Problem(400, "InvalidField", "'dailyPlanDateTo' is before 'dailyPlanDateFrom'")
        return start, end

    async def dailyplan_submit(
        self, _: web.Request, body: Body, __: Session | None
    ) -> web.Response:
        """JOC's ``daily_plan/orders/submit``: the selected planned orders
        not submitted yet, to the Controller."""
        if body.get("submissionHistoryIds") is not None:
            raise Problem(
                400, "UnsupportedField", "the reference keeps no submission history to select by"
            )
        ids = field_list(body, "orderIds")
        start, end = self._plan_range(body, required=ids is None)
        chosen = selection(body)
        try:
            await self.joc.daily_plan.submit_planned(start, end, chosen, ids)
        except NoActiveController as exc:
            raise Problem(503, "ControllerUnreachable", str(exc)) from None
        return web.json_response({"deliveryDate": delivery(), "ok": True})

    async def dailyplan_orders(
        self, _: web.Request, body: Body, __: Session | None
    ) -> web.Response:
        """JOC's ``daily_plan/orders``: plannedOrderItems of the days."""
        start, end = self._plan_range(body, required=True)
        assert start is not None and end is not None
        states = field_list(body, "states")
        if states is not None and set(states) - set(STATE_SEVERITY):
            raise Problem(400, "InvalidField", f"'states' must be of {sorted(STATE_SEVERITY)}")
        items = await self.joc.daily_plan.list(
            start,
            end,
            selection(body),
            field_list(body, "orderIds"),
            states,
            field_bool(body, "late", False),
        )
        return web.json_response({"deliveryDate": delivery(), "plannedOrderItems": items})
