"""JS7's instructions run by the reference Controller and Agents over their
real HTTP APIs: the events each order gets, with JS7's positions."""

from harness.clients.js7 import (
    add_order,
    controller_client,
    deploy_workflow,
    order_events,
    types,
    wait_order_state,
)
from harness.js7topo import controller_and_agents


def job(agent, script, **executable):
    return {
        "TYPE": "Execute.Anonymous",
        "job": {
            "agentPath": agent,
            "executable": {"TYPE": "ShellScriptExecutable", "script": script, **executable},
        },
    }


def block(*instructions):
    return {"instructions": list(instructions)}


def workflow(path, *instructions):
    return {"TYPE": "Workflow", "path": path, "versionId": "1", "instructions": list(instructions)}


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
