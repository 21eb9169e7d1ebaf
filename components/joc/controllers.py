"""How JOC reaches the Controller: ask every configured Controller node
``GET /controller/api/cluster`` and follow ``isActive`` — so History and the
API follow a Controller fail-over or switch-over without being told.

What must hold:

* every configured node is asked at once and the first one that says
  ``isActive: true`` is taken, without waiting for a silent (killed, cut
  off) other node — a node's claim is backed by its lease, so two nodes
  never both claim it;
* the answer is remembered only until a caller sees that it is stale (503
  ``ClusterNodeIsNotActive`` or a lost connection) and calls ``forget()``:
  the next ``active()`` asks every node again at once;
* a Controller cluster's ``problem`` (e.g. the Primary's refused
  ``ClusterStartBackupNode``) is logged once per change, as a WARN line
  naming the node (``report_problems``), so it is in JOC's log too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from components.common.client import NodeClient, ProblemError

log = logging.getLogger("js7.joc.controllers")
NOT_ACTIVE = "ClusterNodeIsNotActive"


@dataclass(frozen=True)
class ControllerNode:
    name: str
    uri: str


class NoActiveController(Exception):
    """No configured Controller node answered that it is active."""


def is_stale_active(exc: BaseException) -> bool:
    """Whether an error from the remembered active node means "ask again":
    it is no longer active, or it cannot be reached."""
    if isinstance(exc, ProblemError):
        return exc.code == NOT_ACTIVE
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError)


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
        *,
        report_problems: bool = False,
    ) -> None:
        self.http = http
        self.nodes = nodes
        self.user = user
        self.password = password
        self.probe_timeout = probe_timeout
        self.report_problems = report_problems
        self._clients = {
            n.name: NodeClient(http, n.uri, "/controller/api", user, password) for n in nodes
        }
        self._active: str | None = None
        self.states: dict[str, dict[str, Any]] = {}
        self._problems: dict[str, str | None] = {}
        self.discoveries = 0  # how often every node was asked (for the API's status)

    def client(self, name: str) -> NodeClient:
        return self._clients[name]

    @property
    def current(self) -> str | None:
        return self._active

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
            self._note_problem(node, state.get("problem"))
        except (ProblemError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.states[node.name] = {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
        return self.states[node.name]

    def _note_problem(self, node: ControllerNode, problem: Any) -> None:
        text = str(problem) if problem else None
        if not self.report_problems or self._problems.get(node.name) == text:
            return
        self._problems[node.name] = text
        if text:
            log.warning("Controller node %s (%s): %s", node.name, node.uri, text)
        else:
            log.info("Controller node %s (%s): problem cleared", node.name, node.uri)

    async def probe_all(self) -> dict[str, dict[str, Any]]:
        await asyncio.gather(*(self._probe(n) for n in self.nodes))
        return dict(self.states)

    async def _probe_named(self, node: ControllerNode) -> tuple[str, dict[str, Any]]:
        return node.name, await self._probe(node)

    async def active(self) -> tuple[str, NodeClient]:
        if self._active is not None:
            return self._active, self._clients[self._active]
        self.discoveries += 1
        tasks = [asyncio.ensure_future(self._probe_named(n)) for n in self.nodes]
        try:
            for fut in asyncio.as_completed(tasks):
                name, state = await fut
                if state.get("isActive"):
                    log.info("active Controller node is %s", name)
                    self._active = name
                    return name, self._clients[name]
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        def why(name: str) -> Any:
            st = self.states.get(name, {})
            return st.get("error") or st.get("TYPE")

        reasons = "; ".join(f"{n.name}: {why(n.name)}" for n in self.nodes)
        raise NoActiveController(f"no Controller node is active: {reasons}")
