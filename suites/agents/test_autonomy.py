"""AGT-AUTONOMY, AGT-CROSS-AGENT, AGT-SCHEDULED (seed 001).

"Agents keep executing attached orders without a Controller, journal state
transitions and log output, and forward them later"; "an Agent proceeds only
to the nodes assigned to it"; "Agents know when to run orders they received".
"""

import contextlib
import time

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, exactly_once, no_loss
from harness.clients.agent_orders import AgentOrders
from harness.clients.js7 import (
    agent_client,
    controller_client,
    deploy_workflow,
    order_events,
    torn_event_id,
    types,
    wait_all_orders,
)
from harness.clients.snapshot import read_snapshot
from harness.errors import DeadlineExceeded
from harness.js7topo import block, controller_and_agents, shell_job, shell_workflow, workflow
from harness.workload import JobRuns, add_orders, read_all_events


async def final_read(history, ctl):
    """The final read: ids whose OrderFinished is in the Controller's journal."""
    async with history.op("final", "read") as op:
        events = await read_all_events(ctl)
        op.ok([e["Key"] for e in events if e["TYPE"] == "OrderFinished"])
    return events


async def watch_agent(dep, agent):
    """Each order's status on ``agent``, from the Agent's own events."""
    return await AgentOrders(dep, agent_client(dep, agent)).start()


def all_in(ids, status):
    return lambda st: all(st.get(i) == status for i in ids)


async def progress(dep, on_agent, ids, status, what, deadline=None):
    """Until every order has reached ``status`` on the Agent: a verdict
    either way (an order that did not is *stuck*, not a harness timeout)."""
    with contextlib.suppress(DeadlineExceeded):
        await dep.wait_for(what, on_agent.statuses, accept=all_in(ids, status), deadline=deadline)
    now = await on_agent.statuses()
    stuck = {i: now.get(i, "not on the Agent") for i in ids if now.get(i) != status}
    return CheckResult(
        not stuck,
        {"expected": status, "reached": len(ids) - len(stuck), "stuck": stuck},
        "progress-without-controller",
    )


@pytest.mark.guarantee("AGT-AUTONOMY")
async def test_agent_finishes_attached_orders_while_the_controller_is_down(
    deploy, history, results
):
    dep = await deploy(controller_and_agents(1))
    runs = JobRuns(dep, "agent-1")
    ctl = controller_client(dep, "controller")
    # Two steps: the second must *start* while the Controller is down, not
    # only finish what had started before.
    await deploy_workflow(
        ctl,
        shell_workflow(
            "autonomy",
            ("agent-1", "sleep 1"),
            ("agent-1", f"echo out-$JS7_ORDER_ID; {runs.record}"),
        ),
    )
    ids = [f"auto-{i}" for i in range(20)]
    on_agent = await watch_agent(dep, "agent-1")
    await add_orders(history, ctl, "autonomy", ids)
    await dep.wait_for(
        "orders attached to the Agent",
        on_agent.statuses,
        accept=lambda st: set(ids) <= set(st),
    )
    async with faults.kill(dep, "controller"):
        # Nobody is there to take results: the Agent must still run every step.
        alone = await progress(
            dep, on_agent, ids, "Detaching", "every order processed without a Controller"
        )
        results.measure("orders processed while the Controller was down", alone.details["reached"])
    await wait_all_orders(dep, ids)
    events = await final_read(history, ctl)
    runs.to_history(history)
    stdout = {e["Key"]: e["chunk"] for e in events if e["TYPE"] == "OrderStdoutWritten"}
    missing_output = sorted(i for i in ids if stdout.get(i) != f"out-{i}\n")
    forwarded = CheckResult(
        not missing_output, {"missing-or-wrong-stdout": missing_output}, "log-output-forwarded"
    )
    result = compose(no_loss(history.records), exactly_once(history.records), alone, forwarded)
    assert results.add(result), result.explain()


# A job that holds each order on agent-1 until the harness opens the gate.
GATE = 'until [ -f "$JS7_AGENT_WORK/gate" ]; do sleep 0.1; done'


async def open_the_gate(dep, on_agent, ids, what):
    """Open the gate on agent-1; until every order of ``ids`` is
    ``Detaching`` there, a verdict either way (``progress``), and the order
    events the Agent wrote since (with the Controller down: what it did
    alone)."""
    held_from = on_agent.last_event_id
    JobRuns(dep, "agent-1", "gate").path.write_text("open\n")
    reached = await progress(dep, on_agent, ids, "Detaching", what)
    return reached, [e for e in on_agent.events if e["eventId"] > held_from]


# What the Agent must do alone (JS7's executors: If, Try, Retry, Fail and
# Sleep are not the Controller's), in the order it does it for each order.
ALONE = [
    "OrderCaught",
    "OrderRetrying",
    "OrderAwoke",
    "OrderSleeping",
    "OrderOutcomeAdded",
    "OrderCaught",
    "OrderDetachable",
]
CONTROLLER_ONLY = {"OrderPrompted", "OrderPromptAnswered", "OrderFinished", "OrderFailed"}


@pytest.mark.guarantee("AGT-AUTONOMY")
async def test_agent_goes_on_through_autonomous_instructions_while_the_controller_is_down(
    deploy, history, results
):
    """ "Agents will continue to execute workflows that are within reach of
    autonomous workflow instructions": with the Controller down, the Agent
    retries a failed job after its delay (Try/Retry), branches on its return
    code (If), sleeps (Sleep), catches a Fail — and an order that reaches a
    Prompt, which only the Controller executes, waits for the Controller."""
    dep = await deploy(controller_and_agents(1))
    runs = JobRuns(dep, "agent-1")
    tries = JobRuns(dep, "agent-1", "tries")
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        workflow(
            "alone",
            # Held until the Controller is down: all that follows is the Agent's.
            shell_job("agent-1", GATE),
            {
                "TYPE": "Try",
                "try": block(
                    shell_job(
                        "agent-1",
                        f'{tries.record}; test "$(grep -cx "$JS7_ORDER_ID" '
                        f'"$JS7_AGENT_WORK/tries")" -ge 2',
                    )
                ),
                "catch": block({"TYPE": "Retry"}),
                "retryDelays": [0.5],
                "maxTries": 3,
            },
            {
                "TYPE": "If",
                "ifThens": [
                    {
                        "predicate": "$returnCode == 0",
                        "then": block({"TYPE": "Sleep", "duration": "1"}),
                    }
                ],
                "else": block({"TYPE": "Fail", "message": "'no success'"}),
            },
            {
                "TYPE": "Try",
                "try": block({"TYPE": "Fail", "message": "'planned'"}),
                "catch": block(shell_job("agent-1", "echo caught-$JS7_ORDER_ID")),
            },
            {"TYPE": "Prompt", "question": "'go on?'"},
            shell_job("agent-1", f"echo end-$JS7_ORDER_ID; {runs.record}"),
        ),
    )
    ids = [f"alone-{i}" for i in range(10)]
    on_agent = await watch_agent(dep, "agent-1")
    await add_orders(history, ctl, "alone", ids)
    await dep.wait_for(
        "orders processing at the gate",
        on_agent.statuses,
        accept=all_in(ids, "Processing"),
    )
    async with faults.kill(dep, "controller"):
        at_prompt, alone = await open_the_gate(
            dep, on_agent, ids, "every order at the Prompt, waiting for the Controller"
        )
    prompting = await dep.wait_for(
        "every order prompting at the Controller",
        lambda: read_snapshot(ctl),
        accept=lambda snap: set(ids) <= snap.ids_in("Prompting"),
    )
    results.measure(
        "orders prompting after the Controller returned", len(prompting.ids_in("Prompting"))
    )
    for oid in ids:
        await ctl.command({"TYPE": "AnswerOrderPrompt", "orderId": oid})
    await wait_all_orders(dep, ids)
    events = await final_read(history, ctl)
    runs.to_history(history)

    not_alone, controller_events_on_agent, not_at_prompt = [], [], []
    for oid in ids:
        mine = [e for e in alone if e.get("Key") == oid]
        seq = [e["TYPE"] for e in mine if e["TYPE"] in ALONE]
        if seq != ALONE:
            not_alone.append((oid, seq))
        controller_events_on_agent += [e["TYPE"] for e in mine if e["TYPE"] in CONTROLLER_ONLY]
        moved = [e["to"] for e in mine if e["TYPE"] == "OrderMoved"]
        if not moved or moved[-1] != [4]:
            not_at_prompt.append((oid, moved[-1:]))
    prompted_after_detach = [
        oid
        for oid in ids
        if (seq := types([e for e in events if e.get("Key") == oid]))
        and "OrderPrompted" in seq
        and seq.index("OrderDetached") < seq.index("OrderPrompted")
    ]
    stdout = {}
    for e in events:
        if e["TYPE"] == "OrderStdoutWritten":
            stdout[e["Key"]] = stdout.get(e["Key"], "") + e["chunk"]
    wrong_output = sorted(i for i in ids if stdout.get(i) != f"caught-{i}\nend-{i}\n")
    autonomous = CheckResult(
        not not_alone and not controller_events_on_agent,
        {
            "instruction-events-missing-while-controller-down": not_alone,
            "controller-only-events-written-by-the-agent": controller_events_on_agent,
        },
        "instructions-continued-alone",
    )
    waited = CheckResult(
        not not_at_prompt and sorted(prompted_after_detach) == sorted(ids),
        {
            "not-waiting-at-the-prompt": not_at_prompt,
            "prompted-at-the-controller": sorted(prompted_after_detach),
        },
        "controller-only-instruction-waits",
    )
    forwarded = CheckResult(
        not wrong_output, {"missing-or-wrong-stdout": wrong_output}, "log-output-forwarded"
    )
    result = compose(
        at_prompt,
        no_loss(history.records),
        exactly_once(history.records),
        autonomous,
        waited,
        forwarded,
    )
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-CROSS-AGENT")
async def test_an_order_waits_at_the_agent_boundary_until_the_controller_returns(
    deploy, history, results
):
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        shell_workflow("cross", ("agent-1", "sleep 0.5; echo first"), ("agent-2", "echo second")),
    )
    ids = [f"cross-{i}" for i in range(10)]
    on_agent1 = await watch_agent(dep, "agent-1")
    on_agent2 = await watch_agent(dep, "agent-2")
    await add_orders(history, ctl, "cross", ids)
    await dep.wait_for(
        "orders attached to agent-1",
        on_agent1.statuses,
        accept=lambda st: set(ids) <= set(st),
    )
    async with faults.kill(dep, "controller"):
        at_boundary = await progress(
            dep, on_agent1, ids, "Detaching", "every order at the boundary of agent-1"
        )
        # agent-1 proceeds to no node of agent-2: agent-2 has seen nothing.
        crossed = sorted(await on_agent2.statuses())
        agent2 = agent_client(dep, "agent-2")
        # Everything agent-2 journaled since the Controller last released (nothing
        # can be released while the Controller is down).
        held_from = await torn_event_id(agent2)
        agent2_events = await read_all_events(agent2, after=held_from)
    await wait_all_orders(dep, ids)
    await final_read(history, ctl)
    wrong_sequence = []
    for oid in ids:
        seq = [
            t
            for t in types(await order_events(ctl, oid))
            if t in ("OrderAttached", "OrderDetachable", "OrderDetached", "OrderFinished")
        ]
        if seq != [
            "OrderAttached",
            "OrderDetachable",
            "OrderDetached",
            "OrderAttached",
            "OrderDetachable",
            "OrderDetached",
            "OrderFinished",
        ]:
            wrong_sequence.append((oid, seq))
    boundary = CheckResult(
        not crossed
        and not any(e["TYPE"] == "OrderAttachedToAgent" for e in agent2_events)
        and not wrong_sequence,
        {
            "orders-on-agent-2-while-controller-down": crossed,
            "agent-2-events-while-controller-down": [e["TYPE"] for e in agent2_events],
            "wrong-attach-detach-sequence": wrong_sequence,
        },
        "agent-boundary",
    )
    result = compose(no_loss(history.records), at_boundary, boundary)
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-CROSS-AGENT")
async def test_a_branch_or_catch_block_of_another_agent_waits_at_the_boundary(
    deploy, history, results
):
    """With the Controller down, an order that If branches, or a catch block
    leads, to another Agent's job stops at the boundary of its Agent: the
    other Agent sees nothing until the Controller returns."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        workflow(
            "fork-in-the-road",
            shell_job("agent-1", GATE),
            {
                "TYPE": "If",
                "ifThens": [
                    {
                        "predicate": "$way == 'then'",
                        "then": block(shell_job("agent-2", "echo two")),
                    }
                ],
                "else": block(
                    {
                        "TYPE": "Try",
                        "try": block({"TYPE": "Fail"}),
                        "catch": block(shell_job("agent-2", "echo caught")),
                    }
                ),
            },
            shell_job("agent-1", "echo back"),
        ),
    )
    ways = {f"road-{i}": "then" if i % 2 else "catch" for i in range(10)}
    ids = sorted(ways)
    on_agent1 = await watch_agent(dep, "agent-1")
    on_agent2 = await watch_agent(dep, "agent-2")
    for way in ("then", "catch"):
        await add_orders(
            history,
            ctl,
            "fork-in-the-road",
            [i for i in ids if ways[i] == way],
            extra={"arguments": {"way": way}},
        )
    await dep.wait_for(
        "orders at the gate on agent-1", on_agent1.statuses, accept=all_in(ids, "Processing")
    )
    async with faults.kill(dep, "controller"):
        at_the_boundary, alone = await open_the_gate(
            dep, on_agent1, ids, "every order at the boundary of agent-1"
        )
        crossed = sorted(await on_agent2.statuses())
    await wait_all_orders(dep, ids)
    await final_read(history, ctl)
    want = {"then": [1, "then", 0], "catch": [1, "else", 0, "catch+0", 0]}
    wrong_boundary, wrong_agents = [], []
    for oid in ids:
        mine = [e for e in alone if e["Key"] == oid]
        moved = [
            e.get("to", e.get("movedTo"))
            for e in mine
            if e["TYPE"] in ("OrderMoved", "OrderCaught")
        ]
        if not moved or moved[-1] != want[ways[oid]] or mine[-1]["TYPE"] != "OrderDetachable":
            wrong_boundary.append((oid, moved[-1:], [e["TYPE"] for e in mine[-1:]]))
        agents = [
            e["agentPath"] for e in await order_events(ctl, oid) if e["TYPE"] == "OrderAttached"
        ]
        if agents != ["agent-1", "agent-2", "agent-1"]:
            wrong_agents.append((oid, agents))
    boundary = CheckResult(
        not crossed and not wrong_boundary and not wrong_agents,
        {
            "orders-on-agent-2-while-controller-down": crossed,
            "not-waiting-at-the-boundary": wrong_boundary,
            "wrong-agents": wrong_agents,
        },
        "agent-boundary",
    )
    result = compose(at_the_boundary, no_loss(history.records), boundary)
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-SCHEDULED")
async def test_scheduled_orders_start_on_time_with_the_controller_down(
    deploy, history, results, profile
):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("sched", ("agent-1", "echo ran")))
    due = int(time.time() * 1000) + 6000
    ids = [f"sched-{i}" for i in range(5)]
    on_agent = await watch_agent(dep, "agent-1")
    await add_orders(history, ctl, "sched", ids, extra={"scheduledFor": due})
    await dep.wait_for(
        "scheduled orders attached",
        on_agent.statuses,
        accept=all_in(ids, "Fresh"),
    )
    async with faults.kill(dep, "controller"):
        # The Agent restarts too while the orders wait for their time: what
        # it acknowledged must be in its journal, not only in its memory.
        async with faults.kill(dep, "agent-1", pre_check=False, post_check=False):
            pass
        alone = await progress(
            dep,
            on_agent,
            ids,
            "Detaching",
            "scheduled orders processed",
            deadline=(due / 1000 - time.time()) + profile.heal_deadline,
        )
        # The Agent's own record of when each step started (read while the
        # Controller is down, so nothing has been released yet).
        agent = agent_client(dep, "agent-1")
        held_from = await torn_event_id(agent)
        starts = {
            e["Key"]: e["timestamp"]
            for e in await read_all_events(agent, after=held_from)
            if e["TYPE"] == "OrderProcessingStarted"
        }
    await wait_all_orders(dep, ids)
    await final_read(history, ctl)
    lateness = {oid: (starts[oid] - due) / 1000 for oid in ids if oid in starts}
    results.measure("start lateness seconds (max)", max(lateness.values(), default=None))
    bad = {oid: s for oid, s in lateness.items() if not 0 <= s <= profile.schedule_tolerance}
    on_time = CheckResult(
        not bad and len(lateness) == len(ids),
        {"lateness": lateness, "early-or-late": bad, "tolerance": profile.schedule_tolerance},
        "on-time",
    )
    result = compose(no_loss(history.records), alone, on_time)
    assert results.add(result), result.explain()


# JS7's Controller-only instructions beside Prompt: the Notices are the
# Controller's Boards', and a ForkList forks at the Controller.
NOTICE_BOARD = {
    "TYPE": "GlobalBoard",
    "path": "board",
    "postOrderToNoticeKey": "'N'",
    "expectOrderToNoticeKey": "'N'",
    "endOfLife": "$js7EpochMilli + 3600000",
}
AT_THE_CONTROLLER = {
    "post": {"TYPE": "PostNotices", "boardPaths": ["board"]},
    "expect": {"TYPE": "ExpectNotices", "boardPaths": "'board'"},
    "forklist": {
        "TYPE": "ForkList",
        "children": "['a', 'b']",
        "childToId": "x => $x",
        "childToArguments": "x => {child: $x}",
        "workflow": block(shell_job("agent-1", "echo child-$JS7_ORDER_ID")),
    },
}
NOTICE_OR_FORK_EVENTS = {
    "OrderNoticePosted",
    "OrderNoticesExpected",
    "OrderNoticesRead",
    "OrderForked",
    "OrderJoined",
}


@pytest.mark.guarantee("AGT-AUTONOMY")
async def test_notice_and_fork_list_instructions_wait_for_the_controller(deploy, history, results):
    """PostNotices, ExpectNotices and ForkList are not within reach of an
    Agent alone (JS7 moves the order back to the Controller): with the
    Controller down, an order that reaches one stops there, detachable, and
    writes none of their events; when the Controller returns they go on."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await ctl.post_items([{"TYPE": "AddOrChangeSimple", "item": NOTICE_BOARD}])
    await deploy_workflow(
        ctl,
        *(
            workflow(kind, shell_job("agent-1", GATE), ins, shell_job("agent-1", "echo end"))
            for kind, ins in AT_THE_CONTROLLER.items()
        ),
    )
    kinds = {f"{kind}-{i}": kind for kind in AT_THE_CONTROLLER for i in range(3)}
    ids = sorted(kinds)
    on_agent = await watch_agent(dep, "agent-1")
    for kind in AT_THE_CONTROLLER:
        await add_orders(history, ctl, kind, [i for i in ids if kinds[i] == kind])
    await dep.wait_for(
        "orders processing at the gate", on_agent.statuses, accept=all_in(ids, "Processing")
    )
    async with faults.kill(dep, "controller"):
        at_the_instruction, alone = await open_the_gate(
            dep, on_agent, ids, "every order detachable at its Controller-only instruction"
        )
    await wait_all_orders(dep, ids)
    events = await final_read(history, ctl)

    not_waiting, written_by_agent, not_done_after = [], [], []
    for oid in ids:
        mine = [e for e in alone if e.get("Key") == oid]
        moved = [e["to"] for e in mine if e["TYPE"] == "OrderMoved"]
        if moved[-1:] != [[1]] or not mine or mine[-1]["TYPE"] != "OrderDetachable":
            not_waiting.append((oid, moved[-1:], [e["TYPE"] for e in mine[-1:]]))
        written_by_agent += [e["TYPE"] for e in mine if e["TYPE"] in NOTICE_OR_FORK_EVENTS]
        seq = types([e for e in events if e.get("Key") == oid])
        want = {
            "post": "OrderNoticePosted",
            "expect": "OrderNoticesRead",
            "forklist": "OrderJoined",
        }[kinds[oid]]
        if want not in seq or seq.index("OrderDetached") > seq.index(want):
            not_done_after.append((oid, want))
    waited = CheckResult(
        not not_waiting and not written_by_agent and not not_done_after,
        {
            "not-waiting-at-the-instruction": not_waiting,
            "controller-only-events-written-by-the-agent": written_by_agent,
            "not-done-at-the-controller": not_done_after,
        },
        "controller-only-instruction-waits",
    )
    result = compose(at_the_instruction, no_loss(history.records), waited)
    assert results.add(result), result.explain()
