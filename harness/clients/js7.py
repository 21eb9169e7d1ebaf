"""The harness's clients for Controller and Agent nodes, and the credentials
the specs write into the nodes' ``private.conf``.

The harness reaches nodes directly (``dep.url(node)``), outside every
partition, so it can always ask each node what it thinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from harness.clients.node import Js7Client, ProblemError
from harness.clients.snapshot import ControllerSnapshot, order_status, read_snapshot
from harness.deployment import Deployment
from harness.errors import DeadlineExceeded
from harness.history import History
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
    # How a Cluster Watch (JS7's standalone one, or JOC) reads a Controller
    # cluster's requests.
    "ClusterWatch": "cluster-watch-secret",
    # How a Director Agent logs into its Subagents (as its own SubagentId).
    "Director": "director-secret",
}


def users_conf(*users: str, permissions: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """``js7.auth.users`` for ``users``, with JS7's ``permissions`` where given."""
    granted = permissions or {}
    return {
        u: {"password": f"plain:{PASSWORDS[u]}", "permissions": granted[u]}
        if u in granted
        else f"plain:{PASSWORDS[u]}"
        for u in users
    }


def controller_client(dep: Deployment, node: str, user: str = "Harness") -> Js7Client:
    return Js7Client(dep.http, dep.url(node), "/controller/api", user, PASSWORDS[user])


def agent_client(dep: Deployment, node: str, user: str = "Harness") -> Js7Client:
    return Js7Client(dep.http, dep.url(node), "/agent/api", user, PASSWORDS[user])


def add_order(oid: str, workflow_path: str, **fields: Any) -> dict[str, Any]:
    """JS7's ``AddOrder`` command: the order is a ``FreshOrder`` object (its
    optional fields: ``arguments``, ``scheduledFor`` in epoch ms,
    ``deleteWhenTerminated``, …)."""
    return {"TYPE": "AddOrder", "order": {"id": oid, "workflowPath": workflow_path, **fields}}


# JS7's test signature (SillySigner.Default): what the reference Controller
# trusts by default. A real Controller needs it configured as a trusted key.
SILLY_SIGNATURE = {"TYPE": "Silly", "signatureString": "SILLY-SIGNATURE"}


def item_operations(*workflows: dict[str, Any]) -> list[dict[str, Any]]:
    """JS7's ``ItemOperation``s adding ``workflows`` (all of one versionId):
    ``AddVersion``, then each workflow as a Silly-signed ``AddOrChangeSigned``."""
    versions = {w.get("versionId", "1") for w in workflows}
    if len(versions) != 1:
        raise ValueError(f"one version per deployment, not {sorted(versions)}")
    return [
        {"TYPE": "AddVersion", "versionId": versions.pop()},
        *(
            {
                "TYPE": "AddOrChangeSigned",
                "signedString": {
                    "string": json.dumps(w, separators=(",", ":")),
                    "signature": SILLY_SIGNATURE,
                },
            }
            for w in workflows
        ),
    ]


async def deploy_workflow(ctl: Js7Client, *workflows: dict[str, Any]) -> None:
    """Add ``workflows`` through JS7's ``POST /controller/api/item``."""
    await ctl.post_items(item_operations(*workflows))


async def order_events(ctl: Js7Client, oid: str) -> list[dict[str, Any]]:
    return [e for e in await read_all_events(ctl) if e.get("Key") == oid]


async def wait_order_state(
    dep: Deployment,
    oid: str,
    statuses: tuple[str, ...],
    deadline: float | None = None,
    node: str = "controller",
) -> dict[str, Any]:
    """Until the order's status (JS7's spelling: ``Finished``, ``Attached``,
    …) is one of ``statuses``; its ``Order`` JSON."""
    ctl = controller_client(dep, node)

    async def order() -> dict[str, Any]:
        return (await read_snapshot(ctl)).orders.get(oid) or {}

    result: dict[str, Any] = await dep.wait_for(
        f"order {oid} in {statuses}",
        order,
        accept=lambda o: bool(o) and order_status(o) in statuses,
        deadline=deadline,
    )
    return result


async def wait_all_orders(
    dep: Deployment,
    ids: list[str],
    status: str = "Finished",
    *,
    deadline: float | None = None,
    node: str = "controller",
) -> set[str]:
    """Until every order of ``ids`` has ``status``, or the deadline; the ids
    that have not. It never raises for them: an order that did not finish is
    for the suite's final read and ``no_loss`` to call lost, not a timeout."""
    ctl = controller_client(dep, node)
    want = set(ids)

    async def done() -> set[str]:
        return want & (await read_snapshot(ctl)).ids_in(status)

    with contextlib.suppress(DeadlineExceeded):
        await dep.wait_for(
            f"{len(want)} orders {status}", done, accept=lambda got: got == want, deadline=deadline
        )
        return set()
    return want - await done()


async def wait_coupled(dep: Deployment, node: str = "controller") -> ControllerSnapshot:
    """Until the Controller is coupled with every Agent it knows (JS7's
    ``AgentRefState``s in its snapshot)."""
    ctl = controller_client(dep, node)
    snap: ControllerSnapshot = await dep.wait_for(
        "all Agents coupled",
        lambda: read_snapshot(ctl),
        accept=lambda s: bool(s.agents) and all(s.coupled(a) for a in s.agents),
    )
    return snap


async def torn_event_id(client: Js7Client) -> int:
    """The EventId before the oldest event a node still serves (0: it
    released none), by JS7's public event API: asked for the events after 0,
    a node that deleted some answers ``EventSeqTorn`` with the
    ``tornEventId`` argument (``<id>/<timestamp>``)."""
    try:
        [_ async for _ in client.events(0, timeout=0, limit=1)]
    except ProblemError as exc:
        if exc.code != "EventSeqTorn":
            raise
        return int(str(exc.body["arguments"]["tornEventId"]).split("/", 1)[0])
    return 0


def journal_bytes(dep: Deployment, node: str) -> int:
    """What the node's journal takes on disk (its data dir's ``state/``), as
    the harness sees the files itself."""
    state = dep.backend.data_dir(node) / "state"
    return sum(f.stat().st_size for f in state.iterdir() if f.is_file())


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["TYPE"] for e in events]


def claims_active(cluster_node_state: dict[str, Any]) -> bool:
    """JS7's ``ClusterState.isActive(nodeId, isBackup)`` over a node's
    ``GET …/cluster?return=ClusterNodeState``: the state names the node
    ``activeId``; a node of an ``Empty`` cluster is active unless a backup."""
    state = cluster_node_state.get("clusterState") or {}
    if state.get("TYPE") == "Empty":
        return not cluster_node_state.get("isBackup", False)
    return bool((state.get("setting") or {}).get("activeId") == cluster_node_state.get("nodeId"))


class ClusterClient:
    """Talks to whichever Controller node acts as the active one — found, as
    JS7's clients do, by asking every node ``GET /controller/api/cluster``
    (see ``_state``).

    ``timeout``: per request (default: the profile's op_timeout). A node's
    claim to be active is backed by its lease, so the first node that claims
    it is taken without waiting for a silent (paused, cut-off) other node.
    ``prefix``: ``/agent/api`` for a Director pair (the same cluster API)."""

    def __init__(
        self,
        dep: Deployment,
        nodes: tuple[str, ...] = ("primary", "backup"),
        user: str = "Harness",
        timeout: float | None = None,
        prefix: str = "/controller/api",
    ) -> None:
        self.dep = dep
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout or dep.profile.op_timeout)
        )
        dep.on_close(self.aclose)
        self.clients = {
            n: Js7Client(self._http, dep.url(n), prefix, user, PASSWORDS[user]) for n in nodes
        }
        self.current: str | None = None

    async def aclose(self) -> None:
        await self._http.close()

    async def _state(self, n: str) -> dict[str, Any] | None:
        """What node ``n`` says, through JS7's public API only: its
        ``ClusterNodeState`` and — when that names it the active node — whether
        it acts as one (accepts a ``NoOperation``; a passive, or an active no
        longer sure of its role, refuses with ``ClusterNodeIsNotActive``).
        ``{"TYPE", "isActive", "role", "nodeId", "clusterNodeState"}``; None
        when the node does not answer."""
        client = self.clients[n]
        try:
            cns: dict[str, Any] = await client.get("/cluster?return=ClusterNodeState")
            acts = False
            if claims_active(cns):
                try:
                    await client.command({"TYPE": "NoOperation"})
                    acts = True
                except ProblemError as exc:
                    if exc.code != "ClusterNodeIsNotActive":
                        raise
        except (ProblemError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        claims = claims_active(cns)
        return {
            "TYPE": (cns.get("clusterState") or {}).get("TYPE"),
            "isActive": acts,
            # passive: its state names the other node active; not-sure: it
            # believes itself active but refuses to act (its lease ran out).
            "role": "active" if acts else ("not-sure" if claims else "passive"),
            "nodeId": cns.get("nodeId"),
            "clusterNodeState": cns,
        }

    async def states(self) -> dict[str, dict[str, Any] | None]:
        answers = await asyncio.gather(*(self._state(n) for n in self.clients))
        return dict(zip(self.clients, answers, strict=True))

    async def find_active(self) -> str | None:
        async def probe(n: str) -> tuple[str, dict[str, Any] | None]:
            return n, await self._state(n)

        tasks = [asyncio.ensure_future(probe(n)) for n in self.clients]
        try:
            for fut in asyncio.as_completed(tasks):
                node, state = await fut
                if state and state.get("isActive"):
                    self.current = node
                    return node
        finally:
            for t in tasks:
                t.cancel()
        self.current = None
        return None

    async def command(self, cmd: dict[str, Any]) -> tuple[str, Any]:
        """Send to the active node; rediscover it once if the cached one is not."""
        return await self.on_active(lambda c: c.command(cmd))

    async def deploy(self, *workflows: dict[str, Any]) -> tuple[str, Any]:
        """``POST /controller/api/item`` with ``workflows`` to the active node."""
        ops = item_operations(*workflows)
        return await self.on_active(lambda c: c.post_items(ops))

    async def on_active(self, call: Callable[[Js7Client], Awaitable[Any]]) -> tuple[str, Any]:
        for attempt in (1, 2):
            node = self.current or await self.find_active()
            if node is None:
                raise ProblemError(503, "NoActiveClusterNode", "no node says it is active", {})
            try:
                return node, await call(self.clients[node])
            except ProblemError as exc:
                if exc.code != "ClusterNodeIsNotActive" or attempt == 2:
                    raise
                self.current = None
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.current = None  # ask again next time: it may have been replaced
                raise
        raise AssertionError("unreachable")

    def client(self, node: str) -> Js7Client:
        return self.clients[node]


async def observe_active(
    history: History,
    client: ClusterClient,
    stop: asyncio.Event,
    interval: float,
    role: str = "controller",
) -> int:
    """Sample every node's own claim to be active until ``stop``; each sample
    is an ``observe-active`` op for ``single_active``. Returns the rounds."""
    rounds = 0
    while not stop.is_set():
        for node, state in (await client.states()).items():
            op = history.invoke("observer", "observe-active", {"role": role, "node": node})
            op.node = node
            if state is None:
                op.info("unreachable")
            else:
                op.ok({"role": role, "node": node, "active": bool(state.get("isActive"))})
        rounds += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return rounds


async def ensure_coupled(dep: Deployment, client: ClusterClient) -> None:
    """At once when every node reports ``Coupled``; else ``wait_cluster``.
    For a fault meant to land on a coupled pair without moving the instant
    it lands when the pair is coupled already (a fault a heartbeat later
    found no commit of ``ctl-ack-when-sent`` in flight to lose)."""
    states = await client.states()
    if not all((s or {}).get("TYPE") == "Coupled" for s in states.values()):
        await wait_cluster(dep, client)


async def wait_cluster(
    dep: Deployment,
    client: ClusterClient,
    types: tuple[str, ...] = ("Coupled",),
    deadline: float | None = None,
) -> dict[str, dict[str, Any] | None]:
    """Until every node reports one of ``types`` and exactly one is active,
    and has for one cluster heartbeat.

    Why the heartbeat: a fail-over needs the Cluster Watch to know the state,
    and JS7's active node teaches its Watch the state at each cluster event
    and again every ``setting.timing.heartbeat`` (ClusterWatchSynchronizer).
    A state held that long is one the Watch has been told — seen through
    JS7's public ``ClusterState`` alone, not by asking the Watch."""
    steady_since: float | None = None

    def ok(states: dict[str, dict[str, Any] | None]) -> bool:
        nonlocal steady_since
        answers = list(states.values())
        if not (
            all(s and s.get("TYPE") in types for s in answers)
            and sum(bool(s and s.get("isActive")) for s in answers) == 1
        ):
            steady_since = None
            return False
        now = time.monotonic()
        steady_since = steady_since if steady_since is not None else now
        return now - steady_since >= max(_heartbeat(s) for s in answers)

    states: dict[str, dict[str, Any] | None] = await dep.wait_for(
        f"cluster {types} for a heartbeat", client.states, accept=ok, deadline=deadline
    )
    return states


def _heartbeat(state: dict[str, Any] | None) -> float:
    """The cluster's heartbeat (seconds) in a node's ``ClusterNodeState``."""
    setting = ((state or {}).get("clusterNodeState") or {}).get("clusterState", {}).get("setting")
    return float(((setting or {}).get("timing") or {}).get("heartbeat", 0))
