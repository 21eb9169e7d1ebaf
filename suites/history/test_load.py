"""HIS-NO-LOSS-LOAD (seed 004): "No history entries will be lost, however,
it could take minutes [...] if 100 tasks are starting and completing per
second." 1500 orders at 100 per second straight to the Controller; every one
in History once, its job step too.
"""

from __future__ import annotations

import time

import pytest

from harness.checkers import compose
from harness.clients.joc import JocClient
from harness.clients.js7 import wait_all_orders
from harness.workload import add_orders
from suites.history.support import (
    no_loss_of_orders_and_tasks,
    setup,
    task_read,
)
from suites.joc.extras import history_status, no_duplicates_attempted
from suites.joc.support import (
    final_read,
    wait_history_terminated,
)

LOAD_RATE, LOAD_COUNT = 100.0, 1500  # the seed's "100 tasks ... per second"


@pytest.mark.guarantee("HIS-NO-LOSS-LOAD")
async def test_nothing_is_lost_under_load(deploy, history, results):
    dep, ctl, active = await setup(deploy)
    ids = [f"load-{i}" for i in range(LOAD_COUNT)]
    t0 = time.monotonic()
    await add_orders(history, ctl, "fast", ids, rate=LOAD_RATE, concurrency=16)
    rate = len(ids) / (time.monotonic() - t0)
    await wait_all_orders(dep, ids, deadline=dep.profile.heal_deadline * 4)
    finished = time.monotonic()
    client = JocClient(dep, active)
    await wait_history_terminated(dep, client, ids, deadline=dep.profile.heal_deadline * 4)
    catch_up = time.monotonic() - finished
    await final_read(history, client, ids)
    await task_read(history, client, ids)
    status = await history_status(client)
    result = results.add(
        compose(
            *no_loss_of_orders_and_tasks(history.records),
            no_duplicates_attempted({active: status}),
            name="his-no-loss-load",
        )
    )
    results.measure("submit-rate-per-s", round(rate, 1))
    results.measure("history-catch-up-s", round(catch_up, 3))
    assert result, result.explain()
