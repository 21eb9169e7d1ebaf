"""The harness's own client of the JobScheduler 1.x members' HTTP API: every
call names the member it asks; an add is recorded as a history operation."""

from __future__ import annotations

from typing import Any

from harness.clients import outcomes
from harness.clients.outcomes import Outcome
from harness.deployment import Deployment
from harness.history import History


class ProblemAnswer(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body

    @property
    def outcome(self) -> Outcome:
        """What this answer means for the operation (``outcomes``)."""
        return outcomes.http_answer(self.status)


class Js1:
    """The suites' client of a cluster: every call names the member it asks."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep

    async def request(self, method: str, node: str, path: str, body: Any = None) -> Any:
        async with self.dep.http.request(method, self.dep.url(node) + path, json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise ProblemAnswer(resp.status, data)
            return data

    async def get(self, node: str, path: str) -> Any:
        return await self.request("GET", node, path)

    async def post(self, node: str, path: str, body: Any = None) -> Any:
        return await self.request("POST", node, path, body)

    async def put(self, node: str, path: str, body: Any) -> Any:
        return await self.request("PUT", node, path, body)

    async def status(self, node: str) -> dict[str, Any]:
        return dict(await self.get(node, "/status"))

    async def tasks(self, node: str, **query: str) -> list[dict[str, Any]]:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return list((await self.get(node, "/tasks" + (f"?{q}" if q else "")))["tasks"])

    async def orders(self, node: str) -> list[dict[str, Any]]:
        return list((await self.get(node, "/orders"))["orders"])

    async def events(self, node: str) -> list[dict[str, Any]]:
        return list((await self.get(node, "/cluster/events"))["events"])

    async def job(self, node: str, name: str, **body: Any) -> None:
        await self.put(node, f"/jobs/{name}", body)

    async def chain(
        self, node: str, name: str, nodes: list[dict[str, Any]], distributed: bool = False
    ) -> None:
        await self.put(node, f"/job_chains/{name}", {"nodes": nodes, "distributed": distributed})

    async def add_order(
        self, history: History, node: str, chain: str, order_id: str, **extra: Any
    ) -> None:
        """Add an order, recorded as an ``add`` operation (value: the order id)."""
        async with history.op(node, "add", order_id) as op:
            # An error answer is fail or info by the clients' one table.
            await self.post(node, "/orders", {"job_chain": chain, "id": order_id, **extra})
            op.node = node

    async def wait_role(
        self, node: str, role: str, deadline: float, what: str | None = None
    ) -> dict[str, Any]:
        return await self.dep.wait_for(
            what or f"{node} {role}",
            lambda: self.status(node),
            accept=lambda s: s["role"] == role,
            deadline=deadline,
        )
