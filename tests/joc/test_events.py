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


def _item(started=(), terminated=(), workflow="w") -> dict[str, Any]:
    def order(oid: str) -> dict[str, str]:
        return {"orderId": oid, "workflowPath": workflow, "versionId": "v1"}

    return {"started": [order(o) for o in started], "terminated": [order(o) for o in terminated]}


async def test_a_poll_without_snapshots_ends_with_the_period_and_the_same_event_id():
    events = EventSnapshots()
    since = int(time.time() * 1000) - 5000
    t = time.monotonic()
    assert await events.poll(since, 0.3) == (since, None)
    assert 0.25 < time.monotonic() - t < 2


async def test_snapshots_come_once_each_distinct_and_wake_a_waiting_poll():
    events = EventSnapshots()
    since = int(time.time() * 1000) - 1000
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


async def test_a_loop_of_polls_gets_every_snapshot_once_while_they_keep_coming():
    # Snapshots every 30 ms, each of its own workflow (so none is merged with
    # another in an answer), while a client polls in a loop: each comes once.
    events = EventSnapshots()
    since = int(time.time() * 1000) - 1000
    seen: list[str] = []

    async def produce():
        for i in range(40):
            events.add_history(_item(terminated=[f"o{i}"], workflow=f"w{i}"))
            await asyncio.sleep(0.03)

    producer = asyncio.create_task(produce())
    until = time.monotonic() + 10
    answers = 0
    while time.monotonic() < until and len(seen) < 40:
        since, snapshots = await events.poll(since, 0.5)
        seen += [s["workflow"]["path"] for s in snapshots or []]
        answers += 1
    await producer
    assert sorted(seen) == sorted(f"w{i}" for i in range(40))
    assert answers > 2  # answered while they kept coming, not once at the end


async def test_an_answer_does_not_wait_for_its_clock_second_to_end():
    # Added just after a second began, answered within that second (whole-
    # second ids had to wait for its end).
    events = EventSnapshots()
    waiting = asyncio.create_task(events.poll(int(time.time() * 1000), 10))
    await asyncio.sleep(1.01 - time.time() % 1)  # just after a second began
    second = int(time.time())
    events.add_history(_item(terminated=["a"]))
    await asyncio.wait_for(waiting, 3)
    assert int(time.time()) == second


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
