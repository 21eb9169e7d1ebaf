"""JOC's error answers (js7-api-schemas, raml/api/resourceTypes/common/
error.raml): what a JOC client gets when a request fails.

* 401 — not (or no longer) authenticated: the ``security`` answer
  ``{"isAuthenticated": false, "isPermitted": false, "message"}``;
* 403 — authenticated, not permitted: ``{"isAuthenticated": true,
  "isPermitted": false, "message"}``;
* 420 — the operation failed, for every other cause (a bad field, a standby
  instance, an unreachable Controller or database): ``{"deliveryDate",
  "surveyDate", "error": {"code", "message"}}`` (``error420-schema.json``).

JOC's own codes are ``JOC-…`` numbers; the reference keeps its descriptive
codes (``InvalidField``, ``JocStandby``, ``DatabaseUnavailable``,
``ControllerUnreachable``, …) in the same place, so a client tells the causes
apart by ``error.code`` as with JOC.
"""

from __future__ import annotations

from aiohttp import web

from components.common.web import Problem, problem_middleware_with
from components.joc.timestamps import delivery


def joc_error_response(p: Problem) -> web.Response:
    if p.status == 401:
        body = {"isAuthenticated": False, "isPermitted": False, "message": p.message}
        return web.json_response(body, status=401)
    if p.status == 403:
        body = {"isAuthenticated": True, "isPermitted": False, "message": p.message}
        return web.json_response(body, status=403)
    now = delivery()
    error = {"code": p.code, "message": p.message}
    return web.json_response(
        {"deliveryDate": now, "surveyDate": now, "error": error, **p.extra}, status=420
    )


joc_error_middleware = problem_middleware_with(joc_error_response)
