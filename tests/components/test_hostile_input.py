"""Hostile input at the Controller's, the Agent's and the Cluster Watch's
edge (issue 13's findings 1-3, 5 and 6): each request is refused with JS7's
problem answer naming what is wrong, no node stops, and nothing changes.

Every body here is valid HTTP and most are valid JSON: what a logged-in
client can send. Each case was a crash or a 500 before the edge checked it.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from harness.clients.js7 import agent_client, controller_client, deploy_workflow
from harness.clients.node import Js7Client, ProblemError
from harness.clients.snapshot import read_snapshot
from harness.js7topo import controller_and_agents, shell_workflow

DEEP = b"[" * 999 + b"]" * 999
HUGE_INT = b"9" * 5000


def add_order_raw(oid: bytes, arguments: bytes = b"{}") -> bytes:
    return (
        b'{"TYPE":"AddOrder","order":{"id":"'
        + oid
        + b'","workflowPath":"w","arguments":'
        + arguments
        + b"}}"
    )


def attach_order_raw(position: bytes = b"[0]", arguments: bytes = b"{}") -> bytes:
    return (
        b'{"TYPE":"AttachOrder","order":{"id":"hostile","workflowPosition":'
        b'{"workflowId":{"path":"w","versionId":"1"},"position":'
        + position
        + b'},"state":{"TYPE":"Fresh"},"arguments":'
        + arguments
        + b',"attachedState":{"TYPE":"Attached","agentPath":"agent-1"}}}'
    )


async def post_raw(client: Js7Client, path: str, body: bytes) -> tuple[int, Any]:
    headers = {"X-JS7-Session": await client.token(), "Content-Type": "application/json"}
    async with client.http.post(client.url(path), data=body, headers=headers) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except json.JSONDecodeError:
            return resp.status, text


def refused(status: int, answer: Any) -> bool:
    """JS7's problem answer: a 4xx with ``{"TYPE":"Problem", "code", "message"}``."""
    return (
        400 <= status < 500
        and isinstance(answer, dict)
        and answer.get("TYPE") == "Problem"
        and bool(answer.get("message"))
    )


async def test_hostile_requests_are_refused_and_stop_no_node(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    agent = agent_client(dep, "agent-1", user="Controller")
    await deploy_workflow(ctl, shell_workflow("w", ("agent-1", "echo w")))
    cases: list[tuple[str, Js7Client, str, bytes]] = [
        ("1: arguments 1e400", ctl, "/command", add_order_raw(b"a", b'{"x":1e400}')),
        ("2: a lone surrogate in the id", ctl, "/command", add_order_raw(b"\\udc80")),
        ("3: arguments NaN", agent, "/command", attach_order_raw(arguments=b'{"x":NaN}')),
        ("4: NUL in the id", ctl, "/command", add_order_raw(b"nul\\u0000")),
        ("5: 999 levels deep (Controller)", ctl, "/command", DEEP),
        ("5: 999 levels deep (Agent)", agent, "/command", DEEP),
        ("5: 999 levels deep (session)", ctl, "/session", DEEP),
        ("5: 999 levels deep (item)", ctl, "/item", DEEP),
        ("5: 999 levels deep in arguments", ctl, "/command", add_order_raw(b"d", DEEP)),
        (
            "5: a 5000-digit integer",
            ctl,
            "/command",
            add_order_raw(b"i", b'{"x":' + HUGE_INT + b"}"),
        ),
        ("5: a 5000-digit integer (Agent)", agent, "/command", attach_order_raw(HUGE_INT)),
        (
            "5: the Watch's generation a string",
            agent,
            "/clusterWatch",
            b'{"TYPE":"ClusterWatchHeartbeat","from":"Primary","heartbeatTimeout":3,'
            b'"clusterState":{"TYPE":"Coupled","activeId":"Primary","generation":"x"}}',
        ),
        (
            "6: a position beyond int64",
            agent,
            "/command",
            attach_order_raw(b"[18446744073709551616]"),
        ),
        ("6: a negative position", agent, "/command", attach_order_raw(b"[-1]")),
        (
            "an argument beyond int64",
            ctl,
            "/command",
            add_order_raw(b"big", b'{"x":18446744073709551616}'),
        ),
    ]
    answers = {}
    for name, client, path, body in cases:
        try:
            answers[name] = await post_raw(client, path, body)
        except (aiohttp.ClientError, OSError) as exc:
            answers[name] = (0, f"no answer: {type(exc).__name__}: {exc}")
    not_refused = {n: a for n, a in answers.items() if not refused(*a)}
    # No node stopped, and nothing was added.
    alive = {}
    for name, client in (("controller", ctl), ("agent-1", agent)):
        try:
            await client.command({"TYPE": "NoOperation"})
            alive[name] = True
        except (aiohttp.ClientError, OSError):
            alive[name] = False
    orders = (await read_snapshot(ctl)).orders
    assert not not_refused, "\n".join(f"{n}: {str(a)[:300]}" for n, a in not_refused.items())
    assert alive == {"controller": True, "agent-1": True}
    assert orders == {}


async def test_permissions_as_js7_has_them(deploy):
    """Finding 7: adding items needs JS7's UpdateItem; the Cluster Watch an
    Agent hosts answers only the Controller cluster's user. Both are refused
    with JS7's 403 UserDoesNotHavePermission, and nothing changes."""
    dep = await deploy(controller_and_agents(1))
    history_user = controller_client(dep, "controller", user="History")
    item = b'{"TYPE":"AddVersion","versionId":"h"}\n'
    status, answer = await post_raw(history_user, "/item", item)
    assert (status, answer.get("code")) == (403, "UserDoesNotHavePermission"), answer
    assert answer["message"] == (
        "User 'History' does not have the required permission 'UpdateItem'"
    )
    harness = agent_client(dep, "agent-1")
    heartbeat = (
        b'{"TYPE":"ClusterWatchHeartbeat","from":"Primary","heartbeatTimeout":3,'
        b'"clusterState":{"TYPE":"Coupled","activeId":"Primary","generation":7}}'
    )
    status, answer = await post_raw(harness, "/clusterWatch", heartbeat)
    assert (status, answer.get("code")) == (403, "UserDoesNotHavePermission"), answer
    assert (await harness.get("/clusterWatch"))["known"] is None  # nothing learnt
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("w", ("agent-1", "echo w")))  # Harness may


async def test_query_numbers_beyond_a_long_are_refused(deploy):
    """A query number past JS7's Long (an eventId nobody has) is a 400, never
    a 500 from formatting it into a problem's EventId arguments."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    huge = "9" * 23
    for path in (f"/snapshot/?eventId={huge}", f"/event?after={huge}&timeout=0"):
        with pytest.raises(ProblemError) as refused:
            await ctl.get_ndjson(path)
        assert (refused.value.status, refused.value.code) == (400, "InvalidParameter"), path
    with pytest.raises(ProblemError) as unknown:
        await ctl.get_ndjson(f"/snapshot/?eventId={2**63 - 1}")
    assert unknown.value.code == "SnapshotForUnknownEventId"
