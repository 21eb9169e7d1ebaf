"""HIS-RESUME and EVT-OUTAGE-BUFFER (seed 004): "In case of outage of the
History Service the Controller will store events with its journal until the
History Service is up again [...]. The History Service will resume operation
after an outage."
"""

from __future__ import annotations

import pytest

from harness import faults
from harness.checkers import CheckResult, compose
from harness.clients.joc import JocClient
from harness.clients.js7 import torn_event_id, wait_all_orders
from harness.clients.snapshot import read_snapshot
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
    wait_one_active,
)


@pytest.mark.guarantee("HIS-RESUME", "EVT-OUTAGE-BUFFER")
async def test_history_resumes_from_its_stored_position_after_an_outage(deploy, history, results):
    """Every JOC instance down (History with them) while orders run; the
    Controller keeps the events; History comes back, starts exactly at the
    position it had committed, and writes everything, once."""
    dep, ctl, active = await setup(deploy)
    client = JocClient(dep, active)
    before = [f"pre-{i}" for i in range(50)]
    during = [f"out-{i}" for i in range(200)]
    await add_orders(history, ctl, "fast", before, rate=50)
    await wait_all_orders(dep, before)
    await wait_history_terminated(dep, client, before)
    last_event = (await read_snapshot(ctl)).event_id
    if await history_status(client) is not None:  # (an extra: the target tells)
        await dep.wait_for(
            "History at the Controller's last event",
            lambda: history_status(client),
            accept=lambda s: s is not None and s["position"] == last_event,
        )
    jocs = [n.name for n in dep.topology.by_role("joc")]
    async with faults.kill(dep, *jocs):
        await add_orders(history, ctl, "fast", during, rate=50)
        await wait_all_orders(dep, during)
        # The Controller holds every event History has not committed.
        held = await torn_event_id(ctl)
    active = await wait_one_active(dep)
    client = JocClient(dep, active)
    await wait_history_terminated(dep, client, before + during)
    await final_read(history, client, before + during)
    await task_read(history, client, before + during)
    kept = CheckResult(
        held <= last_event,
        {"last-event-before-outage": last_event, "controller-torn-during-outage": held},
        "events-kept-during-outage",
    )
    status = await history_status(client)
    resumed = CheckResult(
        status is None or status["startPosition"] == last_event,
        {
            "stored-position": last_event,
            "start-position": status["startPosition"] if status else "not offered by the target",
        },
        "resumed-at-stored-position",
    )
    result = results.add(
        compose(
            kept,
            resumed,
            *no_loss_of_orders_and_tasks(history.records),
            no_duplicates_attempted({active: status}),
            name="his-resume",
        )
    )
    assert result, result.explain()
