"""HIS-JOC-FAILOVER (seed 004): "The History Service will fail-over to the
next active JOC Cockpit instance" — three take-overs under a steady load.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, no_loss, single_active
from harness.clients.joc import JocClient
from harness.clients.js7 import wait_all_orders
from harness.workload import add_orders
from suites.history.support import (
    history_status,
    no_duplicates_attempted,
    setup,
    task_read,
)
from suites.joc.support import (
    activity,
    bound,
    final_read,
    reported_history,
    wait_history_terminated,
    wait_one_active,
)


@pytest.mark.guarantee("HIS-JOC-FAILOVER")
async def test_history_fails_over_with_the_joc_cluster(deploy, history, results):
    """The active JOC killed while orders keep finishing: the next active
    instance's History continues from the stored position — no gap, no
    duplicate — and never writes while the old one could."""
    dep, ctl, _ = await setup(deploy, jocs=3)
    ids = [f"fo-{i}" for i in range(600)]
    # Orders must keep finishing through every take-over, or a new active's
    # History has nothing to write and the test cannot see it take over: the
    # load is spread over the take-overs' bound (40 orders/s against the
    # reference timing, about one a second against JS7's 60 s heartbeats).
    takeovers = 3
    rate = len(ids) / (takeovers * bound(dep, "JOC-FAILOVER"))
    load = asyncio.create_task(add_orders(history, ctl, "fast", ids, rate=rate))
    for k in range(takeovers):
        old = await wait_one_active(dep)
        # Kill only once this active's History has written: every one of the
        # four epochs then provably ran History (a fixed sleep did not ensure
        # that where start-up is slower, e.g. on containers).
        await dep.wait_for(
            f"History writing in take-over #{k + 1}",
            lambda old=old: activity(JocClient(dep, old)),
            accept=lambda acts, k=k: (
                len({a["epoch"] for a in acts if a["service"] == "history"}) >= k + 1
            ),
        )
        async with faults.kill(dep, old):
            await wait_one_active(
                dep, among=[n for n in dep.nodes if n.startswith("joc-") and n != old]
            )
    await load
    await wait_all_orders(dep, ids, deadline=dep.profile.heal_deadline * 2)
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    await wait_history_terminated(dep, client, ids)
    await final_read(history, client, ids)
    await task_read(history, client, ids)
    acts = await activity(client)
    reported_history(history, acts, "history")
    status = await history_status(client)
    epochs = sorted({a["epoch"] for a in acts if a["service"] == "history"})
    result = results.add(
        compose(
            no_loss(history.records),
            replace(no_loss(history.records, read_f="read-tasks"), name="no-loss[tasks]"),
            single_active(history.records, role="history"),
            no_duplicates_attempted({active: status}),
            CheckResult(len(epochs) >= 4, {"history-epochs": epochs}, "history-failed-over"),
            name="his-joc-failover",
        )
    )
    assert result, result.explain()
