"""``PulledWatch``: the Director's side of the Controller as its Cluster
Watch — requests queued for the Watch to read as NDJSON, answered with
``ClusterWatchConfirm``; no answer within the timeout is no consent."""

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from components.common.cluster.pulled_watch import PulledWatch
from components.common.cluster.settings import ClusterSettings
from components.common.web import Problem

STATE = {"TYPE": "Coupled", "activeId": "Primary", "generation": 3}
FAIL_OVER = {
    "TYPE": "ClusterFailedOver",
    "failedActiveId": "Primary",
    "activatedId": "Backup",
    "failedAt": {"fileEventId": 1000, "position": 1234},
}
NODES = {"Primary": "http://primary", "Backup": "http://backup"}


def pulled(heartbeat: float, timeout: float) -> PulledWatch:
    """The Backup's side."""
    return PulledWatch(
        ClusterSettings(
            is_backup=True,
            nodes=NODES,
            peer_uri=NODES["Primary"],
            watches=(),
            heartbeat=heartbeat,
            timeout=timeout,
            password="",
            watch_password="",
        )
    )


WATCH = {"clusterWatchId": "WATCH", "clusterWatchRunId": "AAAAAAAAAAAAAAAAAAAAAA"}


def confirm(request_id: int, **fields) -> dict:
    """JS7's ClusterWatchConfirm (ClusterWatchingCommandTest.scala)."""
    return {"TYPE": "ClusterWatchConfirm", "requestId": request_id, **WATCH, **fields}


@pytest.fixture
async def watch():
    pw = pulled(heartbeat=0.05, timeout=1.0)
    app = web.Application()
    app.router.add_get("/messages", pw.messages)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield pw, client
    await client.close()


async def first_request(client) -> dict:
    """The first request on a fresh stream (keep-alive lines skipped)."""
    async with client.get("/messages") as resp:
        async for raw in resp.content:
            if raw.strip():
                return json.loads(raw)
    raise AssertionError("stream ended")


async def test_a_consent_request_is_read_and_confirmed(watch):
    pw, client = watch
    asking = asyncio.create_task(pw.consent("Backup", FAIL_OVER, STATE))
    request = await first_request(client)
    # JS7's ClusterWatchCheckEvent (ClusterWatchRequestTest.scala), with the
    # reference-only generation beside it.
    assert request == {
        "TYPE": "ClusterWatchCheckEvent",
        "requestId": request["requestId"],
        "correlId": "",
        "from": "Backup",
        "event": FAIL_OVER,
        "clusterState": {
            "TYPE": "Coupled",
            "setting": {
                "idToUri": NODES,
                "activeId": "Primary",
                "timing": {"heartbeat": 0.05, "heartbeatTimeout": 1.0, "consentTimeout": 1.0},
            },
        },
        "forceWhenUntaught": False,
        "generation": 3,
    }
    await pw.confirm(confirm(request["requestId"]))
    assert await asking is True


async def test_a_refusal_names_the_watchs_problem(watch):
    pw, client = watch
    asking = asyncio.create_task(pw.consent("Backup", FAIL_OVER, STATE))
    request = await first_request(client)
    await pw.confirm(
        confirm(
            request["requestId"],
            problem={"code": "ClusterWatchActiveStillAlive", "message": "heard 0.1s ago"},
        )
    )
    assert await asking == "ClusterWatchActiveStillAlive: heard 0.1s ago"
    assert pw.status()["lastWatch"] == WATCH


async def test_a_refusal_as_js7_writes_it_without_a_code(watch):
    pw, client = watch
    asking = asyncio.create_task(pw.consent("Backup", FAIL_OVER, STATE))
    request = await first_request(client)
    await pw.confirm(confirm(request["requestId"], problem={"message": "PROBLEM"}))
    assert await asking == "Problem: PROBLEM"


async def test_nobody_answering_is_no_consent_and_is_counted():
    pw = pulled(heartbeat=0.05, timeout=0.2)
    assert await pw.consent("Backup", FAIL_OVER, STATE) is None
    assert await pw.heartbeat("Primary", STATE) is None
    assert pw.status()["unanswered"] == {"ClusterFailedOver": 1, "ClusterWatchCheckState": 1}


async def test_a_node_without_a_cluster_asks_nothing():
    pw = pulled(heartbeat=0.05, timeout=5.0)
    assert await pw.heartbeat("Primary", {"TYPE": "Empty"}) is None
    assert pw.status()["unanswered"] == {}


async def test_an_unanswered_request_is_sent_again_on_the_next_stream(watch):
    pw, client = watch
    asking = asyncio.create_task(pw.heartbeat("Primary", STATE))
    first = await first_request(client)
    again = await first_request(client)  # the Watch lost the first stream
    assert again == first and first["TYPE"] == "ClusterWatchCheckState"
    await pw.confirm(confirm(first["requestId"], clusterWatchState={"activeId": "Primary"}))
    assert await asking == {"activeId": "Primary", "clusterWatchId": "WATCH"}


async def test_late_and_malformed_confirms():
    pw = pulled(heartbeat=0.05, timeout=0.2)
    await pw.confirm(confirm(12345))  # nobody waits for it: void
    for bad, code in (
        ({**confirm(1), "requestId": "1"}, "InvalidField"),
        ({k: v for k, v in confirm(1).items() if k != "clusterWatchId"}, "MissingField"),
        ({**confirm(1), "problem": {"code": "X"}}, "MissingField"),
    ):
        with pytest.raises(Problem) as exc:
            await pw.confirm(bad)
        assert exc.value.code == code, bad


async def test_closing_ends_every_stream_and_every_new_one_at_once(watch):
    """A stopping node must not wait for the Watch to hang up: an open stream
    held the web server's shutdown until SIGKILL (every Controller stop took
    10 s)."""
    pw, client = watch

    async def read_to_end() -> None:
        async with client.get("/messages") as resp:
            async for _ in resp.content:
                pass

    reading = asyncio.create_task(read_to_end())
    await asyncio.sleep(0.1)
    pw.close()
    await asyncio.wait_for(reading, 2.0)
    await asyncio.wait_for(read_to_end(), 2.0)
