"""The harness's own client of JOC Cockpit's REST API (``/joc/api``): JOC's
login, its ``X-Access-Token`` sessions and its error answers (error.raml),
written against the wire only — it shares no code with the reference JOC."""

from __future__ import annotations

import base64
import json
import weakref
from typing import Any

from harness.clients import outcomes
from harness.clients.outcomes import Outcome
from harness.deployment import Deployment
from harness.specs.joc import ACCOUNTS

JOC_API = "/joc/api"


class JocProblem(Exception):
    """The JOC API answered with an error (JOC's error.raml): 401/403 with the
    ``security`` answer, 420 with ``error: {code, message}``."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {"raw": body}
        raw_error = self.body.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        fallback = {401: "Unauthenticated", 403: "PermissionDenied"}.get(status, f"Http{status}")
        self.code = str(error.get("code") or self.body.get("code") or fallback)
        self.message = str(error.get("message") or self.body.get("message"))
        super().__init__(f"HTTP {status} {self.code}: {self.message}")

    @property
    def outcome(self) -> Outcome:
        """What this answer means for the operation (``outcomes``)."""
        return outcomes.joc_error(self.status, self.code)


def _error_body(text: str) -> Any:
    """JOC's error answer, or the raw text of one that is not JSON (a route
    the target does not serve: an HTML 404 page)."""
    try:
        return json.loads(text)
    except ValueError:
        return {"raw": text[:500]}


class JocClient:
    """One session with one JOC instance; logs in again after a 401 (an
    instance that restarted forgot its sessions)."""

    def __init__(self, dep: Deployment, node: str, account: str = "root") -> None:
        self.dep = dep
        self.node = node
        self.account = account
        self.base = dep.url(node) + JOC_API
        self.token: str | None = None

    async def login(self) -> dict[str, Any]:
        pw = ACCOUNTS[self.account][0]
        basic = base64.b64encode(f"{self.account}:{pw}".encode()).decode()
        async with self.dep.http.post(
            f"{self.base}/authentication/login", headers={"Authorization": f"Basic {basic}"}
        ) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise JocProblem(r.status, body)
        self.token = body["accessToken"]
        return dict(body)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """A JSON call: JOC's answer, decoded."""
        return await self._call(path, body, text=False)

    async def post_text(self, path: str, body: dict[str, Any] | None = None) -> str:
        """A call JOC answers as text (``task/log``)."""
        return str(await self._call(path, body, text=True))

    async def _call(self, path: str, body: dict[str, Any] | None, *, text: bool) -> Any:
        for attempt in (1, 2):
            if self.token is None:
                await self.login()
            assert self.token is not None
            async with self.dep.http.post(
                f"{self.base}/{path}", json=body or {}, headers={"X-Access-Token": self.token}
            ) as r:
                if r.status == 401 and attempt == 1:
                    self.token = None
                    continue
                if r.status != 200:
                    raise JocProblem(r.status, _error_body(await r.text()))
                return await r.text() if text else await r.json(content_type=None)
        raise AssertionError("unreachable")


_viewers: weakref.WeakKeyDictionary[Deployment, dict[str, JocClient]] = weakref.WeakKeyDictionary()


def viewer(dep: Deployment, node: str) -> JocClient:
    """One session per instance and deployment for the observers' questions
    (a login per question would pile up sessions on the instance)."""
    return _viewers.setdefault(dep, {}).setdefault(node, JocClient(dep, node, "viewer"))
