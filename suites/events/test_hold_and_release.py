"""EVT-HOLD-UNTIL-ACK and EVT-RELEASE (seeds 001, 004).

"Events stay with the originating component until the receiver confirms;
only then are they released" — on both hops: the Agent keeps its events until
the Controller journaled them, the Controller keeps its events until History
released them. "After History acknowledges, the Controller drops the events
from its journal" — the journal shrinks.
"""

import asyncio
import random

import aiohttp
import pytest

from harness import faults
from harness.checkers import CheckResult, compose, no_loss
from harness.clients.js7 import (
    agent_client,
    controller_client,
    deploy_workflow,
    journal_bytes,
    torn_event_id,
    wait_all_orders,
)
from harness.clients.node import ProblemError
from harness.clients.snapshot import read_snapshot
from harness.errors import DeadlineExceeded
from harness.js7topo import controller_and_agents, internal_workflow, shell_workflow
from harness.workload import add_orders, read_all_events


@pytest.mark.guarantee("EVT-HOLD-UNTIL-ACK")
async def test_events_are_held_until_acknowledged_across_restarts(deploy, history, results):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    agent = agent_client(dep, "agent-1")
    await deploy_workflow(ctl, shell_workflow("hold", ("agent-1", "sleep 0.3; echo held")))
    first = (await read_all_events(ctl))[0]["eventId"]
    violations: list[dict[str, int]] = []
    probes = 0
    stop = asyncio.Event()

    async def probe():
        # The Agent may only have deleted what the Controller journaled:
        # agent torn id <= the Agent eventId the Controller has committed.
        # (Read the Agent first: the Controller's value only grows.)
        nonlocal probes
        while not stop.is_set():
            try:
                torn = await torn_event_id(agent)
                committed = (await read_snapshot(ctl)).agents["agent-1"]["eventId"]
                probes += 1
                if torn > committed:
                    violations.append({"agentTorn": torn, "controllerCommitted": committed})
            except (TimeoutError, OSError, ProblemError, aiohttp.ClientError):
                pass  # the Controller is down for a moment: nothing to compare
            await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    ids = [f"hold-{i}" for i in range(40)]
    await add_orders(history, ctl, "hold", ids[:20])
    async with faults.stop(dep, "controller"):
        pass
    await add_orders(history, ctl, "hold", ids[20:])
    async with faults.kill(dep, "controller"):
        pass
    await wait_all_orders(dep, ids)
    # A few more probes after the end, so the last release is covered too.
    await dep.wait_for(
        "probes after the end", lambda: asyncio.sleep(0, probes), accept=lambda n: n >= 20
    )
    stop.set()
    await prober
    # Nobody released on the Controller: every event since the very first is there.
    async with history.op("consumer", "read") as op:
        events = await read_all_events(ctl, after=0)
        op.ok([e["Key"] for e in events if e["TYPE"] == "OrderFinished"])
    controller_torn = await torn_event_id(ctl)
    held = CheckResult(
        events[0]["eventId"] == first and controller_torn == 0 and not violations,
        {
            "first-event-kept": events[0]["eventId"] == first,
            "controller-torn-event-id": controller_torn,
            "agent-released-before-controller-committed": violations[:10],
            "probes": probes,
        },
        "held-until-ack",
    )
    result = compose(no_loss(history.records), held)
    assert results.add(result), result.explain()


@pytest.mark.guarantee("EVT-RELEASE")
async def test_journal_shrinks_after_history_releases(deploy, history, results):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    consumer = controller_client(dep, "controller", user="History")
    await deploy_workflow(ctl, internal_workflow("rel", ("agent-1", "js7ha.Echo")))
    ids = [f"rel-{i}" for i in range(1500)]
    await add_orders(history, ctl, "rel", ids, concurrency=16)
    await wait_all_orders(dep, ids)
    events = await read_all_events(consumer)
    before = journal_bytes(dep, "controller")
    until = events[-1]["eventId"]
    await consumer.command({"TYPE": "ReleaseEvents", "untilEventId": until})
    try:
        torn = await dep.wait_for(
            "events deleted after release",
            lambda: torn_event_id(ctl),
            accept=lambda t: t == until,
        )
    except DeadlineExceeded:
        torn = await torn_event_id(ctl)  # nothing deleted: the verdict below says so

    async def size() -> int:
        return journal_bytes(dep, "controller")

    try:
        after = await dep.wait_for("journal file shrinks", size, accept=lambda n: n < before / 2)
    except DeadlineExceeded:
        after = journal_bytes(dep, "controller")  # reported below as the broken guarantee
    await add_orders(history, ctl, "rel", ["rel-after"])  # the journal keeps working
    await wait_all_orders(dep, ["rel-after"])
    try:
        await read_all_events(consumer, after=0)
        torn_problem = None
    except ProblemError as exc:
        torn_problem = exc.code
    async with history.op("consumer", "read") as op:
        rest = await read_all_events(consumer, after=until)
        op.ok([e["Key"] for e in events + rest if e["TYPE"] == "OrderFinished"])
    results.measure("journal bytes before release", before)
    results.measure("journal bytes after release", after)
    shrank = CheckResult(
        torn == until and after < before / 2 and torn_problem == "EventSeqTorn",
        {
            "released-until": until,
            "torn-event-id": torn,
            "before": before,
            "after": after,
            "read-after-0": torn_problem,
        },
        "journal-shrinks",
    )
    result = compose(no_loss(history.records), shrank)
    assert results.add(result), result.explain()


AWAY_RATE, AWAY_SECONDS = 20, 15


@pytest.mark.guarantee("EVT-OUTAGE-BUFFER")
async def test_a_consumer_away_under_load_gets_every_event_when_back(
    deploy, history, results, rng: random.Random
):
    dep = await deploy(controller_and_agents(1))
    ctl = controller_client(dep, "controller")
    consumer = controller_client(dep, "controller", user="History")
    await deploy_workflow(ctl, internal_workflow("buf", ("agent-1", "js7ha.Echo")))
    seen: list[dict] = []
    position = 0

    refused: list[str] = []

    async def consume(until_ids: set[str]):
        nonlocal position
        while not until_ids <= {e["Key"] for e in seen if e["TYPE"] == "OrderFinished"}:
            try:
                batch = [e async for e in consumer.events(position, timeout=1, limit=1000)]
            except ProblemError as exc:
                if exc.code not in ("EventSeqTorn", "UnknownEventId"):
                    raise
                refused.append(f"{exc.code}: {exc.message}")  # the verdict says it
                return
            if batch:
                seen.extend(batch)
                position = batch[-1]["eventId"]
                await consumer.command({"TYPE": "ReleaseEvents", "untilEventId": position})

    first = [f"buf-a{i}" for i in range(200)]
    await add_orders(history, ctl, "buf", first, concurrency=8)
    await consume(set(first))
    # The consumer goes away while load continues (and the Controller restarts).
    held_from = position
    second = [f"buf-b{i}" for i in range(800)]
    await add_orders(history, ctl, "buf", second, concurrency=8)
    async with faults.kill(dep, "controller"):
        pass
    third = [f"buf-c{i}" for i in range(200)]
    await add_orders(history, ctl, "buf", third, concurrency=8)
    # Away for longer still, under a steady load: an outage of any length, not
    # only the seconds the bursts above take (a Controller that dropped a
    # consumer silent for ten seconds passed them).
    fourth = [f"buf-d{i}" for i in range(AWAY_RATE * AWAY_SECONDS)]
    await add_orders(history, ctl, "buf", fourth, rate=AWAY_RATE, concurrency=8)
    third += fourth
    await wait_all_orders(dep, first + second + third)
    held = await torn_event_id(ctl)
    await consume(set(first + second + third))
    async with history.op("consumer", "read") as op:
        op.ok([e["Key"] for e in seen if e["TYPE"] == "OrderFinished"])
    ids = [e["eventId"] for e in seen]
    buffered = CheckResult(
        held <= held_from and ids == sorted(set(ids)) and not refused,
        {
            "torn-while-away": held,
            "refused-on-return": refused,
            "consumer-position-when-leaving": held_from,
            "events-read": len(ids),
            "strictly-increasing": ids == sorted(set(ids)),
        },
        "buffered-while-away",
    )
    result = compose(no_loss(history.records), buffered)
    assert results.add(result), result.explain()
