"""The proxy API's answer to requests aiohttp refuses before any route runs
(a bad request line, contradictory framing, headers too large): Toxiproxy's
error JSON ``{"error": …, "status": …}`` with the protocol's status, instead
of aiohttp's plain text. The components have their own equivalent; the judge
shares no code with the judged."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

Render = Callable[[str, int], web.Response]


class _Handler(RequestHandler):
    render: Render

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs; refuses if sent
        text = message or (plain.text if isinstance(plain, web.Response) else None) or "error"
        resp = self.render(text.strip(), status)
        resp.force_close()
        return resp


class _Server(web.Server):
    render: Render

    def __call__(self) -> RequestHandler:
        handler = _Handler(self, loop=self._loop, **self._kwargs)
        handler.render = self.render
        return handler


class Runner(web.AppRunner):
    """An ``AppRunner`` whose connections answer low-level errors with ``render``."""

    def __init__(self, app: web.Application, render: Render, **kwargs: object) -> None:
        super().__init__(app, **kwargs)  # type: ignore[arg-type]
        self._render = render

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # No hook exists for the connection handler's class: the built server
        # becomes one that makes ours (it adds nothing but ``__call__``).
        server.__class__ = _Server
        assert isinstance(server, _Server)
        server.render = self._render
        return server
