"""Benchmark: orders through a Controller and one Agent (in-process job),
with the journals' SIGKILL-safe settings (SQLite WAL, synchronous=FULL).

    python bench/events.py [--seconds 60] [--rate 1000] [--json out.json]

Reports orders/s completed, events/s read by a consumer (as History would),
and p50/p99 from sending AddOrder to seeing its OrderFinished on the
Controller's event API. Target (issue 3): >= 1,000 orders/s sustained for
60 s with p99 <= 500 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.checkers import percentile
from harness.clients.js7 import controller_client, deploy_workflow, wait_coupled
from harness.js7topo import controller_and_agents, internal_workflow
from harness.standalone import standalone


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, CPython {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def pct(values: list[float], p: float) -> float:
    """The checkers' nearest-rank percentile (one method for every figure the
    project reports); NaN when nothing was measured."""
    return percentile(values, p) if values else float("nan")


async def run(seconds: float, rate: float, batch: int) -> dict[str, object]:
    async with standalone(controller_and_agents(1)) as dep:
        ctl = controller_client(dep, "controller")
        consumer = controller_client(dep, "controller", user="History")
        await deploy_workflow(ctl, internal_workflow("bench", ("agent-1", "js7ha.Noop")))
        await wait_coupled(dep)
        sent: dict[str, float] = {}
        latency: list[float] = []
        finished = 0
        events_read = 0
        stop = asyncio.Event()
        start = (await ctl.get(""))["eventId"]

        async def produce() -> None:
            t0 = time.monotonic()
            n = 0
            while not stop.is_set():
                due = t0 + n / rate
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                ids = [f"b{n + i}" for i in range(batch)]
                now = time.monotonic()
                for oid in ids:
                    sent[oid] = now
                await ctl.command(
                    {
                        "TYPE": "Batch",
                        "commands": [
                            {
                                "TYPE": "AddOrder",
                                "order": {
                                    "id": oid,
                                    "workflowPath": "bench",
                                    "deleteWhenTerminated": True,
                                },
                            }
                            for oid in ids
                        ],
                    }
                )
                n += batch

        async def consume() -> None:
            nonlocal finished, events_read
            after = start
            last_release = time.monotonic()
            while not stop.is_set():
                got = [e async for e in consumer.events(after, timeout=1, limit=5000)]
                now = time.monotonic()
                for e in got:
                    if e["TYPE"] == "OrderFinished" and e["Key"] in sent:
                        latency.append(now - sent.pop(e["Key"]))
                        finished += 1
                events_read += len(got)
                if got:
                    after = got[-1]["eventId"]
                if now - last_release > 1:
                    await consumer.command({"TYPE": "ReleaseEvents", "untilEventId": after})
                    last_release = now

        tasks = [asyncio.create_task(produce()), asyncio.create_task(consume())]
        await asyncio.sleep(5)  # warm-up, not measured
        latency.clear()
        f0, e0, t0 = finished, events_read, time.monotonic()
        await asyncio.sleep(seconds)
        f1, e1, t1 = finished, events_read, time.monotonic()
        lat = list(latency)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "machine": machine(),
            "seconds": round(t1 - t0, 1),
            "offered_rate": rate,
            "orders_per_s": round((f1 - f0) / (t1 - t0), 1),
            "events_per_s": round((e1 - e0) / (t1 - t0), 1),
            "latency_p50_ms": round(pct(lat, 50) * 1000, 1),
            "latency_p99_ms": round(pct(lat, 99) * 1000, 1),
            "latency_mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
            "backlog_at_end": len(sent),
        }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=1000, help="orders offered per second")
    ap.add_argument("--batch", type=int, default=50, help="AddOrders per Batch request")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = asyncio.run(run(args.seconds, args.rate, args.batch))
    for k, v in result.items():
        print(f"{k:18} {v}")
    ok = result["orders_per_s"] >= 1000 and result["latency_p99_ms"] <= 500  # type: ignore[operator]
    print(f"target (>= 1000 orders/s, p99 <= 500 ms): {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
