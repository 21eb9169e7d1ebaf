"""CTL-SPLIT-BRAIN: a Cluster Watch that has learnt nothing gives no
consent — the passive does not take over from an active it cannot prove
dead — until a user confirms the loss.

The Watch is JOC, as in JS7 2.5 and later: it learns the cluster from the
active Controller's heartbeats and forgets it when it stops. Stopped, then
started again after the active Controller died, it has only ever heard the
passive: untaught. The confirmation is JOC's own
``controller/cluster/confirm_node_loss``."""

import asyncio

import pytest

from harness.checkers import CheckResult, compose, single_active
from harness.clients.joc import JocClient
from harness.clients.js7 import ClusterClient, observe_active, wait_cluster
from suites.joc.support import joc_and_controller_cluster

REFUSED = "UntaughtClusterWatch"


@pytest.mark.guarantee("CTL-SPLIT-BRAIN")
async def test_an_untaught_watch_refuses_until_the_loss_is_confirmed(
    deploy, history, results, profile
):
    dep = await deploy(joc_and_controller_cluster(1, watch="joc"))
    client = ClusterClient(dep, timeout=profile.components["controller.cluster.heartbeat_timeout"])
    await wait_cluster(dep, client)
    be = dep.backend
    stop = asyncio.Event()
    sampler = asyncio.create_task(observe_active(history, client, stop, profile.poll_interval))
    await be.stop("joc-1")
    await be.kill("primary")
    await be.start("joc-1")  # it will only ever hear the passive now: untaught

    # The experiment: the Backup asks JOC for consent and is refused — seen in
    # the Backup's own log, where JS7 writes the Watch's problem too — or,
    # were the Watch wrong, takes over: then the check below says so.
    async def refused_or_taken_over() -> bool:
        backup = (await client.states())["backup"] or {}
        return REFUSED in be.logs("backup") or bool(backup.get("isActive"))

    await dep.wait_for("the Backup refused by an untaught Watch", refused_or_taken_over)
    during = await client.states()
    refused = REFUSED in be.logs("backup")
    took_over = bool((during["backup"] or {}).get("isActive"))
    if not took_over:  # (one that did has no loss left to confirm)
        await JocClient(dep, "joc-1").post(
            "controller/cluster/confirm_node_loss", {"controllerId": "js7"}
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
            not took_over and refused and after == "backup",
            {
                "backup-while-untaught": during["backup"],
                "refusal-logged": refused,
                "active-after-confirmation": after,
            },
            "untaught-watch",
        ),
    )
    assert results.add(result), result.explain()
