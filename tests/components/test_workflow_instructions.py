"""JS7's instructions run by the reference Controller and Agents over their
real HTTP APIs: the events each order gets, with JS7's positions."""

import asyncio

import pytest

from harness.clients.js7 import (
    add_order,
    controller_client,
    deploy_workflow,
    order_events,
    types,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.js7topo import block, controller_and_agents, workflow
from harness.js7topo import shell_job as job


def moves(evs):
    return [e["to"] for e in evs if e["TYPE"] == "OrderMoved"]


def stdout(evs):
    return "".join(e["chunk"] for e in evs if e["TYPE"] == "OrderStdoutWritten")


async def test_if_fail_and_finish(deploy):
    """If on the last return code and on order variables, on an Agent and at
    the Controller; Fail with message and namedValues; Finish."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    branch = workflow(
        "branch",
        job(
            "agent-1",
            "case $JS7_ORDER_ID in zero) exit 0;; three) exit 3;; *) exit 5;; esac",
            returnCodeMeaning={"success": "0,3,5"},
        ),
        {
            "TYPE": "If",
            "ifThens": [
                {"predicate": "$returnCode == 0", "then": block(job("agent-1", "echo zero"))},
                {"predicate": "$returnCode == 3", "then": block(job("agent-2", "echo three"))},
            ],
            "else": block(
                {"TYPE": "Fail", "message": "'rc ' ++ $returnCode", "namedValues": {"rc": 9}}
            ),
        },
        job("agent-1", "echo after"),
    )
    early = workflow(
        "early",
        {"TYPE": "If", "ifThens": [{"predicate": "$stop", "then": block({"TYPE": "Finish"})}]},
        job("agent-1", "echo ran"),
    )
    await deploy_workflow(ctl, branch, early)
    for oid in ("zero", "three", "other"):
        await ctl.command(add_order(oid, "branch"))
    await ctl.command(add_order("stop", "early", arguments={"stop": True}))
    await ctl.command(add_order("go", "early", arguments={"stop": False}))
    for oid in ("zero", "three", "go", "stop"):
        await wait_order_state(dep, oid, ("Finished", "Failed"))
    await wait_order_state(dep, "other", ("Finished", "Failed"))

    zero = await order_events(ctl, "zero")
    assert moves(zero) == [[1, "then", 0], [2], [3]]
    assert stdout(zero) == "zero\nafter\n"
    assert types(zero).count("OrderAttached") == 1  # agent-1 ran it all, alone
    assert types(zero)[-1] == "OrderFinished"

    three = await order_events(ctl, "three")
    assert moves(three) == [[1, "then+2", 0], [2], [3]]
    assert [e["agentPath"] for e in three if e["TYPE"] == "OrderAttached"] == [
        "agent-1",
        "agent-2",
        "agent-1",
    ]
    assert stdout(three) == "three\nafter\n"

    other = await order_events(ctl, "other")
    assert moves(other) == [[1, "else", 0]]
    failed = {"TYPE": "Failed", "namedValues": {"rc": 9}, "message": "rc 5"}
    assert {"TYPE": "OrderOutcomeAdded", "outcome": failed} in [
        {k: v for k, v in e.items() if k in ("TYPE", "outcome")} for e in other
    ]
    assert types(other)[-3:] == ["OrderDetachable", "OrderDetached", "OrderFailed"]
    assert other[-1]["movedTo"] == [1, "else", 0]

    # Finish at the Controller, before any Agent saw the order.
    stop = await order_events(ctl, "stop")
    assert types(stop) == ["OrderAdded", "OrderMoved", "OrderStarted", "OrderFinished"]
    assert moves(stop) == [[0, "then", 0]]
    go = await order_events(ctl, "go")
    assert moves(go)[0] == [1] and stdout(go) == "ran\n"


async def test_try_catch_and_retry_with_delays_and_max_tries(deploy, tmp_path):
    """A job that fails twice is retried after retryDelays until it
    succeeds; with too few tries the order fails where the last try failed;
    a catch block runs another Agent's job."""
    dep = await deploy(controller_and_agents(2))
    ctl = controller_client(dep, "controller")
    flaky = (
        f"n=$(cat {tmp_path}/$JS7_ORDER_ID 2>/dev/null || echo 0); n=$((n+1)); "
        f"echo $n > {tmp_path}/$JS7_ORDER_ID; echo try-$n; test $n -ge 3"
    )

    def retrying(path, max_tries):
        return workflow(
            path,
            {
                "TYPE": "Try",
                "try": block(job("agent-1", flaky)),
                "catch": block({"TYPE": "Retry"}),
                "retryDelays": [0.5, 1],
                "maxTries": max_tries,
            },
            job("agent-1", "echo done"),
        )

    caught = workflow(
        "caught",
        {
            "TYPE": "Try",
            "try": block(job("agent-1", "exit 2"), job("agent-1", "echo skipped")),
            "catch": block(
                {
                    "TYPE": "If",
                    "ifThens": [
                        {"predicate": "$returnCode == 2", "then": block(job("agent-2", "echo c"))}
                    ],
                }
            ),
        },
        job("agent-1", "echo after"),
    )
    # What an order's outcomes brought travels with it to the next Agent
    # (AttachOrder's historicOutcomes): agent-1 reads agent-2's Fail's namedValues.
    carry = workflow(
        "carry",
        job("agent-2", "true"),
        {
            "TYPE": "Try",
            "try": block({"TYPE": "Fail", "namedValues": {"code": 7}}),
            "catch": block(),
        },
        job("agent-1", "true"),
        {
            "TYPE": "If",
            "ifThens": [{"predicate": "$code == 7", "then": block(job("agent-1", "echo 7"))}],
        },
    )
    await deploy_workflow(ctl, retrying("three", 3), retrying("two", 2), caught, carry)
    await ctl.command(add_order("carry", "carry"))
    await ctl.command(add_order("three", "three"))
    await ctl.command(add_order("two", "two"))
    await ctl.command(add_order("caught", "caught"))
    await wait_order_state(dep, "three", ("Finished", "Failed"))
    await wait_order_state(dep, "two", ("Finished", "Failed"))
    await wait_order_state(dep, "caught", ("Finished", "Failed"))

    three = await order_events(ctl, "three")
    assert stdout(three) == "try-1\ntry-2\ntry-3\ndone\n"
    kinds = [t for t in types(three) if t in ("OrderCaught", "OrderRetrying", "OrderAwoke")]
    assert kinds == ["OrderCaught", "OrderRetrying", "OrderAwoke"] * 2
    assert [e["movedTo"] for e in three if e["TYPE"] == "OrderCaught"] == [
        [0, "catch+0", 0],
        [0, "catch+1", 0],
    ]
    assert moves(three) == [[0, "try+0", 0], [0, "try+1", 0], [0, "try+2", 0], [1], [2]]
    retrying_events = [e for e in three if e["TYPE"] == "OrderRetrying"]
    caught_at = [e["timestamp"] for e in three if e["TYPE"] == "OrderCaught"]
    # The delays: 0.5 s, then 1 s (the last one repeats), each counted from
    # the moment the Agent computed it, just before the commit's timestamp.
    d1, d2 = [e["delayedUntil"] - t for e, t in zip(retrying_events, caught_at, strict=True)]
    assert 0 < d1 <= 500 < d2 <= 1000
    awoke_at = [e["timestamp"] for e in three if e["TYPE"] == "OrderAwoke"]
    assert all(a >= e["delayedUntil"] for a, e in zip(awoke_at, retrying_events, strict=True))
    assert types(three).count("OrderAttached") == 1  # the Agent retried alone
    assert types(three)[-1] == "OrderFinished"

    two = await order_events(ctl, "two")
    assert stdout(two) == "try-1\ntry-2\n"
    assert two[-1]["TYPE"] == "OrderFailed"
    assert two[-1]["movedTo"] == [0, "try+1", 0]  # where the last try failed

    caught_events = await order_events(ctl, "caught")
    assert stdout(caught_events) == "c\nafter\n"
    assert [e["movedTo"] for e in caught_events if e["TYPE"] == "OrderCaught"] == [
        [0, "catch+0", 0]
    ]
    assert moves(caught_events) == [[0, "try+0", 0], [0, "catch+0", 0, "then", 0], [1], [2]]
    assert types(caught_events)[-1] == "OrderFinished"

    await wait_order_state(dep, "carry", ("Finished", "Failed"))
    carried = await order_events(ctl, "carry")
    assert [e["agentPath"] for e in carried if e["TYPE"] == "OrderAttached"] == [
        "agent-2",
        "agent-1",
    ]
    assert stdout(carried) == "7\n" and types(carried)[-1] == "OrderFinished"


async def test_sleep_on_the_agent_and_at_the_controller_and_prompt(deploy):
    """Sleep between jobs on an Agent and before any job at the Controller
    (which wakes the order after a restart too); Prompt waits at the
    Controller until AnswerOrderPrompt, or is cancelled there."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl,
        workflow(
            "nap",
            job("agent-1", "echo a"),
            {"TYPE": "Sleep", "duration": "$seconds"},
            job("agent-1", "echo b"),
        ),
        workflow("first", {"TYPE": "Sleep", "duration": "2"}, job("agent-1", "echo woke")),
        workflow(
            "ask",
            job("agent-1", "echo asked"),
            {"TYPE": "Prompt", "question": "'Go on, ' ++ $name ++ '?'"},
            job("agent-1", "echo answered"),
        ),
    )
    await ctl.command(add_order("nap", "nap", arguments={"seconds": 1}))
    await ctl.command(add_order("first", "first"))
    await ctl.command(add_order("ask", "ask", arguments={"name": "Ann"}))
    await ctl.command(add_order("no", "ask", arguments={"name": "Bob"}))
    # The Controller sleeps "first" itself; a restart does not lose the wake-up.
    await dep.wait_for(
        "first asleep at the Controller",
        lambda: order_events(ctl, "first"),
        accept=lambda evs: "OrderSleeping" in types(evs),
    )
    await dep.backend.kill("controller")
    await dep.backend.start("controller")
    await wait_order_state(dep, "nap", ("Finished",))
    await wait_order_state(dep, "first", ("Finished",))

    nap = await order_events(ctl, "nap")
    assert stdout(nap) == "a\nb\n"
    sleeping = next(e for e in nap if e["TYPE"] == "OrderSleeping")
    moved = next(e for e in nap if e["TYPE"] == "OrderMoved" and e["to"] == [2])
    added = next(e for e in nap if e["TYPE"] == "OrderAdded")
    # until: 1 s after the moment the Agent computed it. The Controller
    # stamps its copy of the event when it reads it — here perhaps only after
    # its own restart, later than until — so the copy's timestamp bounds it
    # from above only; from below, the order was added before the Agent ran
    # it (one host's clock).
    assert sleeping["until"] - sleeping["timestamp"] <= 1000
    assert sleeping["until"] > added["timestamp"] + 1000
    assert moved["timestamp"] >= sleeping["until"]
    assert types(nap).count("OrderAttached") == 1  # slept on the Agent

    first = await order_events(ctl, "first")
    assert types(first)[:4] == ["OrderAdded", "OrderStarted", "OrderSleeping", "OrderMoved"]
    assert first[3]["to"] == [1] and first[3]["timestamp"] >= first[2]["until"]
    assert stdout(first) == "woke\n"

    for oid in ("ask", "no"):
        await wait_order_state(dep, oid, ("Prompting",))
    prompted = [e for e in await order_events(ctl, "ask") if e["TYPE"] == "OrderPrompted"]
    assert [e["question"] for e in prompted] == ["Go on, Ann?"]
    with pytest.raises(ProblemError) as err:
        await ctl.command({"TYPE": "AnswerOrderPrompt", "orderId": "nap"})
    assert err.value.code == "CannotAnswerOrderPrompt"
    await ctl.command({"TYPE": "AnswerOrderPrompt", "orderId": "ask"})
    await ctl.command({"TYPE": "CancelOrders", "orderIds": ["no"]})
    await wait_order_state(dep, "ask", ("Finished",))
    await wait_order_state(dep, "no", ("Cancelled",))
    ask = await order_events(ctl, "ask")
    i = types(ask).index("OrderPrompted")
    assert types(ask)[i - 2 : i + 4] == [
        "OrderDetachable",
        "OrderDetached",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderAttachable",
    ]
    assert ask[i + 2]["to"] == [2]
    assert stdout(ask) == "asked\nanswered\n"
    assert types(await order_events(ctl, "no"))[-1] == "OrderCancelled"


async def test_an_order_sleeping_at_the_controller_is_suspended_there(deploy):
    """JS7 suspends an order it holds at once: OrderSuspended at the
    Controller, no wake-up while suspended, OrderResumed, then on."""
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(
        ctl, workflow("later", {"TYPE": "Sleep", "duration": "0.5"}, job("agent-1", "echo on"))
    )
    await ctl.command(add_order("s", "later"))
    await wait_order_state(dep, "s", ("Sleeping",))
    await ctl.command({"TYPE": "SuspendOrders", "orderIds": ["s"]})
    suspended = await wait_order_state(dep, "s", ("Sleeping",))
    assert suspended.get("isSuspended") is True
    await asyncio.sleep(1)  # past the sleep's end: a suspended order stays
    assert "OrderMoved" not in types(await order_events(ctl, "s"))
    await ctl.command({"TYPE": "ResumeOrders", "orderIds": ["s"]})
    await wait_order_state(dep, "s", ("Finished",))
    evs = await order_events(ctl, "s")
    assert types(evs)[:7] == [
        "OrderAdded",
        "OrderStarted",
        "OrderSleeping",
        "OrderSuspensionMarked",
        "OrderSuspended",
        "OrderResumptionMarked",
        "OrderResumed",
    ]
    assert evs[7] == {**evs[7], "TYPE": "OrderMoved", "to": [1]}
    assert stdout(evs) == "on\n"
