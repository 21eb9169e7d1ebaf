"""HIS-LIVE (seeds 004, 000): the History Service "displays added or updated
history items on-the-fly for all users connected to an active JOC Cockpit
instance"; a standby "will display the updated history if the user navigates
to the respective History View".

JOC's GUI learns of new items from JOC's ``events`` long poll and then reads
``orders/history`` again; the suite keeps such a view open on the active and
on a standby instance (``order_view.py``) while orders run at
``JS7HA_HIS_LIVE_RATE`` per second for ``JS7HA_HIS_LIVE_SECONDS`` (defaults
30 and 5). On the active, every order must be listed as ended within the
bound of its end (p99, from the row's own ``endTime``); the standby's events
must announce none, and navigating to its view must list them all. Where the
target offers it, the reference's own History page is checked the same way
in headless Chromium (``extras.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import pytest

from harness.checkers import CheckResult, compose, no_loss
from harness.clients.joc import JocClient
from harness.clients.js7 import wait_all_orders
from harness.errors import DeadlineExceeded
from harness.workload import add_orders
from suites.history_views.checks import live_latency, standby_not_pushed
from suites.history_views.extras import HistoryPages, not_checked
from suites.history_views.order_view import OrderHistoryView
from suites.history_views.support import setup_views
from suites.joc.support import (
    CONTROLLER_ID,
    bound,
    final_read,
    joc_time,
    wait_history_terminated,
)

LIVE_RATE = float(os.environ.get("JS7HA_HIS_LIVE_RATE", "30"))
LIVE_SECONDS = float(os.environ.get("JS7HA_HIS_LIVE_SECONDS", "5"))


def _events_read(views: dict[str, OrderHistoryView]) -> CheckResult:
    """Each view's events poll ran to the end (a JOC that fails it fails
    its users' views)."""
    failed = {n: v.events.failed for n, v in views.items() if v.events.failed}
    polls = {n: len(v.events.polls) for n, v in views.items()}
    return CheckResult(not failed, {"failed": failed, "polls": polls}, "events-poll")


@pytest.mark.guarantee("HIS-LIVE")
async def test_new_items_appear_on_the_active_on_the_fly_and_on_a_standby_on_navigation(
    deploy, history, results, artifacts
):
    # JOC's events long poll answers within 2 s when nothing happened (JOC:
    # 30 s to 3 min), so that a quiet standby's poll ends soon enough to show
    # that nothing was announced while the active showed every order.
    dep, ctl, active, standby = await setup_views(deploy, {"joc.events.response-period": 2})
    timeout = dep.profile.heal_deadline * 4
    query = {"controllerId": CONTROLLER_ID, "orderId": "live-*", "limit": 5000}
    views = {n: OrderHistoryView(JocClient(dep, n), query) for n in (active, standby)}
    for view in views.values():
        view.open()
    pages = None
    try:
        pages = await HistoryPages.open(dep, active, standby, timeout)
        ids = [f"live-{i}" for i in range(int(LIVE_RATE * LIVE_SECONDS))]
        t0 = time.monotonic()
        await add_orders(history, ctl, "fast", ids, rate=LIVE_RATE)
        rate = len(ids) / (time.monotonic() - t0)
        await wait_all_orders(dep, ids, deadline=timeout)
        rows = await wait_history_terminated(dep, JocClient(dep, active), ids)
        await final_read(history, JocClient(dep, active), ids)
        on_active, on_standby = views[active], views[standby]
        # Until the active's view listed them all (else, at the deadline, the
        # checker names the rest: never a timeout), then until a poll of the
        # standby's events answered after that moment: an answer without
        # History snapshots says none came (without one there is no
        # evidence, and the deadline makes the verdict unknown).
        with contextlib.suppress(DeadlineExceeded):
            await dep.wait_for(
                "the active's view lists every order as ended",
                lambda: asyncio.sleep(0, set(on_active.first_ended)),
                accept=lambda s: s >= set(ids) or on_active.events.failed is not None,
                deadline=timeout,
            )
        seen_all = time.time()
        await dep.wait_for(
            "the standby's events read past the active's view",
            lambda: asyncio.sleep(0, on_standby.events.polls),
            accept=lambda polls: (
                any(p.ended > seen_all for p in polls) or on_standby.events.failed is not None
            ),
            deadline=timeout,
        )
        pushed = set(on_standby.first_ended)
        navigated = await on_standby.navigate()
        ended_us = {
            r["orderId"]: int(joc_time(r["endTime"]) * 1_000_000) for r in rows if r.get("endTime")
        }
        seen_ms = {i: s * 1000 for i, s in on_active.first_ended.items()}
        limit = bound(dep, "HIS-LIVE")
        latency = live_latency(ended_us, seen_ms, ids, limit)
        page = (
            await pages.check(
                active, standby, ids, {i: us / 1e6 for i, us in ended_us.items()}, limit, artifacts
            )
            if pages is not None
            else not_checked()
        )
    finally:
        for view in views.values():
            await view.close()
        if pages is not None:
            await pages.close()
    standby_events = [s["eventType"] for s in on_standby.pushes]
    result = results.add(
        compose(
            _events_read(views),
            latency,
            standby_not_pushed(pushed, navigated, ids, standby_events),
            page,
            no_loss(history.records),
            name="his-live",
        )
    )
    results.measure("live-p99-s", latency.details["p99"])
    results.measure("live-rate-per-s", round(rate, 1))
    assert result, result.explain()
