"""A Director Agent with remote Subagents, over the real APIs: an order waits
while no Subagent is available, and a Director restart re-attaches a running
remote step instead of running it twice."""

import asyncio

import pytest

from harness import faults
from harness.clients.js7 import (
    agent_client,
    controller_client,
    deploy_workflow,
    order_events,
    types,
    wait_order_state,
)
from harness.clients.node import ProblemError
from harness.js7topo import agent_with_subagents, bundle_job, subagent_cluster_items, workflow
from harness.workload import JobRuns, read_all_events

STARTS = 'echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/starts"'


async def with_cluster(deploy, priorities):
    dep = await deploy(agent_with_subagents(len(priorities)))
    uris = {s: f"http://{dep.backend.link_address(f'agent-1--{s}')}" for s in priorities}
    ctl = controller_client(dep, "controller")
    await ctl.post_items(subagent_cluster_items(dep.url("agent-1"), uris, priorities))
    await dep.wait_for(
        "every Subagent coupled",
        lambda: subagents(dep),
        accept=lambda s: all(s.get(x, {}).get("coupled") for x in priorities),
    )
    return dep, ctl


async def a_long_job_on_the_first(dep, ctl) -> JobRuns:
    """Order ``o`` running a 30 s job on subagent-1 (the higher priority)."""
    first = JobRuns(dep, "subagent-1", "starts")
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", f"{STARTS}; sleep 30")))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "o", "workflowPath": "w"}})
    await dep.wait_for("the job started", lambda: asyncio.sleep(0, first.read()), accept=bool)
    return first


async def ran_again_on_the_second(dep, ctl, code: str) -> None:
    """Order ``o``: ProcessLost with ``code``, OrderMoved, started on subagent-2."""
    second = JobRuns(dep, "subagent-2", "starts")
    await dep.wait_for("the job again", lambda: asyncio.sleep(0, second.read()), accept=bool)
    evs = await order_events(ctl, "o")
    lost = next(e for e in evs if e["TYPE"] == "OrderProcessed")["outcome"]
    assert lost["reason"]["TYPE"] == "ProcessLost"
    assert lost["reason"]["problem"]["code"] == code
    i = types(evs).index("OrderProcessed")
    assert types(evs)[i : i + 3] == ["OrderProcessed", "OrderMoved", "OrderProcessingStarted"]
    assert evs[i + 2]["subagentId"] == "subagent-2"


async def subagents(dep):
    return (await agent_client(dep, "agent-1").get("/js7ha/overview"))["subagents"]


async def test_an_order_waits_until_a_subagent_is_available(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 1})
    await dep.backend.kill("subagent-1")
    await dep.wait_for(
        "subagent-1 not coupled",
        lambda: subagents(dep),
        accept=lambda s: not s["subagent-1"]["coupled"],
    )
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", STARTS)))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "o", "workflowPath": "w"}})

    async def on_agent():
        return (await agent_client(dep, "agent-1").get("/order"))["orders"]

    # Attached and started, but not processing: nobody to run it.
    waiting = await dep.wait_for(
        "the order at the Director", on_agent, accept=lambda os: os and os[0].get("started")
    )
    assert waiting[0]["state"] == "ready"
    assert "OrderProcessingStarted" not in types(await order_events(ctl, "o"))
    await dep.backend.start("subagent-1")
    await wait_order_state(dep, "o", ("Finished",))
    started = [e for e in await order_events(ctl, "o") if e["TYPE"] == "OrderProcessingStarted"]
    assert started == [
        {**started[0], "subagentId": "subagent-1", "subagentBundleId": "BUNDLE", "stick": False}
    ]
    assert JobRuns(dep, "subagent-1", "starts").read() == ["o"]


async def test_a_director_restart_reattaches_a_running_remote_step(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 1})
    starts = JobRuns(dep, "subagent-1", "starts")
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", f"{STARTS}; sleep 2")))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "o", "workflowPath": "w"}})
    await dep.wait_for("the job started", lambda: asyncio.sleep(0, starts.read()), accept=bool)
    await dep.backend.kill("agent-1")
    await dep.backend.start("agent-1")
    await wait_order_state(dep, "o", ("Finished",))
    evs = await order_events(ctl, "o")
    assert types(evs).count("OrderProcessingStarted") == 1
    assert [e["outcome"]["TYPE"] for e in evs if e["TYPE"] == "OrderProcessed"] == ["Succeeded"]
    assert starts.read() == ["o"]


async def test_a_subagent_shutting_down_in_order_has_its_jobs_run_elsewhere(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 2, "subagent-2": 1})
    first = await a_long_job_on_the_first(dep, ctl)
    await dep.backend.stop("subagent-1")  # SIGTERM: an orderly shutdown
    await ran_again_on_the_second(dep, ctl, "ProcessKilledDueToSubagentShutdown")
    assert first.read() == ["o"]


async def test_reset_subagent_runs_a_cut_off_subagents_job_again_elsewhere(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 2, "subagent-2": 1})
    for bad, code in (("nobody", "UnknownItemPath"), ("agent-1-0", "InvalidCommand")):
        with pytest.raises(ProblemError) as err:
            await ctl.command({"TYPE": "ResetSubagent", "subagentId": bad})
        assert err.value.code == code
    await a_long_job_on_the_first(dep, ctl)
    async with faults.partition(dep, ["agent-1--subagent-1"]):
        await dep.wait_for(
            "subagent-1 cut off",
            lambda: subagents(dep),
            accept=lambda s: not s["subagent-1"]["coupled"],
        )
        # Cut off, not known to be dead: the order waits (AGENT-CLUSTER.md A.3).
        assert types(await order_events(ctl, "o"))[-1] == "OrderProcessingStarted"
        await ctl.command({"TYPE": "ResetSubagent", "subagentId": "subagent-1", "force": False})
        await ran_again_on_the_second(dep, ctl, "ProcessLostDueToReset")
    journal = await read_all_events(ctl)
    assert {"Key": "subagent-1", "TYPE": "SubagentResetStartedByController", "force": False} in [
        {k: v for k, v in e.items() if k not in ("eventId", "timestamp")} for e in journal
    ]


async def test_a_remote_step_that_ended_while_its_director_was_down_is_taken_once(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 1})
    starts = JobRuns(dep, "subagent-1", "starts")
    ends = JobRuns(dep, "subagent-1", "ends")
    job = f"{STARTS}; sleep 1; {ends.record}"
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", job)))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "o", "workflowPath": "w"}})
    await dep.wait_for("the job started", lambda: asyncio.sleep(0, starts.read()), accept=bool)
    await dep.backend.kill("agent-1")
    # Its OrderProcessed waits on the Subagent, unreleased, for the Director.
    await dep.wait_for("the job ended", lambda: asyncio.sleep(0, ends.read()), accept=bool)
    await dep.backend.start("agent-1")
    await wait_order_state(dep, "o", ("Finished",))
    evs = await order_events(ctl, "o")
    assert [e["outcome"]["TYPE"] for e in evs if e["TYPE"] == "OrderProcessed"] == ["Succeeded"]
    assert starts.read() == ["o"] and ends.read() == ["o"]


async def test_a_disabled_subagent_gets_no_more_jobs(deploy):
    dep, ctl = await with_cluster(deploy, {"subagent-1": 2, "subagent-2": 1})
    first, second = JobRuns(dep, "subagent-1", "starts"), JobRuns(dep, "subagent-2", "starts")
    await deploy_workflow(ctl, workflow("w", bundle_job("agent-1", STARTS)))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "a", "workflowPath": "w"}})
    await wait_order_state(dep, "a", ("Finished",))
    uri = f"http://{dep.backend.link_address('agent-1--subagent-1')}"
    disabled = {"TYPE": "SubagentItem", "id": "subagent-1", "agentPath": "agent-1", "uri": uri}
    await ctl.post_items([{"TYPE": "AddOrChangeSimple", "item": {**disabled, "disabled": True}}])
    await dep.wait_for(
        "subagent-1 disabled at the Director",
        lambda: subagents(dep),
        accept=lambda s: s["subagent-1"]["disabled"],
    )
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "b", "workflowPath": "w"}})
    await wait_order_state(dep, "b", ("Finished",))
    assert (first.read(), second.read()) == (["a"], ["b"])


async def test_two_jobs_in_a_row_on_one_subagent_and_a_cancelled_remote_job(deploy):
    """Each step's outcome goes to that step (the next step of the same order
    on the same Subagent waits for its own); a remote process killed by a
    cancel leaves the Subagent serving the next orders."""
    dep, ctl = await with_cluster(deploy, {"subagent-1": 1})
    starts = JobRuns(dep, "subagent-1", "starts")
    await deploy_workflow(
        ctl,
        workflow("two", bundle_job("agent-1", STARTS), bundle_job("agent-1", STARTS)),
        workflow("slow", bundle_job("agent-1", f"{STARTS}; sleep 30")),
    )
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "t", "workflowPath": "two"}})
    await wait_order_state(dep, "t", ("Finished",))
    assert starts.read() == ["t", "t"]
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "s", "workflowPath": "slow"}})
    await dep.wait_for(
        "s started", lambda: asyncio.sleep(0, starts.read()), accept=lambda r: "s" in r
    )
    kill = {"TYPE": "FreshOrStarted", "kill": {"immediately": True}}
    await ctl.command({"TYPE": "CancelOrders", "orderIds": ["s"], "mode": kill})
    await wait_order_state(dep, "s", ("Cancelled",))
    await ctl.command({"TYPE": "AddOrder", "order": {"id": "u", "workflowPath": "two"}})
    await wait_order_state(dep, "u", ("Finished",))
    assert starts.read() == ["t", "t", "s", "u", "u"]
