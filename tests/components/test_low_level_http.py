"""Requests aiohttp refuses before any route runs (a bad request line,
duplicate or contradictory framing, headers too large) get the API's own
error body — the Controller's and Agent's problem JSON, JOC's error answer —
with the protocol's 400-family status, and the server keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from components.common.web import Problem, problem_response, serve
from components.joc.errors import joc_error_response

GARBAGE = {
    "bad request line": b"HELLO\r\n\r\n",
    "binary noise": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "duplicate Content-Length": (
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
    ),
    "Content-Length not a number": b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
    "header too large": b"GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "bad header name": b"GET /x HTTP/1.1\r\nHost: h\r\nBad Header: 1\r\n\r\n",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(render: Callable[[Problem], web.Response]) -> AsyncIterator[int]:
    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/x", ok)
    port = free_port()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, handle_signals=False, render=render))
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            await asyncio.sleep(0.01)
        yield port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, body


def is_problem(answer: dict[str, str]) -> bool:
    """The Controller's and Agent's problem JSON."""
    return answer["TYPE"] == "Problem" and bool(answer["code"] and answer["message"])


def is_joc_error(answer: dict[str, dict[str, str]]) -> bool:
    """JOC's error answer."""
    return bool(answer["error"]["code"] and answer["error"]["message"])


@pytest.mark.parametrize(
    ("render", "shaped"), [(problem_response, is_problem), (joc_error_response, is_joc_error)]
)
@pytest.mark.parametrize("name", sorted(GARBAGE))
async def test_low_level_refusals_have_the_apis_own_body(name, render, shaped) -> None:
    async with serving(render) as port:
        status, headers, body = await exchange(port, GARBAGE[name])
        assert 400 <= status < 500, (status, body)
        assert headers["content-type"].startswith("application/json")
        assert shaped(json.loads(body)), body
        assert b"Traceback" not in body
        # The server goes on serving.
        ok = await exchange(port, b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        assert ok[0] == 200
