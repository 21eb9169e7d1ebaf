"""SEC-HOSTILE-INPUT: a hostile request never takes a component down,
stalls a service or loses work, and is refused with a clear problem.

Under a steady order load on a Controller cluster with JOC, a logged-in
client sends a seeded stream of hostile variants of valid requests
(``harness.hostile``) to every public API of every component: both
Controller nodes, the Agent, the Agent hosting the Cluster Watch, both JOC
instances. Afterwards:

* every answer was a 2xx or the API's own refusal (JS7's problem JSON;
  JOC's 401/403 or 420 with ``error``), never a 5xx, a JOC
  ``InternalError``, an unframed answer or none;
* every node still runs and answers;
* the Controller cluster never lost its active node (the same one node
  seen active throughout, never two);
* no acknowledged order of the load was lost or changed (each finished);
* History is current (each load order's history row is terminated).

Only JS7's public APIs and the harness's own observations: the verdict
would carry over to a real JS7.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import aiohttp
import pytest

from harness.checkers import CheckResult, compose, no_loss, single_active
from harness.clients.joc import JocClient, JocProblem
from harness.clients.js7 import (
    SILLY_SIGNATURE,
    ClusterClient,
    agent_client,
    controller_client,
    wait_cluster,
)
from harness.clients.node import Js7Client
from harness.clients.snapshot import read_snapshot
from harness.deployment import Deployment
from harness.hostile import HostileRequest, HostileRequests, Seed, classify
from suites.controller.workload import WORKFLOW, Load
from suites.joc.support import history_orders, joc_and_controller_cluster, wait_history_terminated

RUNS = int(os.environ.get("JS7HA_HOSTILE_RUNS", "10"))
REQUESTS = int(os.environ.get("JS7HA_HOSTILE_REQUESTS", "300"))
SENDERS = 4
HOSTILE_WORKFLOW = {
    "TYPE": "Workflow",
    "path": "hostile-w",
    "versionId": "hostile-1",
    "instructions": [
        {
            "TYPE": "Execute.Anonymous",
            "job": {
                "agentPath": "agent-1",
                "executable": {"TYPE": "InternalExecutable", "className": "js7ha.Noop"},
            },
        }
    ],
}


def seeds(jocs: list[str], controller_id: str) -> list[Seed]:
    """Valid requests of every API, naming only hostile- objects."""
    add = {
        "TYPE": "AddOrder",
        "order": {"id": "hostile-o", "workflowPath": "hostile-w", "arguments": {"a": 1}},
    }
    out: list[Seed] = []
    for node in ("primary", "backup"):
        api = "/controller/api"
        out += [
            Seed("js7", node, "POST", f"{api}/command", add),
            Seed("js7", node, "POST", f"{api}/command", {"TYPE": "NoOperation"}),
            Seed(
                "js7",
                node,
                "POST",
                f"{api}/command",
                {"TYPE": "CancelOrders", "orderIds": ["hostile-o"], "mode": {"TYPE": "FreshOnly"}},
            ),
            Seed(
                "js7",
                node,
                "POST",
                f"{api}/command",
                {"TYPE": "Batch", "commands": [{"TYPE": "NoOperation"}, add]},
            ),
            Seed(
                "js7",
                node,
                "POST",
                f"{api}/item",
                [
                    {"TYPE": "AddVersion", "versionId": "hostile-2"},
                    {
                        "TYPE": "AddOrChangeSigned",
                        "signedString": {
                            "string": '{"TYPE":"Workflow","path":"hostile-w2","instructions":[]}',
                            "signature": SILLY_SIGNATURE,
                        },
                    },
                ],
                ndjson=True,
            ),
            Seed(
                "js7",
                node,
                "POST",
                f"{api}/session",
                {"TYPE": "Login", "userAndPassword": {"userId": "hostile", "password": "x"}},
            ),
            Seed("js7", node, "GET", f"{api}/event", query={"after": "0", "timeout": "0"}),
            Seed("js7", node, "GET", f"{api}/cluster", query={"return": "ClusterNodeState"}),
            Seed("js7", node, "GET", f"{api}/snapshot/", query={"eventId": "1"}),
        ]
    for node in ("agent-1",):
        api = "/agent/api"
        out += [
            Seed("js7", node, "POST", f"{api}/command", {"TYPE": "NoOperation"}),
            Seed(
                "js7",
                node,
                "POST",
                f"{api}/command",
                {
                    "TYPE": "MarkOrder",
                    "orderId": "hostile-o",
                    "mark": {"TYPE": "Cancelling", "mode": {"TYPE": "FreshOnly"}},
                },
            ),
            Seed("js7", node, "GET", f"{api}/event", query={"after": "0", "timeout": "0"}),
        ]
    for node in jocs:
        out += [
            Seed(
                "joc",
                node,
                "POST",
                "/joc/api/orders/history",
                {"controllerId": controller_id, "dateFrom": "-1d", "limit": 10},
            ),
            Seed("joc", node, "POST", "/joc/api/tasks/history", {"orderIds": ["hostile-o"]}),
            Seed("joc", node, "POST", "/joc/api/orders", {"orderIds": ["hostile-o"]}),
            Seed(
                "joc",
                node,
                "POST",
                "/joc/api/orders/add",
                {
                    "controllerId": controller_id,
                    # Planned for 2100: the stream's "list ten thousand long"
                    # is a parser's and the Batch's test, not ten thousand
                    # jobs to run and History rows to write — that workload
                    # made a loaded 2-core machine answer after 30 s and
                    # History fall behind (the hunt: seeds 2, 4, 5, 6).
                    "orders": [
                        {
                            "orderName": "hostile-j",
                            "workflowPath": "hostile-w",
                            "scheduledFor": "2100-01-01 00:00:00",
                            "timeZone": "Etc/UTC",
                        }
                    ],
                },
            ),
            Seed("joc", node, "POST", "/joc/api/controller/components", {}),
            Seed("joc", node, "POST", "/joc/api/orders/overview/summary", {}),
        ]
    return out


class Sender:
    """Sends hostile requests with the session each API needs; sorts each
    answer by what it says about the edge."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.js7: dict[str, Js7Client] = {}
        self.joc: dict[str, JocClient] = {}
        self.outcomes: Counter[str] = Counter()
        self.bad: list[dict[str, Any]] = []

    async def headers(self, request: HostileRequest) -> dict[str, str]:
        node = request.seed.node
        if request.seed.api == "joc":
            client = self.joc.setdefault(node, JocClient(self.dep, node))
            if client.token is None:
                await client.login()
            assert client.token is not None
            return {"X-Access-Token": client.token}
        if node not in self.js7:
            make = agent_client if node == "agent-1" else controller_client
            self.js7[node] = make(self.dep, node)
        return {"x-js7-session": await self.js7[node].token()}

    async def send(self, request: HostileRequest) -> None:
        try:
            headers = await self.headers(request)
        except (aiohttp.ClientError, OSError, TimeoutError, JocProblem) as exc:
            self._note(request, "no-session", f"{type(exc).__name__}: {exc}")
            return
        if request.body is not None:
            headers["Content-Type"] = request.content_type
        url = self.dep.url(request.seed.node) + request.path
        try:
            # A still-valid variant may be big work (ten thousand orders):
            # no answer within the heal deadline is a stall, a slower one is not.
            async with self.dep.http.request(
                request.seed.method,
                url,
                data=request.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.dep.profile.heal_deadline),
            ) as resp:
                status = resp.status
                # A 2xx is an acceptance as soon as it begins: a long poll the
                # request asked for (a large timeout) is honoured, not a stall.
                text = "" if 200 <= status < 300 else await resp.text(errors="replace")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._note(request, "no-answer", f"{type(exc).__name__}: {exc}")
            return
        self._note(request, classify(request.seed.api, status, text), f"{status} {text[:300]}")

    def _note(self, request: HostileRequest, outcome: str, answer: str) -> None:
        self.outcomes[outcome] += 1
        if outcome not in ("accepted", "refused"):
            self.bad.append(
                {
                    "outcome": outcome,
                    "to": f"{request.seed.node} {request.seed.method} {request.path[:120]}",
                    "mutation": request.mutation,
                    "answer": answer,
                }
            )


async def nodes_up(dep: Deployment, client: ClusterClient, jocs: list[str]) -> CheckResult:
    """Every node still runs and answers its API."""
    down: dict[str, str] = {}
    states = await client.states()
    for node in ("primary", "backup"):
        if states.get(node) is None:
            down[node] = "no ClusterNodeState"
    try:
        await agent_client(dep, "agent-1").command({"TYPE": "NoOperation"})
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        down["agent-1"] = f"{type(exc).__name__}: {exc}"
    # The Cluster Watch serves no API to send to (JS7's standalone one: metrics
    # only); that its process still runs and answers is what can be seen.
    down.update(await dep.health(["watch"]))
    for node in jocs:
        try:
            await JocClient(dep, node).post("controller/components", {})
        except (aiohttp.ClientError, OSError, TimeoutError, JocProblem) as exc:
            down[node] = f"{type(exc).__name__}: {exc}"
    return CheckResult(not down, {"down": down}, "nodes-up")


@pytest.mark.guarantee("SEC-HOSTILE-INPUT")
@pytest.mark.parametrize("seed", range(1, RUNS + 1))
async def test_a_hostile_stream_takes_nothing_down(deploy, history, results, profile, seed):
    dep = await deploy(joc_and_controller_cluster(2))
    jocs = ["joc-1", "joc-2"]
    client = ClusterClient(dep)
    await wait_cluster(dep, client)
    await client.deploy(WORKFLOW)
    await client.deploy(HOSTILE_WORKFLOW)
    sender = Sender(dep)
    _, overview = await client.on_active(lambda c: c.get(""))
    stream = HostileRequests(seeds(jocs, overview["id"]), seed)
    async with Load(
        history, client, rate=20.0, interval=profile.poll_interval, prefix="load"
    ) as load:

        async def hostile(worker: int) -> None:
            for _ in range(REQUESTS // SENDERS):
                load.check()
                await sender.send(stream.next())

        await asyncio.gather(*(hostile(w) for w in range(SENDERS)))
    results.measure("hostile requests sent", sum(sender.outcomes.values()))
    results.measure("hostile requests refused", sender.outcomes["refused"])
    results.measure("hostile requests accepted (still valid)", sender.outcomes["accepted"])
    edge = CheckResult(
        not sender.bad,
        {"outcomes": dict(sender.outcomes), "wrong-answers": sender.bad[:40]},
        "edge-answers",
    )
    up = await nodes_up(dep, client, jocs)
    # The cluster kept its active node: the samples name one and the same
    # node active throughout, and it still is.
    actives = {
        r["value"]["node"]
        for r in history.records
        if r.get("f") == "observe-active" and r["type"] == "ok" and r["value"]["active"]
    }
    now_active = await client.find_active()
    cluster = CheckResult(
        len(actives) == 1 and now_active in actives,
        {"nodes-seen-active": sorted(actives), "active-now": now_active},
        "active-kept",
    )
    # The load's orders: each acknowledged one finished; History has them all.
    acked = [r["value"] for r in history.records if r.get("f") == "add" and r["type"] == "ok"]
    joc = JocClient(dep, "joc-1")
    await wait_history_terminated(dep, joc, acked)  # the verdict below names what is missing
    async with history.op("reader", "read") as op:
        _, snap = await client.on_active(read_snapshot)
        op.ok(sorted(oid for oid in snap.ids_in("Finished") if oid.startswith("load-")))
    rows = await history_orders(joc, acked)
    stale = sorted(set(acked) - {r["orderId"] for r in rows if r["endTime"] is not None})
    current = CheckResult(not stale, {"not-in-history": stale[:20]}, "history-current")
    result = compose(
        no_loss(history.records),
        single_active(history.records, role="controller"),
        edge,
        up,
        cluster,
        current,
    )
    assert results.add(result), result.explain()
