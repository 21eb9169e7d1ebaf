"""The harness's own client for a JS7 node's HTTP API (a Controller's or an
Agent's): ``POST …/api/session`` (Login), ``…/api/command``, ``…/api/item``
(NDJSON), ``GET`` of JSON and NDJSON, and the long-polled ``…/api/event``.

Written for the judge alone, from JS7's public protocol, sharing no code
with the components it judges (a bug in a shared client would hit both sides
alike and hide itself — issue 14): the session token travels in
``x-js7-session``; a refusal is JS7's problem JSON,
``{"TYPE":"Problem","message",…}`` with an HTTP status ≥ 400.

Errors by cause: ``ProblemError`` — the node answered and refused (with its
status, code, message and body); ``aiohttp.ClientError``/``OSError``/
``TimeoutError`` — no answer (the outcome of a command is then unknown).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from harness.clients import outcomes
from harness.clients.ndjson import ndjson_lines
from harness.clients.outcomes import Outcome

SESSION = "x-js7-session"


class ProblemError(Exception):
    """The node answered with an error: JS7's problem, or an unframed one
    (then ``code`` is ``Http<status>`` and ``body`` empty)."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    @property
    def outcome(self) -> Outcome:
        """What this answer means for the operation (``outcomes``)."""
        return outcomes.js7_problem(self.status, self.code)


def problem_of(status: int, text: str) -> ProblemError:
    """The ``ProblemError`` an error answer stands for."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("TYPE") == "Problem":
        return ProblemError(status, str(body.get("code")), str(body.get("message")), body)
    return ProblemError(status, f"Http{status}", text[:500], {})


class Js7Client:
    """One session with one node at ``base`` + ``prefix`` (``/controller/api``
    or ``/agent/api``), logged in lazily and once more after a 401 (a node
    that restarted has forgotten its sessions)."""

    def __init__(
        self, http: aiohttp.ClientSession, base: str, prefix: str, user: str, password: str
    ) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.prefix = prefix
        self.user = user
        self.password = password
        self._session: str | None = None

    def url(self, path: str) -> str:
        return self.base + self.prefix + path

    async def login(self) -> None:
        login = {
            "TYPE": "Login",
            "userAndPassword": {"userId": self.user, "password": self.password},
        }
        async with self.http.post(self.url("/session"), json=login) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise problem_of(resp.status, text)
        self._session = str(json.loads(text)["sessionToken"])

    async def token(self) -> str:
        if self._session is None:
            await self.login()
        assert self._session is not None
        return self._session

    def forget_token(self) -> None:
        self._session = None

    async def _call(self, method: str, path: str, **kw: Any) -> str:
        """The answer's text to one request in the session; a ``ProblemError``
        for an error answer."""
        headers = dict(kw.pop("headers", None) or {})
        for attempt in (1, 2):
            headers[SESSION] = await self.token()
            async with self.http.request(method, self.url(path), headers=headers, **kw) as resp:
                text = await resp.text()
                if resp.status == 401 and attempt == 1:
                    self.forget_token()
                    continue
                if resp.status >= 400:
                    raise problem_of(resp.status, text)
                return text
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        text = await self._call(method, path, **kw)
        return json.loads(text) if text else None

    async def command(self, cmd: dict[str, Any], timeout: float | None = None) -> Any:
        # aiohttp reads timeout=None as "no timeout": pass one only when given.
        extra = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout else {}
        return await self._json("POST", "/command", json=cmd, **extra)

    async def command_path(self, path: str, body: dict[str, Any]) -> Any:
        return await self._json("POST", path, json=body)

    async def post_items(self, operations: list[dict[str, Any]]) -> Any:
        """JS7's ``POST …/api/item``: one operation per NDJSON line."""
        lines = "".join(json.dumps(op, separators=(",", ":")) + "\n" for op in operations)
        headers = {"Content-Type": "application/x-ndjson"}
        return await self._json("POST", "/item", headers=headers, data=lines.encode())

    async def get(self, path: str) -> Any:
        return await self._json("GET", path)

    async def get_ndjson(self, path: str) -> list[Any]:
        return [json.loads(line) for line in (await self._call("GET", path)).splitlines() if line]

    async def events(
        self,
        after: int,
        *,
        timeout: float = 5.0,
        limit: int | None = None,
        heartbeat: float | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """One long poll: the stamped events after ``after`` as they arrive
        (none when nothing happened within ``timeout``); heartbeats skipped."""
        params = {"after": str(after), "timeout": str(timeout)}
        if limit is not None:
            params["limit"] = str(limit)
        if heartbeat is not None:
            params["heartbeat"] = str(heartbeat)
        read = aiohttp.ClientTimeout(total=None, sock_read=timeout + (heartbeat or timeout) + 10)
        for attempt in (1, 2):
            headers = {SESSION: await self.token()}
            async with self.http.get(
                self.url("/event"), params=params, headers=headers, timeout=read
            ) as resp:
                if resp.status == 401 and attempt == 1:
                    self.forget_token()
                    continue
                if resp.status >= 400:
                    raise problem_of(resp.status, await resp.text())
                async for line in ndjson_lines(resp.content):
                    if line.strip():
                        yield json.loads(line)
                return
