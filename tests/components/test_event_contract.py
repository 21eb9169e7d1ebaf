"""Every event the reference writes decodes as JS7's: a scenario that makes
the Controller cluster and an Agent write every kind of event they have, then
each journal line — envelope stripped — is decoded strictly (no unknown TYPE,
no unknown field, every required field) with ``components/wire/events.py``,
whose shapes ``test_wire_contract.py`` checks against JS7's codec tests.

A private TYPE such as the former ``ItemAdded`` or ``ControllerStateChanged``
fails here, naming the event."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from typing import Any

import msgspec
import pytest

from components.controller import subagent_states
from components.wire import events as ev
from components.wire import snapshot as sn
from harness import faults
from harness.clients.js7 import (
    ClusterClient,
    add_order,
    agent_client,
    controller_client,
    deploy_workflow,
    item_operations,
    order_events,
    types,
    wait_cluster,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.clients.snapshot import read_snapshot
from harness.js7topo import (
    agent_cluster,
    agent_with_subagents,
    backup_director,
    block,
    bundle_job,
    controller_cluster,
    internal_workflow,
    local_subagent_id,
    shell_job,
    shell_workflow,
    subagent_cluster_items,
    workflow,
)
from harness.topology import Node, Topology
from harness.workload import read_all_events

# What the scenario below must make them write (or the test proves little).
CONTROLLER_TYPES = {
    "ControllerInitialized",
    "ControllerReady",
    "ClusterNodesAppointed",
    "ClusterCouplingPrepared",
    "ClusterCoupled",
    "ClusterSwitchedOver",
    "ClusterWatchRegistered",
    "VersionAdded",
    "VersionedItemAdded",
    "VersionedItemChanged",
    "AgentDedicated",
    "OrderAdded",
    "OrderAttachable",
    "OrderAttached",
    "OrderStarted",
    "OrderProcessingStarted",
    "OrderStdoutWritten",
    "OrderProcessed",
    "OrderMoved",
    "OrderDetachable",
    "OrderDetached",
    "OrderFinished",
    "OrderFailed",
    "OrderCancellationMarked",
    "OrderCancellationMarkedOnAgent",
    "OrderCancelled",
    "OrderSuspensionMarked",
    "OrderSuspensionMarkedOnAgent",
    "OrderSuspended",
    "OrderResumptionMarked",
    "OrderResumed",
    "OrderDeleted",
    "OrderOutcomeAdded",
    "OrderCaught",
    "OrderRetrying",
    "OrderAwoke",
    "OrderSleeping",
    "OrderPrompted",
    "OrderPromptAnswered",
    "OrderForked",
    "OrderJoined",
    "OrderFailedInFork",
    "OrderLocksAcquired",
    "OrderLocksQueued",
    "OrderLocksReleased",
    "UnsignedSimpleItemAdded",
    "SnapshotTaken",
}
AGENT_TYPES = {
    "AgentDedicated",
    "SignedItemAttachedToMe",
    "OrderAttachedToAgent",
    "OrderProcessed",
    "OrderOutcomeAdded",
    "OrderCaught",
    "OrderRetrying",
    "OrderAwoke",
    "OrderSleeping",
}
# The instructions' events (components/common/instructions.py): a Retry after
# a delay that ends failed, sleeps at the Controller and on the Agent, a Prompt
# and a Finish with its outcome.
RETRY = workflow(
    "retry",
    shell_job("agent-1", "echo on"),
    {
        "TYPE": "Try",
        "try": block({"TYPE": "Fail", "message": "'again'"}),
        "catch": block({"TYPE": "Retry"}),
        "retryDelays": [0.1],
        "maxTries": 2,
    },
)
NAP = workflow(
    "nap",
    {"TYPE": "Sleep", "duration": "0.1"},
    shell_job("agent-1", "echo on"),
    {"TYPE": "Sleep", "duration": "0.1"},
    {"TYPE": "Prompt", "question": "'go on?'"},
    {"TYPE": "Finish", "outcome": {"TYPE": "Succeeded", "namedValues": {"x": 1}}},
)

# A Fork whose failing branch is joined (joinIfFailed) while the other runs.
FORK = workflow(
    "fork",
    {
        "TYPE": "Fork",
        "branches": [
            {"id": "slow", "workflow": block(shell_job("agent-1", "sleep 1"))},
            {"id": "bad", "workflow": block({"TYPE": "Fail", "message": "'bad'"})},
        ],
        "joinIfFailed": True,
    },
)

# A Lock held by one order while a second queues for it.
LOCKED = workflow(
    "locked",
    {
        "TYPE": "Lock",
        "demands": [{"lockPath": "X"}],
        "lockedWorkflow": block(shell_job("agent-1", "sleep 1")),
    },
)


def undecodable(events: list[dict[str, Any]], union: Any) -> list[tuple[dict[str, Any], str]]:
    bad = []
    for e in events:
        try:
            msgspec.json.decode(json.dumps(ev.event_body(e)), type=union)
        except msgspec.ValidationError as exc:
            bad.append((e, str(exc)))
    return bad


async def test_every_event_the_reference_writes_is_js7s(deploy):
    base = controller_cluster(1)
    # The Agent keeps its events until the harness releases them too (never),
    # so they can all be read at the end.
    held = Node("agent-1", "agent", {"release_users": ["Controller", "Harness"]})
    topo = Topology(tuple(held if n.name == "agent-1" else n for n in base.nodes), base.links)
    dep = await deploy(topo)
    client = ClusterClient(dep)
    await wait_cluster(dep, client)
    # The Watch that answered registered (ClusterWatchRegistered): the
    # cluster setting names it, on both nodes (JS7's ClusterSetting).
    for node in ("primary", "backup"):
        await dep.wait_for(
            f"{node}'s cluster setting names the Watch",
            lambda n=node: controller_client(dep, n).get("/cluster"),
            accept=lambda st: st.get("setting", {}).get("clusterWatchId") == "watch",
        )
    await client.deploy(
        shell_workflow("w", ("agent-1", "echo one"), ("agent-1", "echo two")),
        internal_workflow("fail", ("agent-1", "js7ha.Fail")),
        shell_workflow("slow", ("agent-1", "sleep 30")),
        RETRY,
        NAP,
        FORK,
    )
    await client.deploy(shell_workflow("w", ("agent-1", "echo v2"), version="2"))
    lock = {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "X", "limit": 1}}
    await client.on_active(lambda c: c.post_items([lock, *item_operations(LOCKED)]))

    async def events(after: int = 0) -> list[dict[str, Any]]:
        node = await client.find_active()
        assert node is not None
        return await read_all_events(client.client(node), after=after)

    def of(es: list[dict[str, Any]], oid: str) -> list[str]:
        return types([e for e in es if e.get("Key") == oid])

    async def wait_event(oid: str, kind: str) -> None:
        await dep.wait_for(f"{oid}: {kind}", events, accept=lambda es: kind in of(es, oid))

    await client.command(add_order("ok", "w", arguments={"x": 1}))
    await client.command(add_order("f", "fail"))
    await client.command(add_order("d", "w", deleteWhenTerminated=True))
    await client.command(add_order("s", "slow"))
    await client.command(add_order("r", "retry"))
    await client.command(add_order("n", "nap"))
    await client.command(add_order("k", "fork"))
    await client.command(add_order("l1", "locked"))
    await client.command(add_order("l2", "locked"))
    await wait_event("k|bad", "OrderFailedInFork")
    # JS7's Forked parent and its children (with their parent) in the snapshot.
    forked = {o["id"]: o for o in await strict_snapshot(client) if o.get("TYPE") == "Order"}
    assert forked["k"]["state"]["TYPE"] == "Forked"
    assert forked["k|bad"]["state"] == {"TYPE": "FailedInFork"}
    assert forked["k|slow"]["parent"] == "k"
    await wait_event("s", "OrderProcessingStarted")
    kill = {"TYPE": "FreshOrStarted", "kill": {"immediately": True}}
    await client.command({"TYPE": "CancelOrders", "orderIds": ["s"], "mode": kill})
    later = int(time.time() * 1000) + 600_000
    await client.command(add_order("p", "w", scheduledFor=later))
    await wait_event("p", "OrderAttached")
    await client.command({"TYPE": "SuspendOrders", "orderIds": ["p"]})
    await wait_event("p", "OrderSuspended")
    await client.command({"TYPE": "ResumeOrders", "orderIds": ["p"]})
    await wait_event("p", "OrderResumed")
    await client.command({"TYPE": "CancelOrders", "orderIds": ["p"]})
    await wait_event("n", "OrderPrompted")
    # JS7's Prompting state, and the step's outcome, in the snapshot.
    (prompting,) = [o for o in await strict_snapshot(client) if o.get("id") == "n"]
    assert prompting["state"] == {"TYPE": "Prompting", "question": "go on?"}
    assert prompting["historicOutcomes"][0]["position"] == [1]
    await client.command({"TYPE": "AnswerOrderPrompt", "orderId": "n"})
    for oid, kind in [
        ("r", "OrderFailed"),
        ("n", "OrderFinished"),
        ("k", "OrderFailed"),
        ("l2", "OrderFinished"),
        ("ok", "OrderFinished"),
        ("f", "OrderFailed"),
        ("d", "OrderDeleted"),
        ("s", "OrderCancelled"),
        ("p", "OrderCancelled"),
    ]:
        await wait_event(oid, kind)
    await client.command({"TYPE": "TakeSnapshot"})
    await check_snapshot(client)
    before_switch = await events()
    await client.command({"TYPE": "ClusterSwitchOver"})
    await wait_cluster(dep, client)
    # The new active's journal may begin where it joined: read on from there.
    controller_events = before_switch + await events(before_switch[-1]["eventId"])
    agent_events = await read_all_events(agent_client(dep, "agent-1", user="Controller"))
    assert undecodable(controller_events, ev.ControllerEvent) == []
    assert undecodable(agent_events, ev.AgentEvent) == []
    seen_controller = set(types(controller_events))
    seen_agent = set(types(agent_events))
    assert CONTROLLER_TYPES - seen_controller == set(), Counter(types(controller_events))
    assert AGENT_TYPES - seen_agent == set(), Counter(types(agent_events))


async def strict_snapshot(client: ClusterClient) -> list[dict[str, Any]]:
    """JS7's ``GET /controller/api/snapshot/``: every object is one of
    ``components/wire/snapshot.py``'s and is written exactly as it reads
    (nothing the structs do not know)."""
    _, objects = await client.on_active(lambda c: c.get_ndjson("/snapshot/"))
    return strict_objects(objects)


def strict_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    odd = []
    for obj in objects:
        try:
            back = msgspec.to_builtins(msgspec.json.decode(json.dumps(obj), type=sn.SnapshotObject))
        except msgspec.ValidationError as exc:
            odd.append((obj, str(exc)))
            continue
        if back != obj:
            odd.append((obj, f"written back as {back}"))
    assert odd == []
    return list(objects)


async def check_snapshot(client: ClusterClient) -> None:
    """The snapshot at the end: the orders in JS7's terminal states."""
    objects = await strict_snapshot(client)
    assert objects[0]["TYPE"] == "SnapshotEventId"
    kinds = set(types(objects))
    assert {"ClusterStateSnapshot", "AgentRefState", "VersionAdded", "Order"} <= kinds, kinds
    states = {o["id"]: o["state"]["TYPE"] for o in objects if o["TYPE"] == "Order"}
    assert states == {
        "ok": "Finished",
        "f": "Failed",
        "s": "Cancelled",
        "p": "Cancelled",
        "r": "Failed",
        "n": "Finished",
        "k": "Failed",
        "l1": "Finished",
        "l2": "Finished",
    }
    with pytest.raises(ProblemError) as refused:
        await client.on_active(lambda c: c.get_ndjson("/snapshot/?eventId=1"))
    assert refused.value.code == "SnapshotForUnknownEventId"
    assert refused.value.body["arguments"]["eventId"] == "1"


def test_the_decoding_refuses_what_js7_would_refuse():
    """The shapes this reference once wrote, and JS7 rejects."""
    stamped = {"eventId": 1, "timestamp": 1, "Key": "o"}
    old = [
        {**stamped, "TYPE": "ItemAdded", "item": {}},
        {**stamped, "TYPE": "ControllerStateChanged"},
        {**stamped, "TYPE": "OrderFailed", "outcome": {"TYPE": "Failed"}},
        {**stamped, "TYPE": "ControllerReady"},
        {**stamped, "TYPE": "OrderStarted", "extra": 1},
    ]
    assert [e["TYPE"] for e, _ in undecodable(old, ev.ControllerEvent)] == types(old)
    attached = {
        **stamped,
        "TYPE": "OrderAttachedToAgent",
        "workflowPosition": {"workflowId": {"path": "w", "versionId": "1"}, "position": [0]},
        "state": {"TYPE": "Fresh"},
    }
    assert len(undecodable([attached], ev.AgentEvent)) == 1  # no agentPath
    assert undecodable([{**attached, "agentPath": "a"}], ev.AgentEvent) == []


# A Subagent cluster's events: items added and attached, Subagents dedicated,
# coupled, cut off, reset, restarted and shut down.
SUBAGENT_ITEM_STATE_TYPES = subagent_states.EVENTS - {"SubagentResetStartedByController"}


async def test_every_event_of_a_subagent_cluster_is_js7s(deploy):
    held = ["Controller", "Harness"]  # nobody releases for the Harness: all kept
    dep = await deploy(
        agent_with_subagents(
            2,
            agent_config={"release_users": held},
            subagent_config={"release_users": [local_subagent_id("agent-1"), "Harness"]},
        )
    )
    first, second = "subagent-1", "subagent-2"
    ctl = controller_client(dep, "controller")
    uris = {s: f"http://{dep.backend.link_address(f'agent-1--{s}')}" for s in (first, second)}
    await ctl.post_items(subagent_cluster_items(dep.url("agent-1"), uris, {first: 2, second: 1}))

    async def subagents(accept):
        await dep.wait_for("Subagent states", lambda: read_snapshot(ctl), accept=accept)

    both = lambda s: s.subagent_coupled(first) and s.subagent_coupled(second)  # noqa: E731
    await subagents(both)
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", "echo out; sleep 3")))
    await ctl.command(add_order("a", "w"))
    await wait_order_state(dep, "a", ("Finished",))
    async with faults.partition(dep, [f"agent-1--{second}"]):
        await subagents(lambda s: not s.subagent_coupled(second))
        await ctl.command({"TYPE": "ResetSubagent", "subagentId": second})
        await subagents(lambda s: s.subagents[second]["couplingState"]["TYPE"] == "Reset")
    await subagents(both)
    async with faults.kill(dep, second):
        await subagents(lambda s: not s.subagent_coupled(second))
    await subagents(both)
    await ctl.command(add_order("b", "w"))
    await dep.wait_for(
        "b processing",
        lambda: order_events(ctl, "b"),
        accept=lambda es: "OrderStdoutWritten" in types(es),
    )
    await dep.backend.stop(first)  # an orderly shutdown: b runs again on the second
    await wait_order_state(dep, "b", ("Finished",))
    controller_events = await read_all_events(ctl)
    agent_events = await read_all_events(agent_client(dep, "agent-1", user="Controller"))
    # The stopped Subagent's journal (it is removed only when it starts again).
    path = dep.backend.data_dir(first) / "state" / "subagent.journal.sqlite"
    with sqlite3.connect(path) as db:
        subagent_events = [json.loads(line) for (line,) in db.execute("SELECT line FROM events")]
    assert undecodable(controller_events, ev.ControllerEvent) == []
    assert undecodable(agent_events, ev.AgentEvent) == []
    assert undecodable(subagent_events, ev.SubagentEvent) == []
    wanted = SUBAGENT_ITEM_STATE_TYPES | {"UnsignedSimpleItemAdded"}
    assert wanted | {"SubagentResetStartedByController"} <= set(types(controller_events))
    assert SUBAGENT_ITEM_STATE_TYPES | {"ItemAttachedToMe"} <= set(types(agent_events))
    assert {
        "OrderStdoutWritten",
        "OrderProcessed",
        "SubagentShutdownStarted",
        "SubagentShutdown",
    } <= set(types(subagent_events))
    # JS7's snapshot shows the items and the Subagents' states.
    objects = strict_objects(await ctl.get_ndjson("/snapshot/"))
    assert {"SubagentItemState", "SubagentBundle"} <= {o["TYPE"] for o in objects}


DIRECTOR_CLUSTER_TYPES = {
    "ClusterNodesAppointed",
    "ClusterCouplingPrepared",
    "ClusterCoupled",
    "ClusterWatchRegistered",
    "ClusterSwitchedOver",
}


async def test_every_event_of_a_director_pair_is_js7s(deploy):
    """A Director pair journals JS7's ClusterEvents next to its orders'
    (ClusterEventTest.scala): coupled, switched over and coupled again, each
    Director's journal decodes strictly as an Agent's, and the Controller
    mirrors the pair's cluster events as ``AgentMirroredEvent``."""
    agent, backup = "agent-1", backup_director("agent-1")
    held = ["Controller", "Harness"]  # nobody releases for the Harness: all kept
    dep = await deploy(agent_cluster(2, 1, agent_config={"release_users": held}))
    ctl = controller_client(dep, "controller")
    sub = "subagent-1"
    await ctl.post_items(
        subagent_cluster_items(
            f"http://{dep.backend.link_address(f'controller--{agent}')}",
            {sub: f"http://{dep.backend.link_address(f'{agent}--{sub}')}"},
            {sub: 1},
            backup_uri=f"http://{dep.backend.link_address(f'controller--{backup}')}",
        )
    )
    directors = ClusterClient(dep, nodes=(agent, backup), prefix="/agent/api")
    await wait_cluster(dep, directors)
    await ctl.command({"TYPE": "ClusterSwitchOver", "agentPath": agent})
    await dep.wait_for("the Backup Director active", directors.find_active, accept=backup.__eq__)
    await wait_cluster(dep, directors)
    await deploy_workflow(ctl, workflow("w", bundle_job(agent, "echo out")))
    await ctl.command(add_order("a", "w"))
    await wait_order_state(dep, "a", ("Finished",))
    journals = {}
    for node in (agent, backup):
        path = dep.backend.data_dir(node) / "state" / "agent.journal.sqlite"
        with sqlite3.connect(path) as db:
            journals[node] = [json.loads(line) for (line,) in db.execute("SELECT line FROM events")]
    for node, events in journals.items():
        assert undecodable(events, ev.AgentEvent) == [], node
        missing = DIRECTOR_CLUSTER_TYPES - set(types(events))
        assert missing == set(), (node, Counter(types(events)))
    controller_events = await read_all_events(ctl)
    assert undecodable(controller_events, ev.ControllerEvent) == []
    mirrored = {e["event"]["TYPE"] for e in controller_events if e["TYPE"] == "AgentMirroredEvent"}
    assert {"ClusterCoupled", "ClusterSwitchedOver"} <= mirrored, mirrored
