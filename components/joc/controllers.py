"""How JOC reaches the Controller: ask every configured Controller node
``GET /controller/api/cluster`` and follow ``isActive`` — so History and the
API follow a Controller fail-over without being told."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from components.common.client import NodeClient, ProblemError

log = logging.getLogger("js7.joc.controllers")


@dataclass(frozen=True)
class ControllerNode:
    name: str
    uri: str


class NoActiveController(Exception):
    """No configured Controller node answered that it is active."""


class ControllerLocator:
    """One login per (node, user); ``active()`` answers a client of the node
    that says it is active, remembering it until ``forget()``."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        nodes: list[ControllerNode],
        user: str,
        password: str,
        probe_timeout: float,
    ) -> None:
        self.http = http
        self.nodes = nodes
        self.user = user
        self.password = password
        self.probe_timeout = probe_timeout
        self._clients = {
            n.name: NodeClient(http, n.uri, "/controller/api", user, password) for n in nodes
        }
        self._active: str | None = None
        self.states: dict[str, dict[str, Any]] = {}

    def client(self, name: str) -> NodeClient:
        return self._clients[name]

    def forget(self) -> None:
        self._active = None

    async def _probe(self, node: ControllerNode) -> dict[str, Any]:
        try:
            state = await asyncio.wait_for(
                self._clients[node.name].get("/cluster"), self.probe_timeout
            )
            if not isinstance(state, dict):
                raise ProblemError(500, "BadAnswer", "cluster state is not an object", {})
            self.states[node.name] = {"reachable": True, **state}
        except (ProblemError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.states[node.name] = {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
        return self.states[node.name]

    async def probe_all(self) -> dict[str, dict[str, Any]]:
        await asyncio.gather(*(self._probe(n) for n in self.nodes))
        return dict(self.states)

    async def active(self) -> tuple[str, NodeClient]:
        if self._active is not None:
            return self._active, self._clients[self._active]
        states = await self.probe_all()
        for n in self.nodes:
            if states[n.name].get("isActive"):
                if self._active != n.name:
                    log.info("active Controller node is %s (%s)", n.name, n.uri)
                self._active = n.name
                return n.name, self._clients[n.name]
        raise NoActiveController(
            "no Controller node is active: "
            + "; ".join(f"{k}: {v.get('error') or v.get('TYPE')}" for k, v in states.items())
        )
