"""Benchmark: Controller fail-overs by SIGKILL under load.

    python bench/controller_failover.py [--rounds 50] [--rate 200] [--json out.json]

Each round SIGKILLs the active Controller while orders arrive at ``rate``
per second, measures the time from the kill to the first order acknowledged
by the new active (the same ``failover_time`` checker the suites use),
restarts the killed node and waits until the cluster is coupled again. At the
end every acknowledged order must have finished exactly once. Reports
p50/p99/max fail-over time and lost/duplicated counts. Target (issue 4):
p99 <= 2 s (JS7 documents ~3 s), zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import machine
from harness import faults
from harness.checkers import failover_times, no_loss
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.history import History
from harness.js7topo import controller_cluster
from harness.standalone import standalone
from suites.controller.workload import WORKFLOW, Load, final_read, settle


async def run(rounds: int, rate: float) -> dict[str, object]:
    history = History()
    async with standalone(controller_cluster(1), history=history) as dep:
        timeout = dep.profile.components["controller.cluster.heartbeat_timeout"]
        client = ClusterClient(dep, timeout=timeout)
        await wait_cluster(dep, client)
        await client.deploy(WORKFLOW)
        async with Load(history, client, rate=rate, interval=0.05, prefix="bench"):
            for i in range(rounds):
                active = await dep.wait_for("an active node", client.find_active)
                async with faults.kill(dep, active, restart=False, post_check=False):
                    await dep.wait_for(
                        "the other node active",
                        client.find_active,
                        accept=lambda n, a=active: n not in (None, a),
                    )
                await settle(dep, client)
                await wait_cluster(dep, client)
                print(f"round {i + 1}/{rounds} done", file=sys.stderr, flush=True)
        await final_read(dep, client, history)
    times = failover_times(
        history.records, fault_name="kill", f="add", bound=dep.profile.bound("CTL-FAILOVER")
    )
    loss = no_loss(history.records)
    d = times.details
    return {
        "machine": machine(),
        "rounds": rounds,
        "rate": rate,
        "failover_p50_s": d.get("p50"),
        "failover_p99_s": d.get("p99"),
        "failover_max_s": d.get("max"),
        "bound_s": d.get("bound"),
        "acknowledged": loss.details.get("acknowledged-count"),
        "lost": loss.details.get("lost-count"),
        "duplicated": loss.details.get("duplicated-count"),
        "valid": times.valid is True and loss.valid is True,
        "windows": d.get("windows"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = asyncio.run(run(args.rounds, args.rate))
    for k, v in result.items():
        if k != "windows":  # per-round details: in --json only
            print(f"{k:16} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
