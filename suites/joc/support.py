"""What the JOC and History suites share: the topology and the observations
the checkers read (the JOC API client is ``harness.clients.joc``).

The harness reaches every JOC instance directly (never through a proxy), so
a test can always ask each instance what it believes about itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterable
from typing import Any

import aiohttp

from harness.clients.joc import JocClient, JocProblem, viewer
from harness.deployment import Deployment
from harness.errors import DeadlineExceeded
from harness.history import History, OpFailed
from harness.js7topo import controller_cluster, shell_workflow
from harness.topology import Database, Link, Node, Topology

ROLE = "joc"


def joc_cluster(
    jocs: int = 2,
    *,
    agents: int = 1,
    joc_config: dict[str, Any] | None = None,
) -> Topology:
    """``controller``, ``agent-1..n``, ``joc-1..n``: every JOC instance is a
    database client and has a link to the Controller."""
    agent_names = [f"agent-{i}" for i in range(1, agents + 1)]
    joc_names = [f"joc-{i}" for i in range(1, jocs + 1)]
    nodes = [Node("controller", "controller")]
    nodes += [Node(a, "agent") for a in agent_names]
    nodes += [
        Node(j, "joc", {"ordering": i, **(joc_config or {})}) for i, j in enumerate(joc_names)
    ]
    links = [Link("controller", a) for a in agent_names]
    links += [Link(j, "controller") for j in joc_names]
    return Topology.build(nodes, links, Database(clients=tuple(joc_names)))


def joc_and_controller_cluster(
    jocs: int = 2, *, agents: int = 1, backup_is_backup: bool = True, watch: str = "cluster-watch"
) -> Topology:
    """The Controller cluster of ``harness.js7topo.controller_cluster``
    (``primary``, ``backup``, ``watch``, ``agent-1..n``) and ``joc-1..n``,
    each JOC instance a database client with a link to both Controller nodes
    (so it finds the active one itself). ``watch="joc"``: JOC is the
    Controller cluster's Watch (its active instance; no ``watch`` node)."""
    joc_watch = watch == "joc"
    ctl = controller_cluster(
        agents, backup_is_backup=backup_is_backup, watch="none" if joc_watch else watch
    )
    joc_names = [f"joc-{i}" for i in range(1, jocs + 1)]
    config = {"joc.controller.cluster-watch": True} if joc_watch else {}
    nodes = [
        *ctl.nodes,
        *(Node(j, "joc", {"ordering": i, **config}) for i, j in enumerate(joc_names)),
    ]
    links = [*ctl.links, *(Link(j, c) for j in joc_names for c in ("primary", "backup"))]
    return Topology.build(nodes, links, Database(clients=tuple(joc_names)))


def joc_nodes(dep: Deployment) -> list[str]:
    return [n.name for n in dep.topology.by_role(ROLE)]


async def says_active(dep: Deployment, node: str) -> bool:
    """Whether ``node`` says it is the active instance, by JOC's own API:
    its own entry (``current: true``) in ``controller/components``."""
    return current_is_active(await viewer(dep, node).post("controller/components", {}))


def current_is_active(components: dict[str, Any]) -> bool:
    """In a ``controller/components`` answer: is the answering instance active?"""
    me = next(j for j in components["jocs"] if j.get("current"))
    return bool(me["clusterNodeState"]["_text"] == "active")


async def active_members(dep: Deployment, nodes: Iterable[str] | None = None) -> list[str]:
    """The instances that say they are active (asked directly, each about itself)."""
    names = list(nodes) if nodes is not None else joc_nodes(dep)

    async def ask(n: str) -> str | None:
        try:
            return n if await says_active(dep, n) else None
        except (aiohttp.ClientError, TimeoutError, OSError, JocProblem):
            return None

    return [n for n in await asyncio.gather(*(ask(n) for n in names)) if n]


async def wait_one_active(
    dep: Deployment, *, among: Iterable[str] | None = None, deadline: float | None = None
) -> str:
    names = list(among) if among is not None else None
    found = await dep.wait_for(
        "exactly one active JOC instance",
        lambda: active_members(dep, names),
        accept=lambda a: len(a) == 1,
        deadline=deadline,
    )
    return found[0]


async def wait_active(dep: Deployment, node: str, deadline: float | None = None) -> None:
    """Until ``node`` is the one and only instance that says it is active."""
    await dep.wait_for(
        f"{node} the only active JOC instance",
        lambda: active_members(dep),
        accept=lambda a: a == [node],
        deadline=deadline,
    )


class ActiveObserver:
    """Samples every JOC instance's ``controller/components`` (its own entry,
    ``current: true``) as ``observe-active`` operations for ``single_active``,
    and the serving instance of each ``ok`` probe for ``failover_time``."""

    def __init__(self, dep: Deployment, history: History, nodes: list[str] | None = None):
        self.dep = dep
        self.history = history
        self.nodes = nodes or joc_nodes(dep)
        self.clients = {n: JocClient(dep, n, "viewer") for n in self.nodes}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.samples = 0
        self.seen: dict[str, int] = {}  # node -> history index of its last active sample

    async def _sample(self, node: str) -> None:
        client = self.clients[node]
        while not self._stop.is_set():
            value = {"role": ROLE, "node": node}
            async with self.history.op(node, "observe-active", value) as op:
                op.node = node
                try:
                    comp = await client.post("controller/components", {})
                except JocProblem as exc:
                    raise OpFailed(exc.code) from None
                active = current_is_active(comp)
                self.samples += 1
                op.ok({"role": ROLE, "node": node, "active": active}, node=node)
                if active:
                    # What failover_time reads: a service answered by an active instance.
                    rec = self.history.invoke(node, "active-service", node).ok(node, node=node)
                    self.seen[node] = rec["index"]
            await asyncio.sleep(self.dep.profile.poll_interval)

    async def wait_seen_active(self, node: str, since: int) -> None:
        """Until a sample of ``node`` saying "active" was recorded after history
        index ``since`` — so each round is observed before the next begins."""
        await self.dep.wait_for(
            f"a sample of {node} active",
            lambda: asyncio.sleep(0, self.seen.get(node, -1)),
            accept=lambda i: i > since,
        )

    def start(self) -> ActiveObserver:
        self._tasks = [asyncio.create_task(self._sample(n)) for n in self.nodes]
        return self

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> ActiveObserver:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def workflow(path: str = "w", script: str = "echo hello-$JS7_ORDER_ID") -> dict[str, Any]:
    return shell_workflow(path, ("agent-1", script))


# -- JOC's inventory and Daily Plan -------------------------------------------
#
# Through JOC's own requests (js7-api-schemas): drafts stored with
# inventory/store, schedules and calendars released with inventory/release,
# workflows deployed with inventory/deployment/deploy, orders planned with
# daily_plan/orders/generate and read with daily_plan/orders.

CONTROLLER_ID = "js7"  # the topology's Controller id (harness/specs/joc.py)
EVERY_DAY = "every-day"  # the working-day calendar of ``calendar_request``


def inventory_workflow(wf: dict[str, Any]) -> dict[str, Any]:
    """A workflow of the Controller's shape (``harness.js7topo``) as JOC's
    inventory keeps it: each job a named job of the workflow's ``jobs``, its
    Agent named by ``agentName``."""
    jobs: dict[str, Any] = {}
    instructions = []
    for i, ins in enumerate(wf["instructions"]):
        name = f"job{i + 1}"
        job = ins["job"]
        jobs[name] = {
            "agentName": job["agentPath"],
            "executable": job["executable"],
            "taskLimit": 1,
        }
        instructions.append({"TYPE": "Execute.Named", "jobName": name, "label": name})
    return {"instructions": instructions, "jobs": jobs}


def store_request(path: str, object_type: str, configuration: dict[str, Any]) -> dict[str, Any]:
    """``inventory/store`` (inventory/configurationObject-schema.json)."""
    return {"path": path, "objectType": object_type, "configuration": configuration}


def deploy_request(*paths: str) -> dict[str, Any]:
    """``inventory/deployment/deploy`` of the workflow drafts at ``paths``
    (publish/deploy-schema.json)."""
    drafts = [{"configuration": {"path": p, "objectType": "WORKFLOW"}} for p in paths]
    return {"controllerIds": [CONTROLLER_ID], "store": {"draftConfigurations": drafts}}


async def deploy_workflows(client: JocClient, *workflows: dict[str, Any]) -> None:
    """Store each workflow as a draft at ``/<its path>`` and deploy them."""
    for wf in workflows:
        body = store_request(f"/{wf['path']}", "WORKFLOW", inventory_workflow(wf))
        await client.post("inventory/store", body)
    await client.post(
        "inventory/deployment/deploy", deploy_request(*(f"/{w['path']}" for w in workflows))
    )


def calendar_request() -> dict[str, Any]:
    """``inventory/store`` of a working-day calendar with every day."""
    every_day = {
        "type": "WORKINGDAYSCALENDAR",
        "includes": {"weekdays": [{"days": list(range(7))}]},
    }
    return store_request(f"/{EVERY_DAY}", "WORKINGDAYSCALENDAR", every_day)


def schedule_request(name: str, workflow_path: str, times: Iterable[str]) -> dict[str, Any]:
    """``inventory/store`` of a schedule with single starts at ``times``
    (UTC ``HH:MM:SS``) every day, planned only when asked (not by the
    Daily Plan Service on its own)."""
    schedule = {
        "workflowNames": [workflow_path],
        "planOrderAutomatically": False,
        "calendars": [
            {
                "calendarName": EVERY_DAY,
                "timeZone": "Etc/UTC",
                "periods": [{"singleStart": t} for t in times],
            }
        ],
    }
    return store_request(f"/{name}", "SCHEDULE", schedule)


def release_request(*paths: tuple[str, str]) -> dict[str, Any]:
    """``inventory/release`` of (path, objectType)s (inventory/release/release-schema.json)."""
    return {"update": [{"path": p, "objectType": t} for p, t in paths]}


def generate_request(day: str, name: str) -> dict[str, Any]:
    """``daily_plan/orders/generate`` of schedule ``/<name>`` for ``day``,
    submitted (dailyplan/generate/generate-request-schema.json)."""
    return {
        "controllerId": CONTROLLER_ID,
        "dailyPlanDates": [day],
        "schedulePaths": {"singles": [f"/{name}"]},
        "withSubmit": True,
        "includeNonAutoPlannedOrders": True,
    }


async def plan_and_submit(
    client: JocClient, day: str, name: str, workflow_path: str, times: Iterable[str]
) -> dict[str, list[str]]:
    """Schedule ``name`` at ``times`` stored, released, planned for ``day``
    and submitted; answers its ``planned`` order ids and those ``submitted``,
    as JOC's ``daily_plan/orders`` lists them."""
    await client.post("inventory/store", calendar_request())
    await client.post("inventory/store", schedule_request(name, workflow_path, times))
    paths = ((f"/{EVERY_DAY}", "WORKINGDAYSCALENDAR"), (f"/{name}", "SCHEDULE"))
    await client.post("inventory/release", release_request(*paths))
    await client.post("daily_plan/orders/generate", generate_request(day, name))
    listed = await client.post(
        "daily_plan/orders", {"dailyPlanDateFrom": day, "schedulePaths": [f"/{name}"]}
    )
    items = listed["plannedOrderItems"]
    return {
        "planned": [i["orderId"] for i in items],
        "submitted": [i["orderId"] for i in items if i["submitted"]],
    }


# -- bounds ------------------------------------------------------------------


def bound(dep: Deployment, guarantee: str) -> float:
    """The profile's bound for a guarantee (one owner: harness.profiles)."""
    return dep.profile.bound(guarantee)


# -- order workload through the JOC API ----------------------------------------


async def add_orders(
    history: History,
    client: JocClient,
    workflow_path: str,
    ids: list[str],
    *,
    rate: float | None = None,
    concurrency: int = 4,
    scheduled_for: Any = None,
) -> None:
    """``orders/add`` one order per request (so each id has its own outcome),
    recorded as ``add`` operations: ok when JOC answered the ids, fail on a
    problem, info when the answer was lost."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in ids:
        queue.put_nowait(i)
    t0 = asyncio.get_running_loop().time()
    sent = 0

    async def worker(p: int) -> None:
        nonlocal sent
        while not queue.empty():
            oid = queue.get_nowait()
            if rate:
                due = t0 + sent / rate
                sent += 1
                delay = due - asyncio.get_running_loop().time()
                if delay > 0:
                    await asyncio.sleep(delay)
            order: dict[str, Any] = {
                "orderName": "t",
                "orderId": oid,
                "workflowPath": workflow_path,
            }
            if scheduled_for is not None:
                order["scheduledFor"] = scheduled_for
            # JOC's error answer is fail or info by the clients' one table.
            async with history.op(f"add-{p}", "add", oid) as op:
                r = await client.post("orders/add", {"orders": [order]})
                if oid not in r.get("orderIds", []):
                    raise OpFailed("not added")
                op.node = client.node

    await asyncio.gather(*(worker(p) for p in range(concurrency)))


async def add_orders_bulk(
    client: JocClient,
    workflow_path: str,
    ids: list[str],
    scheduled_for: Any = None,
    chunk: int = 500,
) -> None:
    """Many orders in few requests (set-up, not recorded)."""
    for k in range(0, len(ids), chunk):
        orders = [
            {
                "orderId": oid,
                "workflowPath": workflow_path,
                **({"scheduledFor": scheduled_for} if scheduled_for is not None else {}),
            }
            for oid in ids[k : k + chunk]
        ]
        await client.post("orders/add", {"orders": orders})


def joc_time(iso: str) -> float:
    """A JOC timestamp (``startTime``, ``endTime``, …: ISO 8601 in UTC) as
    epoch seconds, comparable with the harness's ``time.time()``."""
    return dt.datetime.fromisoformat(iso).timestamp()


# Order ids per ``orders/history`` call: a call naming tens of thousands of
# ids (a long js7-documented load) outlasts JOC's database timeout
# (``DatabaseUnavailable``); a row has one order id, so chunks keep duplicates.
HISTORY_IDS_PER_CALL = 1000


async def history_orders(client: JocClient, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Every History row (of ``ids``, when given), duplicates kept."""
    if ids is None:
        return list((await client.post("orders/history", {"limit": 1_000_000}))["history"])
    rows: list[dict[str, Any]] = []
    for k in range(0, len(ids), HISTORY_IDS_PER_CALL):
        body = {"limit": 1_000_000, "orderIds": ids[k : k + HISTORY_IDS_PER_CALL]}
        rows.extend((await client.post("orders/history", body))["history"])
    return rows


async def wait_history_terminated(
    dep: Deployment, client: JocClient, ids: list[str], deadline: float | None = None
) -> list[dict[str, Any]]:
    """Until every id has a terminated history row, or the deadline; the rows
    then. It never raises for a missing row: the suite's final read and
    ``no_loss`` say an order is lost, not a timeout. A JOC that answers the
    read with an error (``DatabaseUnavailable``, say) until the deadline
    leaves no evidence: ``DeadlineExceeded`` naming its answer (unknown)."""
    want = set(ids)

    async def probe() -> list[dict[str, Any]] | JocProblem:
        try:
            return await history_orders(client, ids)
        except JocProblem as problem:
            return problem

    def done(rows: list[dict[str, Any]] | JocProblem) -> bool:
        if isinstance(rows, JocProblem):
            return False
        return want <= {r["orderId"] for r in rows if r["endTime"] is not None}

    last: list[dict[str, Any]] | JocProblem | None = None
    with contextlib.suppress(DeadlineExceeded):
        last = await dep.wait_for(
            f"history of {len(want)} orders", probe, accept=done, deadline=deadline
        )
    if last is None:
        last = await probe()
    if isinstance(last, JocProblem):
        raise DeadlineExceeded(
            f"history of {len(want)} orders: JOC answered {last} until the deadline"
        ) from last
    return last


async def final_read(history: History, client: JocClient, ids: list[str]) -> list[str]:
    """The ``read`` operation ``no_loss`` needs: every history row's order id
    (duplicates kept, so a duplicate row shows)."""
    async with history.op("reader", "read") as op:
        rows = await history_orders(client, ids)
        value = [r["orderId"] for r in rows if r["orderState"]["_text"] == "FINISHED"]
        op.ok(value, node=client.node)
    return value


async def order_output(client: JocClient, history_id: int) -> tuple[dict[str, Any], str]:
    """An order's log (JOC's ``order/log``: its history events) and the
    output of its job steps (``task/log`` of each ``OrderProcessingStarted``'s
    ``taskId``), as a user of JOC reads them."""
    log = await client.post("order/log", {"historyId": history_id})
    tasks = [e["taskId"] for e in log["logEvents"] if e["logEvent"] == "OrderProcessingStarted"]
    texts = [await client.post_text("task/log", {"taskId": t}) for t in tasks]
    return log, "".join(texts)
