"""JS7's Lock: the instruction's JSON, the Lock item, and orders taking
Locks exclusively and by count at the reference Controller, with JS7's
events (LockExecutor.scala, LockState.scala, OrderEventTest.scala:752-886)."""

import signal

import pytest

from components.common.instructions import apply, leave_lock_blocks, next_events
from components.common.position import Position
from components.common.web import Problem
from components.common.workflow import Lock, Workflow
from components.controller import locks
from harness.clients.js7 import (
    add_order,
    controller_client,
    item_operations,
    order_events,
    read_all_events,
    types,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.js7topo import block, controller_and_agents, shell_job, workflow

A = "agent-1"


def lock(*demands, inner=()):
    return {"TYPE": "Lock", "demands": list(demands), "lockedWorkflow": block(*inner)}


def wf(*instructions):
    return Workflow.from_json({"path": "w", "instructions": list(instructions)})


def order(position=(0,), **fields):
    return {"id": "o", "position": list(position), "arguments": {}, "started": True, **fields}


def test_the_stepper_acquires_queues_and_releases_at_the_controller_only():
    w = wf(lock({"lockPath": "L", "count": 2}, inner=[shell_job(A, "true")]), shell_job(A, "true"))
    assert [e["TYPE"] for e in next_events(w, order(), here=A, now=0).events] == ["OrderDetachable"]
    got = next_events(w, order(), here=None, now=0, locks=lambda oid, ins: True)
    assert got.events[:2] == [
        {"TYPE": "OrderLocksAcquired", "demands": [{"lockPath": "L", "count": 2}]},
        {"TYPE": "OrderAttachable", "agentPath": A},
    ]
    assert got.order["position"] == [0, "lock", 0]
    waiting = next_events(w, order(), here=None, now=0, locks=lambda oid, ins: False)
    assert (waiting.action, waiting.events) == (
        "lockwait",
        [{"TYPE": "OrderLocksQueued", "demands": [{"lockPath": "L", "count": 2}]}],
    )
    # Queued once: asked again, it waits without another event.
    again = next_events(w, waiting.order, here=None, now=0, locks=lambda oid, ins: False)
    assert (again.action, again.events) == ("lockwait", [])
    # The block's end: released at the Controller, on after the Lock.
    end = apply(order((0, "lock", 0)), {"TYPE": "OrderProcessed", "outcome": {"TYPE": "Succeeded"}})
    assert [e["TYPE"] for e in next_events(w, end, here=A, now=0).events] == [
        "OrderMoved",
        "OrderDetachable",
    ]
    done = next_events(w, order((0, "lock", 1)), here=None, now=0)
    assert done.events[0] == {"TYPE": "OrderLocksReleased", "lockPaths": ["L"]}
    assert done.order["position"][0] == 1
    # A count above the limit: the order fails with the problem.
    never = next_events(w, order(), here=None, now=0, locks=lambda oid, ins: "Cannot fulfill")
    assert [e["TYPE"] for e in never.events] == ["OrderOutcomeAdded", "OrderFailed"]


def test_a_failure_leaving_the_lock_block_releases_it_first():
    w = wf(
        {
            "TYPE": "Try",
            "try": block(lock({"lockPath": "L"}, inner=[shell_job(A, "false")])),
            "catch": block(),
        }
    )
    failed = apply(
        order((0, "try+0", 0, "lock", 0)),
        {"TYPE": "OrderProcessed", "outcome": {"TYPE": "Failed"}},
    )
    assert [e["TYPE"] for e in next_events(w, failed, here=A, now=0).events] == ["OrderDetachable"]
    nxt = next_events(w, failed, here=None, now=0)
    assert nxt.events[:2] == [
        {"TYPE": "OrderLocksReleased", "lockPaths": ["L"]},
        {"TYPE": "OrderCaught", "movedTo": [0, "catch+0", 0]},
    ]
    uncaught = wf(lock({"lockPath": "L"}, inner=[{"TYPE": "Fail"}]))
    nxt = next_events(uncaught, order((0, "lock", 0)), here=None, now=0)
    assert [e["TYPE"] for e in nxt.events] == [
        "OrderOutcomeAdded",
        "OrderLocksReleased",
        "OrderFailed",
    ]
    assert nxt.events[-1]["movedTo"] == [0]


def test_a_cancellation_leaves_the_lock_blocks_up_to_its_fork_branch():
    inner = lock({"lockPath": "I"}, inner=[shell_job(A, "true")])
    w = wf(
        lock(
            {"lockPath": "O"},
            inner=[{"TYPE": "Fork", "branches": [{"id": "a", "workflow": block(inner)}]}],
        )
    )
    child = order((0, "lock", 0, "fork+a", 0, "lock", 0), id="o|a")
    left = leave_lock_blocks(w, child)
    assert left.events == [{"TYPE": "OrderLocksReleased", "lockPaths": ["I"]}]
    assert left.order["position"] == [0, "lock", 0, "fork+a", 1]
    assert leave_lock_blocks(w, order((0, "lock", 0))).events == [
        {"TYPE": "OrderLocksReleased", "lockPaths": ["O"]}
    ]
    assert leave_lock_blocks(w, order((1,))).events == []


def test_lock_state_from_the_orders():
    w = wf(lock({"lockPath": "L", "count": 1}, inner=[shell_job(A, "true")]))
    ex = wf(lock({"lockPath": "L"}, inner=[shell_job(A, "true")]))
    workflows = {"w~1": w, "x~1": ex}

    def o(position, key="w~1", state="attached", **more):
        return {"position": position, "workflowKey": key, "state": state, **more}

    orders = {
        "a": o([0, "lock", 0]),
        "b": o([0, "lock", 0]),
        "gone": o([0, "lock", 0], state="finished"),
        "q": o([0], key="x~1", state="detached", lockQueued=True, queuedAt=2),
        "p": o([0], state="detached", lockQueued=True, queuedAt=1),
    }
    ins = ex.instruction(Position.first())
    assert isinstance(ins, Lock)
    shared = w.instruction(Position.first())
    assert isinstance(shared, Lock)
    assert locks.holders(orders, workflows, "L") == {"a": 1, "b": 1}
    assert locks.check(orders, workflows, {"L": 3}, shared) is True
    assert locks.check(orders, workflows, {"L": 2}, shared) is False
    assert locks.check(orders, workflows, {"L": 3}, ins) is False  # exclusive needs it free
    assert locks.check(orders, workflows, {"L": 0}, shared) == (
        "Cannot fulfill lock count=1 with Lock:L limit=0"
    )
    assert locks.queue(orders) == ["p", "q"]
    state = locks.state({"path": "L", "limit": 3}, orders, workflows)
    assert state.acquired.orderToCount == {"a": 1, "b": 1}  # type: ignore[union-attr]
    assert state.queue == ["p", "q"]


@pytest.mark.parametrize(
    ("instruction", "says"),
    [
        (lock({"lockPath": "L"}, {"lockPath": "L"}), "Unexpected duplicates: 2×Lock:L"),  # noqa: RUF001
        (lock({"lockPath": "L", "count": 0}), "LockDemand.count must not be below 1 for Lock:L"),
        ({"TYPE": "Lock", "lockedWorkflow": block()}, "Lock needs 'demands'"),
    ],
)
def test_a_bad_lock_is_refused_as_js7_refuses_it(instruction, says):
    with pytest.raises(Problem) as err:
        wf(instruction)
    assert says in err.value.message


def lock_item(path, limit):
    return {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": path, "limit": limit}}


async def test_exclusive_and_counted_locks_at_the_controller(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    step = shell_job(A, "sleep 0.5")
    exclusive = workflow("exclusive", lock({"lockPath": "X"}, inner=[step]))
    counted = workflow("counted", lock({"lockPath": "C", "count": 1}, inner=[step]))
    failing = workflow("failing", lock({"lockPath": "X"}, inner=[{"TYPE": "Fail"}]))
    with pytest.raises(ProblemError) as err:
        await ctl.post_items(item_operations(exclusive))
    assert err.value.code == "UnknownItemPath" and "Lock:X" in str(err.value)
    ops = item_operations(exclusive, counted, failing)
    await ctl.post_items([lock_item("X", 1), lock_item("C", 2), *ops])

    await ctl.command(add_order("f", "failing"))
    for oid in ("e1", "e2"):
        await ctl.command(add_order(oid, "exclusive"))
    for oid in ("c1", "c2", "c3"):
        await ctl.command(add_order(oid, "counted"))
    for oid in ("f", "e1", "e2", "c1", "c2", "c3"):
        await wait_order_state(dep, oid, ("Finished", "Failed"))

    events = await read_all_events(ctl)
    added = [e["item"] for e in events if e["TYPE"] == "UnsignedSimpleItemAdded"]
    assert {"TYPE": "Lock", "path": "X", "limit": 1} in added
    # Replayed in the journal's order, no Lock ever has more than its limit.
    held: dict[str, dict[str, int]] = {"X": {}, "C": {}}
    most = {"X": 0, "C": 0}
    for e in events:
        if e["TYPE"] == "OrderLocksAcquired":
            for d in e["demands"]:
                held[d["lockPath"]][e["Key"]] = d.get("count", 1)
                most[d["lockPath"]] = max(most[d["lockPath"]], sum(held[d["lockPath"]].values()))
        elif e["TYPE"] == "OrderLocksReleased":
            for p in e["lockPaths"]:
                held[p].pop(e["Key"])
    assert most == {"X": 1, "C": 2} and held == {"X": {}, "C": {}}
    queued = {e["Key"] for e in events if e["TYPE"] == "OrderLocksQueued"}
    assert "c3" in queued and len(queued & {"f", "e1", "e2"}) >= 1
    f = await order_events(ctl, "f")
    assert types(f)[-3:] == ["OrderOutcomeAdded", "OrderLocksReleased", "OrderFailed"]
    for oid in ("e1", "e2", "c1", "c2", "c3"):
        evs = await order_events(ctl, oid)
        assert types(evs)[-1] == "OrderFinished"
        assert [e["to"] for e in evs if e["TYPE"] == "OrderMoved"] == [[0, "lock", 1]]


async def test_the_snapshot_shows_who_holds_and_who_waits(deploy):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    slow = workflow("slow", lock({"lockPath": "X"}, inner=[shell_job(A, "sleep 30")]))
    await ctl.post_items([lock_item("X", 1), *item_operations(slow)])
    await ctl.command(add_order("first", "slow"))
    await wait_order_state(dep, "first", ("Attached",))
    await ctl.command(add_order("second", "slow"))
    second = await wait_order_state(dep, "second", ("WaitingForLock",))
    assert second["state"] == {"TYPE": "WaitingForLock"}
    objects = await ctl.get_ndjson("/snapshot/")
    (state,) = [o for o in objects if o["TYPE"] == "LockState"]
    assert state == {
        "TYPE": "LockState",
        "lock": {"path": "X", "limit": 1},
        "acquired": {"TYPE": "Exclusive", "orderId": "first"},
        "queue": ["second"],
    }
    kill = {"TYPE": "FreshOrStarted", "kill": {"immediately": True}}
    await ctl.command({"TYPE": "CancelOrders", "orderIds": ["first"], "mode": kill})
    await wait_order_state(dep, "second", ("Attached",))
    # Cancelled in the lock block: released first (JS7's leaveBlocks).
    assert types(await order_events(ctl, "first"))[-2:] == ["OrderLocksReleased", "OrderCancelled"]


async def test_locks_across_a_controller_sigkill(deploy, tmp_path):
    """Killed while one order holds the Lock and another waits: after the
    restart the holder still holds it (its position says so), the other
    takes it only after the release, and each step ran once."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    ran = tmp_path / "ran"
    slow = workflow(
        "slow",
        lock({"lockPath": "X"}, inner=[shell_job(A, f"echo $JS7_ORDER_ID >> {ran}; sleep 2")]),
    )
    await ctl.post_items([lock_item("X", 1), *item_operations(slow)])
    await ctl.command(add_order("first", "slow"))
    await wait_order_state(dep, "first", ("Attached",))
    await ctl.command(add_order("second", "slow"))
    await wait_order_state(dep, "second", ("WaitingForLock",))
    await dep.backend.kill("controller", signal.SIGKILL)
    await dep.backend.start("controller")
    for oid in ("first", "second"):
        await wait_order_state(dep, oid, ("Finished", "Failed"))
    assert ran.read_text().split() == ["first", "second"]
    at = {(e.get("Key"), e["TYPE"]): e["eventId"] for e in await read_all_events(ctl)}
    assert at["first", "OrderLocksReleased"] < at["second", "OrderLocksAcquired"]
    assert types(await order_events(ctl, "second")).count("OrderLocksQueued") == 1


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"TYPE": "Lock", "path": "L", "limit": -1}, "InvalidItem"),
        ({"TYPE": "Lock", "path": "", "limit": 1}, "InvalidItem"),
        ({"TYPE": "Lock", "path": "L", "limit": "many"}, "InvalidField"),
        ({"TYPE": "Lock", "limit": 1}, "MissingField"),
        ({"TYPE": "Lock", "path": "L", "owner": "me"}, None),
    ],
)
def test_a_bad_lock_item_is_a_problem_naming_it(item, code):
    from components.controller import simple_items

    with pytest.raises(Problem) as err:
        simple_items.check([item], {}, ["agent-1"])
    assert err.value.status == 400
    if code is not None:
        assert err.value.code == code


def test_a_lock_item_is_kept_as_js7_writes_it_and_stays_at_the_controller():
    from components.controller import simple_items

    (added,) = simple_items.check([{"TYPE": "Lock", "path": "L"}], {}, [])
    assert added == ("Lock:L", {"TYPE": "Lock", "path": "L", "limit": 1})
    assert simple_items.for_agent({"Lock:L": added[1]}, "agent-1") == []
    assert simple_items.lock_limits({"Lock:L": added[1]}) == {"L": 1}
