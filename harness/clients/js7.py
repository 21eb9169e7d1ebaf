"""The harness's clients for Controller and Agent nodes, and the credentials
the specs write into the nodes' ``private.conf``.

The harness reaches nodes directly (``dep.url(node)``), outside every
partition, so it can always ask each node what it thinks.
"""

from __future__ import annotations

from typing import Any

from components.common.client import NodeClient
from harness.deployment import Deployment
from harness.workload import read_all_events

# user -> password. "Controller" is how a Controller logs into its Agents,
# "History" is the JOC History Service's user (the one allowed to release
# Controller events by default), "Harness" is the test's own observer.
PASSWORDS = {
    "Controller": "controller-secret",
    "History": "history-secret",
    "JOC": "joc-secret",
    "Harness": "harness-secret",
    # How the two nodes of a Controller cluster log into each other.
    "Cluster": "cluster-secret",
}


def users_conf(*users: str) -> dict[str, Any]:
    return {u: f"plain:{PASSWORDS[u]}" for u in users}


def controller_client(dep: Deployment, node: str, user: str = "Harness") -> NodeClient:
    return NodeClient(dep.http, dep.url(node), "/controller/api", user, PASSWORDS[user])


def agent_client(dep: Deployment, node: str, user: str = "Harness") -> NodeClient:
    return NodeClient(dep.http, dep.url(node), "/agent/api", user, PASSWORDS[user])


async def deploy_workflow(ctl: NodeClient, *workflows: dict[str, Any]) -> None:
    await ctl.command({"TYPE": "UpdateItems", "items": list(workflows)})


async def order_events(ctl: NodeClient, oid: str) -> list[dict[str, Any]]:
    return [e for e in await read_all_events(ctl) if e.get("Key") == oid]


async def orders(ctl: NodeClient, state: str | None = None) -> list[dict[str, Any]]:
    q = f"?state={state}" if state else ""
    result: list[dict[str, Any]] = (await ctl.get(f"/order{q}"))["orders"]
    return result


async def wait_order_state(
    dep: Deployment,
    oid: str,
    states: tuple[str, ...],
    deadline: float | None = None,
    node: str = "controller",
) -> dict[str, Any]:
    ctl = controller_client(dep, node)
    result: dict[str, Any] = await dep.wait_for(
        f"order {oid} in {states}",
        lambda: ctl.get(f"/order/{oid}"),
        accept=lambda o: o.get("state") in states,
        deadline=deadline,
    )
    return result


async def wait_all_orders(
    dep: Deployment,
    ids: list[str],
    state: str = "finished",
    *,
    deadline: float | None = None,
    node: str = "controller",
) -> None:
    ctl = controller_client(dep, node)
    want = set(ids)

    async def done() -> set[str]:
        return want & {o["id"] for o in await orders(ctl, state)}

    await dep.wait_for(
        f"{len(want)} orders {state}", done, accept=lambda got: got == want, deadline=deadline
    )


async def wait_coupled(dep: Deployment, node: str = "controller") -> None:
    """Until the Controller is coupled with every Agent it knows."""
    ctl = controller_client(dep, node)
    await dep.wait_for(
        "all Agents coupled",
        lambda: ctl.get("/agent"),
        accept=lambda r: bool(r["agents"]) and all(a["coupled"] for a in r["agents"]),
    )


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["TYPE"] for e in events]
