"""HIS-JOC-FAILOVER (seed 004): "The History Service will fail-over to the
next active JOC Cockpit instance" — three take-overs under a steady load.
"""

from __future__ import annotations

import asyncio

import pytest

from harness import faults
from harness.checkers import CheckResult, compose
from harness.clients.joc import JocClient
from harness.clients.js7 import wait_all_orders
from harness.errors import DeadlineExceeded
from harness.workload import add_orders
from suites.history.support import no_loss_of_orders_and_tasks, setup, task_read
from suites.joc.extras import (
    history_epochs,
    history_status,
    no_duplicates_attempted,
    service_intervals,
    single_active_reported,
)
from suites.joc.support import (
    bound,
    final_read,
    history_orders,
    wait_history_terminated,
    wait_one_active,
)


@pytest.mark.guarantee("HIS-JOC-FAILOVER")
async def test_history_fails_over_with_the_joc_cluster(deploy, history, results):
    """The active JOC killed three times while orders keep finishing: each
    next active instance's History writes (orders acknowledged after the
    take-over appear in its History), and at the end every order is there
    once — no gap, no duplicate. Where the target offers them: History's
    reported intervals never overlap, and it wrote in four epochs."""
    dep, ctl, _ = await setup(deploy, jocs=3)
    # Orders must keep finishing through every take-over, or a new active's
    # History has nothing to write and the test cannot see it take over: the
    # load goes on until the last take-over was seen writing (a fixed number
    # of orders ran out before a slow third take-over in a loaded CI run, and
    # its History, with nothing left to write, looked as if it never took
    # over). 40 orders/s against the reference timing, about one a second
    # against JS7's 60 s heartbeats.
    takeovers = 3
    rate = 600 / (takeovers * bound(dep, "JOC-FAILOVER"))
    ids: list[str] = []
    loading = asyncio.Event()
    loading.set()

    async def keep_adding() -> None:
        while loading.is_set():
            chunk = [f"fo-{len(ids) + i}" for i in range(max(1, round(rate)))]
            ids.extend(chunk)
            await add_orders(history, ctl, "fast", chunk, rate=rate)

    load = asyncio.create_task(keep_adding())
    wrote: list[dict[str, object]] = []  # per take-over: an order History then wrote

    async def written_since(node: str, since: int) -> list[str]:
        """Orders acknowledged after record ``since`` that are terminated in
        ``node``'s History: with every earlier active dead, its History wrote
        them."""
        acked = [
            r["value"] for r in history.records[since:] if r.get("f") == "add" and r["type"] == "ok"
        ]
        if not acked:
            return []
        rows = await history_orders(JocClient(dep, node), acked[-50:])
        return [r["orderId"] for r in rows if r["endTime"] is not None]

    since = 0
    for k in range(takeovers + 1):
        active = await wait_one_active(dep)
        # Kill only once this active's History has written (a fixed sleep
        # did not ensure that where start-up is slower, e.g. on containers);
        # if it never does, History did not fail over: the verdict says so.
        try:
            found = await dep.wait_for(
                f"History writing after take-over #{k}",
                lambda a=active, s=since: written_since(a, s),
            )
        except DeadlineExceeded:
            found = []
        wrote.append({"active": active, "orders-written": found[:3]})
        if not found or k == takeovers:
            break
        async with faults.kill(dep, active):
            await wait_one_active(
                dep, among=[n for n in dep.nodes if n.startswith("joc-") and n != active]
            )
        since = len(history.records)
    loading.clear()
    await load
    await wait_all_orders(dep, ids, deadline=dep.profile.heal_deadline * 2)
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    await wait_history_terminated(dep, client, ids)
    await final_read(history, client, ids)
    await task_read(history, client, ids)
    acts = await service_intervals(client)
    status = await history_status(client)
    epochs = history_epochs(acts)
    result = results.add(
        compose(
            *no_loss_of_orders_and_tasks(history.records),
            CheckResult(
                len(wrote) == takeovers + 1 and all(w["orders-written"] for w in wrote),
                {"per-active": wrote},
                "history-wrote-after-each-takeover",
            ),
            single_active_reported(history, acts, "history"),
            no_duplicates_attempted({active: status}),
            CheckResult(
                epochs is None or len(epochs) >= takeovers + 1,
                {"history-epochs": epochs if epochs is not None else "not offered"},
                "history-epochs",
            ),
            name="his-joc-failover",
        )
    )
    assert result, result.explain()
