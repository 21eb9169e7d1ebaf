"""AGT-NO-CONNECT (seed 001): "Agents never connect to a Controller".

Proved two ways under a workload with a Controller restart: the proxies of
the Agent→Controller links (which exist, so the Agent *could* use them) never
accept a connection, and the Agent's processes never hold a socket they
opened themselves, sampled throughout.
"""

import asyncio

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, no_loss
from harness.clients.js7 import controller_client, deploy_workflow, wait_all_orders
from harness.js7topo import controller_and_agents, shell_workflow
from harness.workload import add_orders, read_all_events


@pytest.mark.guarantee("AGT-NO-CONNECT")
async def test_agents_never_open_a_connection(deploy, history, results):
    dep = await deploy(controller_and_agents(2, agent_to_controller=True))
    ctl = controller_client(dep, "controller")
    await deploy_workflow(ctl, shell_workflow("nc", ("agent-1", "echo a"), ("agent-2", "echo b")))
    seen: dict[str, list[str]] = {"agent-1": [], "agent-2": []}
    samples = 0
    stop = asyncio.Event()

    async def sample():
        nonlocal samples
        while not stop.is_set():
            for agent in seen:
                seen[agent] += await dep.backend.outbound_connections(agent)
            samples += 1
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    ids = [f"nc-{i}" for i in range(30)]
    await add_orders(history, ctl, "nc", ids[:15])
    async with faults.kill(dep, "controller"):
        await asyncio.sleep(1)  # the Agents are on their own for a while
    await add_orders(history, ctl, "nc", ids[15:])
    await wait_all_orders(dep, ids)
    stop.set()
    await sampler
    async with history.op("final", "read") as op:
        op.ok([e["Key"] for e in await read_all_events(ctl) if e["TYPE"] == "OrderFinished"])
    counts = await dep.backend.connection_counts()
    reverse = {lk: n for lk, n in counts.items() if lk.endswith("--controller")}
    forward = {lk: n for lk, n in counts.items() if lk.startswith("controller--")}
    results.measure("socket samples", samples)
    no_connect = CheckResult(
        all(n == 0 for n in reverse.values())
        and not any(seen.values())
        and samples > 10
        and all(n > 0 for n in forward.values()),
        {
            "agent-to-controller-link-connections": reverse,
            "controller-to-agent-link-connections": forward,
            "outbound-sockets-of-agents": {a: sorted(set(c)) for a, c in seen.items()},
            "samples": samples,
        },
        "no-agent-connects",
    )
    result = compose(no_loss(history.records), no_connect)
    assert results.add(result), result.explain()
