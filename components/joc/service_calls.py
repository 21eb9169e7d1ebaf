"""JOC's service calls: the global settings (read, store), a Cleanup run, starting the
cluster's services (``joc/cluster/run``) and the Daily Plan (generate,
submit, list the planned orders)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from components.common.config import ConfigProblem
from components.common.web import Problem
from components.joc import settings
from components.joc.calls import Body, Calls, Session, standby_problem
from components.joc.cluster import Fenced
from components.joc.config import parse_schedule
from components.joc.controllers import NoActiveController
from components.joc.dailyplan import STATE_SEVERITY, Selection
from components.joc.fields import (
    field_bool,
    field_day,
    field_list,
    field_str,
    path_item,
    selection,
)
from components.joc.timestamps import delivery


class ServiceCalls(Calls):
    async def read_settings(self, _: web.Request, __: Body, ___: Session | None) -> web.Response:
        configuration = await self.joc.db.run(settings.read)
        return web.json_response({"deliveryDate": delivery(), "configuration": configuration})

    async def store_settings(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """Any instance stores (the document lives in the shared database);
        the Cleanup Service reads it before its next run."""
        text = settings.checked_document(body.get("configurationItem"))
        await self.joc.db.run(lambda c: settings.store(c, text))
        return web.json_response({"deliveryDate": delivery(), "ok": True})

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
