"""AGT-NO-CONNECT (seed 001): "Agents never connect to a Controller".

Proved two ways under a workload with a Controller restart: the proxies of
the Agent→Controller links (which exist, so the Agent *could* use them) never
accept a connection, and the Agent's processes never hold a socket they
opened themselves, sampled throughout. The same for Subagents and their
Director Agent (issue 15), under a Director restart.
"""

import asyncio

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, no_loss
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import (
    agent_with_subagents,
    bundle_job,
    controller_and_agents,
    shell_workflow,
    subagent_cluster_items,
    workflow,
)
from harness.workload import add_orders, read_all_events

SUBS = ["subagent-1", "subagent-2"]


async def sampling(dep, nodes, work):
    """Run ``work()`` while sampling the sockets ``nodes`` open themselves;
    (what each opened, how many samples)."""
    seen: dict[str, list[str]] = {n: [] for n in nodes}
    samples = 0
    stop = asyncio.Event()

    async def sample():
        nonlocal samples
        while not stop.is_set():
            for node in seen:
                seen[node] += await dep.backend.outbound_connections(node)
            samples += 1
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        await work()
    finally:
        stop.set()
        await sampler
    return {n: sorted(set(c)) for n, c in seen.items()}, samples


def orders_across_a_restart(dep, history, ctl, node):
    """The workload: 30 orders of workflow ``nc``, ``node`` killed and
    restarted between the two halves (who is left is on its own a while)."""
    ids = [f"nc-{i}" for i in range(30)]

    async def work():
        await add_orders(history, ctl, "nc", ids[:15])
        async with faults.kill(dep, node):
            await asyncio.sleep(1)
        await add_orders(history, ctl, "nc", ids[15:])
        await wait_all_orders(dep, ids)

    return work


async def judge(dep, history, ctl, results, nodes, work, name) -> CheckResult:
    """Run ``work`` sampling ``nodes``; the final read; no order lost and
    none of ``nodes`` ever connected anywhere."""
    seen, samples = await sampling(dep, nodes, work)
    async with history.op("final", "read") as op:
        op.ok([e["Key"] for e in await read_all_events(ctl) if e["TYPE"] == "OrderFinished"])
    counts = await dep.backend.connection_counts()
    results.measure("socket samples", samples)
    return compose(no_loss(history.records), never_connect(counts, seen, samples, name))


def never_connect(counts, seen, samples, name) -> CheckResult:
    """No connection on a link out of a sampled node (they exist: it *could*
    use them), no socket it opened itself, while the links to it were used."""
    out = {lk: n for lk, n in counts.items() if lk.split("--")[0] in seen}
    into = {lk: n for lk, n in counts.items() if lk.split("--")[1] in seen}
    return CheckResult(
        all(n == 0 for n in out.values())
        and not any(seen.values())
        and samples > 10
        and all(n > 0 for n in into.values()),
        {
            "outgoing-link-connections": out,
            "incoming-link-connections": into,
            "outbound-sockets": seen,
            "samples": samples,
        },
        name,
    )


@pytest.mark.guarantee("AGT-NO-CONNECT")
async def test_agents_never_open_a_connection(deploy, history, results):
    dep = await deploy(controller_and_agents(2, agent_to_controller=True))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("nc", ("agent-1", "echo a"), ("agent-2", "echo b")))
    work = orders_across_a_restart(dep, history, ctl, "controller")
    result = await judge(
        dep, history, ctl, results, ["agent-1", "agent-2"], work, "no-agent-connects"
    )
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-NO-CONNECT")
async def test_subagents_never_open_a_connection(deploy, history, results):
    """Issue 15: the same holds for a Subagent and its Director Agent."""
    dep = await deploy(agent_with_subagents(2, subagent_to_director=True))
    uris = {s: f"http://{dep.backend.link_address(f'agent-1--{s}')}" for s in SUBS}
    ctl = controller_client(dep, "controller")
    await ctl.post_items(subagent_cluster_items(dep.url("agent-1"), uris, dict.fromkeys(SUBS, 1)))
    await deploy_workflow(ctl, workflow("nc", bundle_job("agent-1", "echo a")))
    work = orders_across_a_restart(dep, history, ctl, "agent-1")
    result = await judge(dep, history, ctl, results, SUBS, work, "no-subagent-connects")
    assert results.add(result), result.explain()
