"""JOC's ``events`` long poll: History's snapshots as JOC sends them
(HistoryOrderStarted/-Terminated, HistoryChildOrder… for children, object
type ORDERHISTORY, the workflow, no eventId, distinct), each exactly once to
a client that polls in a loop, and none after the response period."""

import asyncio
import time
from typing import Any

import pytest

from components.joc.events import EventSnapshots
from tests.joc.jocapi import login, problem


def _item(started=(), terminated=()) -> dict[str, Any]:
    def order(oid: str) -> dict[str, str]:
        return {"orderId": oid, "workflowPath": "w", "versionId": "v1"}

    return {"started": [order(o) for o in started], "terminated": [order(o) for o in terminated]}


async def test_a_poll_without_snapshots_ends_with_the_period_and_the_same_event_id():
    events = EventSnapshots()
    since = int(time.time()) - 5
    t = time.monotonic()
    assert await events.poll(since, 0.3) == (since, None)
    assert 0.25 < time.monotonic() - t < 2


async def test_snapshots_come_once_each_distinct_and_wake_a_waiting_poll():
    events = EventSnapshots()
    since = int(time.time()) - 1
    waiting = asyncio.create_task(events.poll(since, 10))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    events.add_history(_item(started=["a", "b"], terminated=["a", "b", "c|x"]))
    event_id, snapshots = await asyncio.wait_for(waiting, 3)
    workflow = {"path": "w", "versionId": "v1"}
    assert snapshots == [
        {"eventType": "HistoryOrderStarted", "objectType": "ORDERHISTORY", "workflow": workflow},
        {"eventType": "HistoryOrderTerminated", "objectType": "ORDERHISTORY", "workflow": workflow},
        {
            "eventType": "HistoryChildOrderTerminated",
            "objectType": "ORDERHISTORY",
            "workflow": workflow,
        },
    ]
    assert event_id > since
    # The next poll from that eventId: nothing again, but what comes later.
    assert await events.poll(event_id, 0.2) == (event_id, None)
    events.add_history(_item(terminated=["d"]))
    later, snapshots = await events.poll(event_id, 3)
    assert later > event_id and [s["eventType"] for s in snapshots] == ["HistoryOrderTerminated"]


async def test_a_snapshot_of_the_second_a_poll_answered_in_is_not_lost():
    # Polls in a loop while snapshots arrive every 100 ms: every burst is seen.
    events = EventSnapshots()
    since = int(time.time()) - 1
    seen = 0

    async def produce():
        for i in range(25):
            events.add_history(_item(terminated=[f"o{i}"]))
            await asyncio.sleep(0.1)

    producer = asyncio.create_task(produce())
    until = time.monotonic() + 5
    while time.monotonic() < until and seen < 25:
        since, snapshots = await events.poll(since, 0.5)
        seen += len(snapshots or [])  # (one distinct snapshot per second)
        if producer.done() and snapshots is None:
            break
    await producer
    total = len({s for s, _ in events._kept})
    assert seen == total  # one per second with a terminated order, each once


@pytest.fixture
def joc_conf() -> dict[str, Any]:
    return {"joc.events.response-period": 0.3}


async def test_the_call_answers_as_joc_and_refuses_a_bad_event_id(api):
    token = await login(api)
    r = await api.post("/joc/api/events", json={"controllerId": "js7", "eventId": 5}, headers=token)
    body = await r.json()
    assert r.status == 200, body
    assert body["controllerId"] == "js7" and body["eventId"] == 5
    assert "eventSnapshots" not in body and body["deliveryDate"] and body["surveyDate"]
    for bad in ({"controllerId": "js7", "eventId": "x"}, {"controllerId": "js7", "eventId": -1}):
        await problem(await api.post("/joc/api/events", json=bad, headers=token), 400)
    await problem(await api.post("/joc/api/events", json={}, headers=token), 400)
