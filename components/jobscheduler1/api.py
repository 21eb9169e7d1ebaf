"""HTTP of one member: JobScheduler 1.x's XML command interface.

* ``POST /jobscheduler/engine/command`` with a command document (JobScheduler
  1.10 and later: ``JocCompatibleRoute.scala:35-38``, ``CommandRoute.scala:45-52``;
  the path ``SchedulerClientFactory.scala:20`` sends commands to). The same on
  the classic engine port, which executes the body of a POST to any path
  (``spooler_command.cxx:1988-1991``): ``POST /`` and
  ``POST /jobscheduler/engine-cpp/…`` (``CppHttpRoute.scala:105``).
* ``GET /<show_…/>`` — a read-only command in the path
  (``spooler_command.cxx:1765-1772``); any other command there is 403.
* The answer is ``text/xml; charset=UTF-8``, HTTP 200, also for an
  ``<ERROR>`` (``XmlString.scala:17-25``). A body over 8 MiB is HTTP 413,
  as the engine's web server (spray-can's default limit) answers it.
* ``GET /health`` — **reference-only**, not JobScheduler's: the harness's
  readiness probe. 200 once the member has joined the cluster table, then as
  long as the process runs (it never touches the database).
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from components.common.web import Problem
from components.jobscheduler1.cluster import Cluster
from components.jobscheduler1.engine import Engine
from components.jobscheduler1.options import Options
from components.jobscheduler1.xml_api import Commands, read_only
from components.jobscheduler1.xml_wire import MAX_BODY

XML = "text/xml"


def render_plain(p: Problem) -> web.Response:
    """A request the HTTP server cannot parse, answered in plain text as the
    engine's web server answers it."""
    return web.Response(status=p.status, text=p.message)


def build_app(opts: Options, cluster: Cluster, engine: Engine) -> web.Application:
    commands = Commands(opts, cluster, engine)

    async def health(_: web.Request) -> web.Response:
        # Reference-only (README): ready once it joined the cluster (schema in
        # place, own row written); afterwards it answers as long as it runs.
        if not cluster.snapshot()["registered"]:
            return web.json_response(
                {"TYPE": "Problem", "code": "NotReady", "message": "not yet registered"},
                status=503,
            )
        return web.json_response({"status": "ok", "member_id": opts.member_id})

    async def post(request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return _too_large(length)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _too_large(length)
        return web.Response(body=await commands.execute(body), content_type=XML, charset="utf-8")

    async def get(request: web.Request) -> web.Response:
        xml = unquote(request.raw_path.split("?", 1)[0])[1:]
        if not xml.startswith("<"):
            raise web.HTTPNotFound()
        if not read_only(xml):
            raise web.HTTPForbidden()
        answer = await commands.execute(xml.encode())
        return web.Response(
            body=answer,
            content_type=XML,
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def on_cleanup(_: web.Application) -> None:
        # Not the database connection: a call blocked on a cut link would
        # block the loop; the process ends right after.
        commands.close()

    app = web.Application(client_max_size=MAX_BODY)
    app.on_cleanup.append(on_cleanup)
    r = app.router
    r.add_get("/health", health)
    r.add_post("/jobscheduler/engine/command", post)
    r.add_post("/jobscheduler/engine/command/", post)
    r.add_post("/", post)
    r.add_post("/jobscheduler/engine-cpp{tail:.*}", post)
    r.add_get("/{command:<.*}", get)
    return app


def _too_large(length: int | None) -> web.Response:
    return web.Response(
        status=413,
        text=f"Request Content-Length {length} exceeds the configured limit of {MAX_BODY}",
    )
