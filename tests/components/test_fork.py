"""JS7's Fork run by the reference Controller and Agents over their real
HTTP APIs: the parent's ``OrderForked``/``OrderJoined``, the children's ids,
positions and events, a failing branch, and a Controller killed while the
children run (js7-data/.../instructions/ForkExecutor.scala,
ForkInstructionExecutor.scala; order/OrderEventTest.scala:434-497)."""

import signal
from collections import Counter

from harness.clients.js7 import (
    add_order,
    controller_client,
    deploy_workflow,
    order_events,
    read_all_events,
    types,
    wait_order_state,
)
from harness.clients.snapshot import read_snapshot
from harness.js7topo import block, controller_and_agents, workflow
from harness.js7topo import shell_job as job


def fork(*branches, **fields):
    """JS7's Fork: ``branches`` of (id, block) (ForkTest.scala:44-86)."""
    return {
        "TYPE": "Fork",
        "branches": [{"id": bid, "workflow": wf} for bid, wf in branches],
        **fields,
    }


def stdout(evs):
    return "".join(e["chunk"] for e in evs if e["TYPE"] == "OrderStdoutWritten")


async def test_a_fork_of_two_branches_on_two_agents(deploy):
    """Each child runs its branch on its Agent; the parent waits Forked,
    is joined with the branches' results and goes on."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    forking = workflow(
        "forking",
        job("agent-1", "echo before"),
        fork(
            (
                "a",
                {
                    "instructions": [job("agent-1", "echo in-a"), job("agent-2", "echo a2")],
                    "result": {"aRc": "$returnCode"},
                },
            ),
            ("b", block(job("agent-2", "echo in-b; sleep 1"))),
        ),
        job("agent-1", "echo after"),
    )
    await deploy_workflow(ctl, forking)
    await ctl.command(add_order("p", "forking"))
    forked = await wait_order_state(dep, "p", ("Forked",))
    assert forked["state"] == {
        "TYPE": "Forked",
        "children": [{"orderId": "p|a", "branchId": "a"}, {"orderId": "p|b", "branchId": "b"}],
    }
    await wait_order_state(dep, "p", ("Finished", "Failed"))

    parent = await order_events(ctl, "p")
    kinds = types(parent)
    assert kinds[-1] == "OrderFinished"
    forked_ev = next(e for e in parent if e["TYPE"] == "OrderForked")
    assert forked_ev["children"] == [
        {"branchId": "a", "orderId": "p|a"},
        {"branchId": "b", "orderId": "p|b"},
    ]
    joined = next(e for e in parent if e["TYPE"] == "OrderJoined")
    assert joined["outcome"] == {"TYPE": "Succeeded", "namedValues": {"aRc": 0}}
    # Forked at the Controller: the parent detached from agent-1 first.
    assert kinds.index("OrderDetached") < kinds.index("OrderForked") < kinds.index("OrderJoined")
    assert [e["to"] for e in parent if e["TYPE"] == "OrderMoved"][-2:] == [[2], [3]]
    assert stdout(parent) == "before\nafter\n"

    a, b = await order_events(ctl, "p|a"), await order_events(ctl, "p|b")
    assert stdout(a) == "in-a\na2\n" and stdout(b) == "in-b\n"
    assert [e["agentPath"] for e in a if e["TYPE"] == "OrderAttached"] == ["agent-1", "agent-2"]
    assert [e["to"] for e in a if e["TYPE"] == "OrderMoved"] == [
        [1, "fork+a", 1],
        [1, "fork+a", 2],
    ]
    assert [e["agentPath"] for e in b if e["TYPE"] == "OrderAttached"] == ["agent-2"]
    # A child has no OrderAdded and never finishes: it leaves with the join.
    for child in (a, b):
        assert "OrderAdded" not in types(child) and "OrderFinished" not in types(child)
        assert types(child)[-2:] == ["OrderDetachable", "OrderDetached"]
    # The children's last events come before the join, which removes them.
    all_events = await read_all_events(ctl)
    at = {(e.get("Key"), e["TYPE"]): i for i, e in enumerate(all_events)}
    assert at["p|a", "OrderDetached"] < at["p", "OrderJoined"]
    assert at["p|b", "OrderDetached"] < at["p", "OrderJoined"]
    snapshot = await read_snapshot(ctl)
    assert "p|a" not in snapshot.orders and "p|b" not in snapshot.orders


async def test_a_failing_branch_fails_the_join(deploy):
    """``joinIfFailed``: the failed child is ``OrderFailedInFork`` and the
    join fails (caught by a Try around the Fork); without it the child stays
    ``Failed`` and its parent ``Forked``, as JS7 leaves them, until the
    child is cancelled."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    branches = (("ok", block(job("agent-1", "true"))), ("bad", block(job("agent-2", "exit 3"))))
    joining = workflow(
        "joining",
        {
            "TYPE": "Try",
            "try": block(fork(*branches, joinIfFailed=True)),
            "catch": block(job("agent-1", "echo caught")),
        },
    )
    failing = workflow("failing", fork(*branches, joinIfFailed=True))
    waiting = workflow("waiting", fork(*branches))
    await deploy_workflow(ctl, joining, failing, waiting)
    for oid, path in (("j", "joining"), ("f", "failing"), ("w", "waiting")):
        await ctl.command(add_order(oid, path))
    await wait_order_state(dep, "j", ("Finished", "Failed"))
    await wait_order_state(dep, "f", ("Finished", "Failed"))
    await wait_order_state(dep, "w|bad", ("Failed",))

    bad = await order_events(ctl, "j|bad")
    assert types(bad)[-3:] == ["OrderDetachable", "OrderDetached", "OrderFailedInFork"]
    assert bad[-1] == {**bad[-1], "movedTo": [0, "try+0", 0, "fork+bad", 0]}
    j = await order_events(ctl, "j")
    joined = next(e for e in j if e["TYPE"] == "OrderJoined")
    assert joined["outcome"] == {"TYPE": "Failed", "message": "j|bad Failed"}
    caught = next(e for e in j if e["TYPE"] == "OrderCaught")
    assert caught["movedTo"] == [0, "catch+0", 0]
    assert stdout(j) == "caught\n" and types(j)[-1] == "OrderFinished"

    f = await order_events(ctl, "f")
    assert types(f)[-2:] == ["OrderJoined", "OrderFailed"]
    assert f[-1]["movedTo"] == [0]

    snapshot = await read_snapshot(ctl)
    assert snapshot.orders["w"]["state"]["TYPE"] == "Forked"
    assert snapshot.orders["w|bad"]["state"] == {"TYPE": "Failed"}
    assert snapshot.orders["w|bad"]["parent"] == "w"
    assert snapshot.orders["w|ok"]["state"] == {"TYPE": "Ready"}
    assert types(await order_events(ctl, "w|bad"))[-1] == "OrderFailed"
    # Cancelled, the failed child is joinable: the join fails naming it.
    await ctl.command({"TYPE": "CancelOrders", "orderIds": ["w|bad"]})
    await wait_order_state(dep, "w", ("Failed",))
    w = await order_events(ctl, "w")
    joined = next(e for e in w if e["TYPE"] == "OrderJoined")
    assert joined["outcome"] == {"TYPE": "Failed", "message": "w|bad has been cancelled"}
    assert types(await order_events(ctl, "w|bad"))[-1] == "OrderCancelled"


async def test_a_fork_across_a_controller_sigkill_loses_and_doubles_no_child(deploy, tmp_path):
    """The Controller is killed while both children run on their Agents:
    after its restart each child's job has run once, the parent is joined
    once and goes on."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    ran = tmp_path / "ran"
    step = f"echo $JS7_ORDER_ID >> {ran}; sleep 2"
    await deploy_workflow(
        ctl,
        workflow(
            "forking",
            fork(("a", block(job("agent-1", step))), ("b", block(job("agent-2", step)))),
            job("agent-1", "echo after"),
        ),
    )
    await ctl.command(add_order("p", "forking"))

    async def running():
        return [
            e["Key"] for e in await read_all_events(ctl) if e["TYPE"] == "OrderProcessingStarted"
        ]

    await dep.wait_for("both children run", running, accept=lambda ks: {"p|a", "p|b"} <= set(ks))
    await dep.backend.kill("controller", signal.SIGKILL)
    await dep.backend.start("controller")
    await wait_order_state(dep, "p", ("Finished", "Failed"))

    assert sorted(ran.read_text().split()) == ["p|a", "p|b"]
    events = await read_all_events(ctl)
    count = Counter((e.get("Key"), e["TYPE"]) for e in events)
    assert count["p", "OrderForked"] == count["p", "OrderJoined"] == 1
    assert count["p|a", "OrderProcessed"] == count["p|b", "OrderProcessed"] == 1
    parent = await order_events(ctl, "p")
    assert types(parent)[-1] == "OrderFinished" and stdout(parent) == "after\n"
    assert set((await read_snapshot(ctl)).orders) == {"p"}
