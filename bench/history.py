"""Benchmark: tasks through Controller, Agent and JOC's History Service into
PostgreSQL.

    python bench/history.py [--seconds 30] [--rate 1000] [--batch 50] [--json out.json]

Orders of one in-process job each go to the Controller (``Batch`` of
``AddOrder``) at ``--rate`` per second; the Agent runs them; the active JOC
instance's History Service reads the Controller's events and writes
``HISTORY_ORDERS``/``HISTORY_ORDER_STEPS``/``HISTORY_LOGS`` in PostgreSQL.

Reports the sustained rate of tasks written by History, and p50/p99 from
each ``OrderFinished`` on the Controller (its eventId: epoch microseconds,
same host, same clock) to the moment its terminated row was committed and
announced on JOC's push feed (``events/history``, published after the
commit, so the row is visible through ``orders/history`` from then on). At
the end every order is read back through ``orders/history``: zero loss and
no duplicate row are required. Target (issue 5): p99 <= 1 s at 1,000
tasks/s, zero loss.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import machine, pct
from harness.clients.joc import JocClient
from harness.clients.js7 import controller_client, deploy_workflow, wait_coupled
from harness.errors import DeadlineExceeded
from harness.js7topo import internal_workflow
from harness.standalone import standalone
from suites.joc.support import FeedListener, history_orders, joc_cluster, wait_one_active


async def run(seconds: float, rate: float, batch: int, drain: float) -> dict[str, object]:
    async with standalone(joc_cluster(1)) as dep:
        ctl = controller_client(dep, "controller")
        await deploy_workflow(ctl, internal_workflow("bench", ("agent-1", "js7ha.Noop")))
        await wait_coupled(dep)
        joc = await wait_one_active(dep)
        client = JocClient(dep, joc)
        listener = await FeedListener(dep, joc).start()
        sent: list[str] = []
        stop = asyncio.Event()

        async def produce() -> None:
            t0 = time.monotonic()
            n = 0
            while not stop.is_set():
                due = t0 + n / rate
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                ids = [f"h{n + i}" for i in range(batch)]
                await ctl.command(
                    {
                        "TYPE": "Batch",
                        "commands": [
                            {"TYPE": "AddOrder", "order": {"id": oid, "workflowPath": "bench"}}
                            for oid in ids
                        ],
                    }
                )
                sent.extend(ids)
                n += batch

        producer = asyncio.create_task(produce())
        await asyncio.sleep(5)  # warm-up, not measured
        warm = set(listener.announced)
        a0, t0 = len(listener.announced), time.monotonic()
        await asyncio.sleep(seconds)
        a1, t1 = len(listener.announced), time.monotonic()
        stop.set()
        await producer
        offered = len(sent)
        # Drain: everything sent must be written; how long that takes is reported.
        d0 = time.monotonic()
        with contextlib.suppress(DeadlineExceeded):
            await dep.wait_for(
                "every order written",
                lambda: asyncio.sleep(0, len(listener.announced)),
                accept=lambda n: n >= offered,
                deadline=drain,
            )
        drained = time.monotonic() - d0
        await listener.stop()
        lat = listener.latencies()
        measured = [v for k, v in lat.items() if k not in warm]
        rows = await history_orders(client, None)
        counts = Counter(r["orderId"] for r in rows if r["orderState"]["_text"] == "FINISHED")
        lost = [o for o in sent if counts[o] == 0]
        dup = [o for o, c in counts.items() if c > 1]
        return {
            "machine": machine(),
            "seconds": round(t1 - t0, 1),
            "offered_rate": rate,
            "tasks_written_per_s": round((a1 - a0) / (t1 - t0), 1),
            "orders_sent": offered,
            "drain_s": round(drained, 1),
            "latency_p50_ms": round(pct(measured, 50) * 1000, 1),
            "latency_p99_ms": round(pct(measured, 99) * 1000, 1),
            "latency_max_ms": round(max(measured, default=float("nan")) * 1000, 1),
            "history_rows": sum(counts.values()),
            "lost": len(lost),
            "duplicated": len(dup),
        }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=1000, help="tasks offered per second")
    ap.add_argument("--batch", type=int, default=50, help="AddOrders per Batch request")
    ap.add_argument("--drain", type=float, default=300, help="max seconds to catch up")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = asyncio.run(run(args.seconds, args.rate, args.batch, args.drain))
    for k, v in result.items():
        print(f"{k:20} {v}")
    ok = (
        result["tasks_written_per_s"] >= 0.95 * 1000  # type: ignore[operator]
        and result["latency_p99_ms"] <= 1000  # type: ignore[operator]
        and result["lost"] == 0
        and result["duplicated"] == 0
    )
    print(f"target (1000 tasks/s, p99 <= 1 s, zero loss): {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
