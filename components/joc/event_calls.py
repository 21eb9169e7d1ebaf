"""JOC's ``events`` call: the long poll of ``events.EventSnapshots``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from components.common.web import Problem
from components.joc.calls import Body, Calls, Session
from components.joc.timestamps import delivery


class EventCalls(Calls):
    async def events(self, _: web.Request, body: Body, __: Session | None) -> web.Response:
        """JOC's ``events``: ``{controllerId, eventId}`` → ``{controllerId,
        eventId, eventSnapshots?, deliveryDate, surveyDate}``."""
        cid = body.get("controllerId")
        if not isinstance(cid, str) or not cid:
            raise Problem(400, "InvalidField", "'controllerId' is required")
        raw = body.get("eventId")
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or raw < 0):
            raise Problem(400, "InvalidField", "'eventId' must be a non-negative integer")
        event_id, snapshots = await self.joc.events.poll(raw, self.cfg.events_response_period)
        answer: dict[str, Any] = {"controllerId": cid, "eventId": event_id}
        if snapshots is not None:
            answer["eventSnapshots"] = snapshots
        now = delivery()
        return web.json_response({**answer, "deliveryDate": now, "surveyDate": now})
