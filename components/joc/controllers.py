"""How JOC reaches the Controller: ask every configured Controller node
``GET /controller/api/cluster?return=ClusterNodeState`` and take the one
that is active by JS7's rule *and* accepts a command — so History and the
API follow a Controller fail-over or switch-over without being told.

What must hold:

* every configured node is asked at once and the first one that acts as the
  active one is taken, without waiting for a silent (killed, cut off) other
  node — a node that only *believes* it is active (its view names it, but it
  lost its lease) refuses the probe command, so two nodes never both pass;
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
from components.common.web import Problem
from components.wire.cluster import ClusterNodeState, is_active
from components.wire.codec import convert

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
        client = self._clients[node.name]
        try:
            async with asyncio.timeout(self.probe_timeout):
                state = await self._ask(client)
            self.states[node.name] = {"reachable": True, **state}
            if self.report_problems:
                self._note_problem(node, await self._reference_problem(client))
        except (Problem, ProblemError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # (Problem: an answer that is not a ClusterNodeState.)
            self.states[node.name] = {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
        return self.states[node.name]

    async def _ask(self, client: NodeClient) -> dict[str, Any]:
        """JS7's way: the node's ``ClusterNodeState``; a node it names active
        is taken as active when it accepts a command (a passive, or an active
        not sure of its role, answers ``ClusterNodeIsNotActive``)."""
        raw = await client.get("/cluster?return=ClusterNodeState")
        cns = convert(raw, ClusterNodeState, "ClusterNodeState")
        acts = False
        if is_active(cns.clusterState, cns.nodeId, cns.isBackup):
            try:
                await client.command({"TYPE": "NoOperation"})
                acts = True
            except ProblemError as exc:
                if exc.code != NOT_ACTIVE:
                    raise
        return {"TYPE": type(cns.clusterState).__name__, "isActive": acts, "nodeId": cns.nodeId}

    async def _reference_problem(self, client: NodeClient) -> Any:
        """reference-only: the cluster problem the reference Controller
        reports on ``GET /controller/api/js7ha/cluster-node`` (a real
        Controller has no such route: then there is nothing to report)."""
        try:
            async with asyncio.timeout(self.probe_timeout):
                info = await client.get("/js7ha/cluster-node")
        except (ProblemError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        return info.get("problem") if isinstance(info, dict) else None

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
