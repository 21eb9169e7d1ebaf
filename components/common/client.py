"""A client for the JS7 node APIs (Controller and Agent): login, commands,
batches and the event stream. Used by the Controller's Agent drivers, by the
JOC History Service and by the harness's own workloads.

Errors are split by cause: ``ProblemError`` — the node answered with a
problem (the request was understood and refused); ``aiohttp``/``OSError``
exceptions — the node could not be reached or the answer was lost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from components.common.auth import SESSION_HEADER
from components.common.ndjson import NdjsonReader


class ProblemError(Exception):
    """The node answered with a JS7 problem."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class NodeClient:
    """One logged-in session to one node. Re-logs in once on a 401 (a node
    that restarted has forgotten its sessions)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        prefix: str,
        user: str,
        password: str,
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.prefix = prefix
        self.user = user
        self.password = password
        self._token: str | None = None

    def url(self, path: str) -> str:
        return f"{self.base}{self.prefix}{path}"

    async def login(self) -> None:
        body = {
            "TYPE": "Login",
            "userAndPassword": {"userId": self.user, "password": self.password},
        }
        async with self.http.post(self.url("/session"), json=body) as resp:
            data = await _json_or_problem(resp)
        self._token = data["sessionToken"]

    async def _headers(self) -> dict[str, str]:
        if self._token is None:
            await self.login()
        assert self._token is not None
        return {SESSION_HEADER: self._token}

    async def token(self) -> str:
        return (await self._headers())[SESSION_HEADER]

    def forget_token(self) -> None:
        self._token = None

    async def _request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        """One request in the session: logged in first, once more after a 401
        (the node restarted and forgot the session); the answer's JSON or a
        ``ProblemError``."""
        for attempt in (1, 2):
            async with self.http.request(
                method, self.url(path), headers={**(headers or {}), **await self._headers()}, **kw
            ) as resp:
                if resp.status == 401 and attempt == 1:
                    self._token = None
                    continue
                return await _json_or_problem(resp)
        raise AssertionError("unreachable")

    async def command_path(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``<prefix><path>`` (e.g. ``/cluster/command``)."""
        return await self._request("POST", path, json=body)

    async def command(self, cmd: dict[str, Any], timeout: float | None = None) -> Any:
        # Pass a timeout only when given: aiohttp reads an explicit None as
        # "no timeout at all", not as "the session's default".
        extra: dict[str, Any] = {}
        if timeout:
            extra["timeout"] = aiohttp.ClientTimeout(total=timeout)
        return await self._request("POST", "/command", json=cmd, **extra)

    async def post_items(self, operations: list[dict[str, Any]]) -> Any:
        """JS7's ``POST <prefix>/item``: the operations as NDJSON."""
        body = "".join(json.dumps(op, separators=(",", ":")) + "\n" for op in operations)
        headers = {"Content-Type": "application/x-ndjson"}
        return await self._request("POST", "/item", headers, data=body.encode())

    async def get(self, path: str) -> Any:
        return await self._request("GET", path)

    async def get_ndjson(self, path: str) -> list[Any]:
        """GET an NDJSON stream (JS7's snapshot, say): its objects, or a
        ``ProblemError``."""
        for attempt in (1, 2):
            async with self.http.get(self.url(path), headers=await self._headers()) as resp:
                if resp.status == 401 and attempt == 1:
                    self._token = None
                    continue
                if resp.status != 200:
                    await _json_or_problem(resp)
                return [json.loads(line) for line in (await resp.read()).splitlines() if line]
        raise AssertionError("unreachable")

    async def events(
        self,
        after: int,
        *,
        timeout: float = 5.0,
        limit: int | None = None,
        heartbeat: float | None = None,
        params: dict[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """One long-poll request: the stamped events after ``after`` (possibly
        none). Heartbeat lines are skipped, but each resets ``read_timeout``
        (the silence after which the peer counts as gone)."""
        params = {**(params or {}), "after": str(after), "timeout": str(timeout)}
        if limit is not None:
            params["limit"] = str(limit)
        if heartbeat is not None:
            params["heartbeat"] = str(heartbeat)
        for attempt in (1, 2):
            to = aiohttp.ClientTimeout(
                total=None, sock_read=read_timeout or timeout + (heartbeat or timeout) + 10
            )
            async with self.http.get(
                self.url("/event"), params=params, headers=await self._headers(), timeout=to
            ) as resp:
                if resp.status == 401 and attempt == 1:
                    self._token = None
                    continue
                if resp.status != 200:
                    await _json_or_problem(resp)
                async for raw in NdjsonReader(resp.content):
                    line = raw.strip()
                    if line:
                        yield json.loads(line)
                return


async def _json_or_problem(resp: aiohttp.ClientResponse) -> Any:
    text = await resp.text()
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError:
        data = None
    if resp.status >= 400:
        if isinstance(data, dict) and data.get("TYPE") == "Problem":
            raise ProblemError(resp.status, str(data.get("code")), str(data.get("message")), data)
        raise ProblemError(resp.status, f"Http{resp.status}", text[:500], {})
    return data
