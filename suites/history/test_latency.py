"""HIS-LATENCY (seed 004): "As a rule of thumb history items are available in
near real-time within 2-3s" at "approx. 30 tasks completing per second".

Available means readable through JOC's API, as a user reads the History
view: while 30 orders a second run, the harness reads JOC's order history
every ``POLL`` seconds (``support.HistoryWatch``); an order's latency is the
wall-clock time of the answer that first showed its terminated row minus
the row's ``endTime`` (the Controller's event time; one host clock). The
polling adds at most ``POLL`` and one request's time, small against the
bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from harness.checkers import CheckResult, compose, no_loss, percentile
from harness.clients.joc import JocClient
from harness.clients.js7 import wait_all_orders
from harness.errors import DeadlineExceeded
from harness.workload import add_orders
from suites.history.support import HistoryWatch, setup
from suites.joc.support import bound, final_read, joc_time, wait_history_terminated

LATENCY_RATE, LATENCY_SECONDS = 30.0, 10  # the seed's "approx. 30 tasks per second"
POLL = 0.05


@pytest.mark.guarantee("HIS-LATENCY")
async def test_history_items_are_visible_within_the_bound(deploy, history, results):
    dep, ctl, active = await setup(deploy)
    client = JocClient(dep, active)
    ids = [f"lat-{i}" for i in range(int(LATENCY_RATE * LATENCY_SECONDS))]
    watch = HistoryWatch(client, lambda: ids, poll=POLL).start()
    limit = bound(dep, "HIS-LATENCY")
    t0 = time.monotonic()
    await add_orders(history, ctl, "fast", ids, rate=LATENCY_RATE)
    submit_seconds = time.monotonic() - t0
    await wait_all_orders(dep, ids)
    with contextlib.suppress(DeadlineExceeded):  # one not seen: the check says which
        await dep.wait_for(
            "every order seen in JOC's History",
            lambda: asyncio.sleep(0, watch.pending()),
            accept=lambda pending: not pending,
            deadline=limit + dep.profile.op_timeout,
        )
    await watch.stop()
    await wait_history_terminated(dep, client, ids)
    await final_read(history, client, ids)
    latency_of = {
        oid: round(at - joc_time(row["endTime"]), 6) for oid, (at, row) in watch.seen.items()
    }
    values = [latency_of[i] for i in ids if i in latency_of]
    p99 = percentile(values, 99) if values else None
    latency = CheckResult(
        bool(values) and len(values) == len(ids) and p99 is not None and p99 <= limit,
        {
            "rate-per-s": round(len(ids) / submit_seconds, 1),
            "count": len(values),
            "p50": percentile(values, 50) if values else None,
            "p99": p99,
            "max": max(values, default=None),
            "bound": limit,
            "poll-interval": POLL,
            "not-seen-in-time": watch.pending()[:20],
        },
        "history-latency",
    )
    result = results.add(compose(latency, no_loss(history.records), name="his-latency"))
    results.measure("latency-p99-s", p99)
    assert result, result.explain()
