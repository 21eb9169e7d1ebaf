"""What every JOC call handler shares: a request body, the session a call
runs in, a route (path, permission, handler, the fields it reads), the
problem a standby answers with for what only the active instance serves, and
``Calls``, the base of each group of handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from components.common.web import Problem
from components.joc.app import Joc

PREFIX = "/joc/api"
TOKEN_HEADER = "X-Access-Token"

Body = dict[str, Any]


def standby_problem(what: str) -> Problem:
    return Problem(
        409, "JocStandby", f"{what} is only available on the active JOC Cockpit instance"
    )


@dataclass
class Session:
    account: str
    permissions: frozenset[str]
    expires: float


Handler = Callable[[web.Request, Body, Session | None], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    path: str
    permission: str | None  # None: no session needed
    handler: Handler
    summary: str
    fields: tuple[str, ...] = ()
    method: str = "POST"


class Calls:
    """A group of call handlers (``Api``, ``ClusterCalls``, ``ServiceCalls``):
    each serves one JOC instance and reads its config."""

    def __init__(self, joc: Joc) -> None:
        self.joc = joc
        self.cfg = joc.cfg
