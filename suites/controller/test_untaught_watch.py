"""CTL-SPLIT-BRAIN: a Cluster Watch that has learnt nothing (fresh, or its
state was wiped) gives no consent — the passive does not take over from an
active it cannot prove dead — until a user sends ``ConfirmClusterNodeLoss``."""

import asyncio

import pytest

from harness.checkers import CheckResult, compose, single_active
from harness.clients.js7 import agent_client, observe_active

from .workload import coupled_cluster


@pytest.mark.guarantee("CTL-SPLIT-BRAIN")
async def test_an_untaught_watch_refuses_until_the_loss_is_confirmed(
    deploy, history, results, profile
):
    dep, client = await coupled_cluster(deploy)
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    be = dep.backend
    stop = asyncio.Event()
    sampler = asyncio.create_task(observe_active(history, client, stop, profile.poll_interval))
    await be.stop("watch")
    await be.wipe_state("watch")
    await be.kill("primary")
    await be.start("watch")  # it will only ever hear the passive now: untaught
    # The experiment: several heartbeat timeouts in which a take-over would
    # have happened with a taught Watch.
    await asyncio.sleep(4 * timeout)
    during = await client.states()
    refused = "UntaughtClusterWatch" in be.logs("backup")
    await agent_client(dep, "watch").command(
        {"TYPE": "ConfirmClusterNodeLoss", "lostNodeId": "Primary"}
    )
    after = await dep.wait_for(
        "the Backup takes over once the loss is confirmed",
        client.find_active,
        accept=lambda n: n == "backup",
    )
    stop.set()
    await sampler
    result = compose(
        single_active(history.records, role="controller"),
        CheckResult(
            not (during["backup"] or {}).get("isActive") and refused and after == "backup",
            {
                "backup-while-untaught": during["backup"],
                "refusal-logged": refused,
                "active-after-confirmation": after,
            },
            "untaught-watch",
        ),
    )
    assert results.add(result), result.explain()
