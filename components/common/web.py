"""The HTTP base every reference component shares.

What must hold for every API: a malformed, unauthorised or failing request
gets an HTTP status and a JSON problem ``{"TYPE":"Problem","code":…,
"message":…}`` — never a traceback — and a component stops on SIGTERM by
running its shutdown hooks (a graceful stop), while SIGKILL is the crash.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestHandler

from components.common import limits

log = logging.getLogger("js7.web")


class Problem(Exception):
    """A request that cannot be served, with its JS7-style problem code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"TYPE": "Problem", "code": self.code, "message": self.message, **self.extra}


def problem_response(p: Problem) -> web.Response:
    return web.json_response(p.to_json(), status=p.status)


_STATUS_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


def problem_middleware_with(render: Callable[[Problem], web.Response]) -> Middleware:
    """A middleware answering every failure of a handler — a ``Problem``, an
    HTTP error, a bug — with ``render(problem)``: each API answers in its own
    product's shape (the Controller's problem JSON, JOC's error answers)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as p:
            return render(p)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _STATUS_CODES.get(exc.status, f"Http{exc.status}")
            return render(Problem(exc.status, code, exc.reason or code))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug, not bad input: log it with its traceback, answer a problem.
            log.exception("unhandled error in %s %s", request.method, request.path)
            return render(Problem(500, "InternalError", f"{type(exc).__name__}: {exc}"))

    return middleware


problem_middleware = problem_middleware_with(problem_response)


async def read_body(request: web.Request) -> bytes:
    """The request body, or a 400 problem when it cannot be read or is empty."""
    try:
        raw = await request.read()
    except Exception as exc:  # noqa: BLE001 - client went away or sent garbage
        raise Problem(400, "BadRequest", f"cannot read request body: {exc}") from None
    if not raw:
        raise Problem(400, "BadRequest", "request body is empty, JSON expected")
    return raw


async def read_json(request: web.Request) -> Any:
    """The request body as JSON within the edge's limits, or a 400 problem
    saying what is wrong with it."""
    raw = await read_body(request)
    try:
        return limits.parse(raw)
    except limits.LimitExceeded as exc:
        raise Problem(400, "InvalidJson", str(exc)) from None


def setup_logging(level: int = logging.INFO) -> None:
    """Log lines as JS7 writes them: ``2022-01-27T00:00:08,669 WARN logger - text``."""
    handler = logging.StreamHandler(sys.stderr)
    fmt = logging.Formatter(
        "%(asctime)s,%(msecs)03d %(levelname)s %(name)s - %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )
    handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.addLevelName(logging.WARNING, "WARN")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class _ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering what fails before any route is
    reached — a bad request line, a duplicate Content-Length, headers too
    large — in the API's own error shape instead of aiohttp's plain text."""

    render: Callable[[Problem], web.Response]

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own answer first: it logs, and refuses when a response
        # has already been sent on this connection.
        plain = super().handle_error(request, status, exc, message)
        code = _STATUS_CODES.get(status, f"Http{status}")
        text = message or (plain.text if isinstance(plain, web.Response) else None) or code
        resp = self.render(Problem(status, code, text.strip()))
        # The HTTP status stays the protocol's (a malformed request is a 400
        # whatever status the product answers its own errors with).
        resp.set_status(status)
        resp.force_close()
        return resp


class _ProblemServer(web.Server):
    render: Callable[[Problem], web.Response]

    def __call__(self) -> RequestHandler:
        handler = _ProblemRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.render = self.render
        return handler


class ProblemAppRunner(web.AppRunner):
    """An ``AppRunner`` whose connections answer low-level HTTP errors with
    ``render(problem)`` (see ``_ProblemRequestHandler``)."""

    def __init__(
        self, app: web.Application, render: Callable[[Problem], web.Response], **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self._render = render

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server inside the Application; there is no hook
        # for the connection handler's class, so the built server becomes one
        # that makes ours (it adds nothing but ``__call__``).
        server.__class__ = _ProblemServer
        assert isinstance(server, _ProblemServer)
        server.render = self._render
        return server


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    handle_signals: bool = True,
    render: Callable[[Problem], web.Response] = problem_response,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT (or cancellation, when the caller
    handles signals itself), then shut down gracefully (``on_shutdown`` /
    ``on_cleanup`` hooks run). Requests aiohttp cannot parse are answered
    with ``render(problem)``, the API's own error shape."""
    runner = ProblemAppRunner(app, render, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("listening on http://%s:%d", host, port)
    stop = asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("stopping on signal")
    finally:
        await runner.cleanup()
        log.info("stopped")
