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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import failover_cli
from harness.checkers import failover_times, no_loss
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.history import History
from harness.js7topo import controller_cluster
from harness.standalone import standalone
from suites.controller.workload import WORKFLOW, Load, final_read


async def run(rounds: int, rate: float) -> dict[str, object]:
    history = History()
    async with standalone(controller_cluster(1), history=history) as dep:
        timeout = dep.profile.components["controller.cluster.heartbeat_timeout"]
        client = ClusterClient(dep, timeout=timeout)
        await wait_cluster(dep, client)
        await client.deploy(WORKFLOW)
        async with Load(history, client, rate=rate, interval=0.05, prefix="bench"):
            await failover_cli.kill_rounds(dep, client, rounds)
        await final_read(dep, client, history)
    times = failover_times(
        history.records, fault_name="kill", f="add", bound=dep.profile.bound("CTL-FAILOVER")
    )
    return failover_cli.summary(rounds, rate, times, no_loss(history.records))


if __name__ == "__main__":
    failover_cli.main(__doc__, run, rate=200)
