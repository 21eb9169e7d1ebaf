"""A test server whose one route sends a body in the given chunks, for the
NDJSON readers' tests (the components' and the judge's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer


@contextlib.asynccontextmanager
async def chunked_server(chunks: list[bytes]) -> AsyncIterator[TestClient]:
    async def body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for c in chunks:
            await resp.write(c)
            await asyncio.sleep(0)  # each chunk its own write on the wire
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", body)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
