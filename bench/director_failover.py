"""Benchmark: Director fail-overs by SIGKILL while Subagents run jobs.

    python bench/director_failover.py [--rounds 50] [--rate 100] [--json out.json]

A Controller, a Director pair and three Subagents (``agent_cluster``). Orders
arrive at ``rate`` per second, each a short job on a Subagent that records
its run there. Each round SIGKILLs the active Director, measures the time
from the kill to the first probe that finds the other Director acting as
active (the suites' ``failover_time`` checker, ``act`` operations),
restarts the killed Director and waits until the pair is coupled again. At
the end every acknowledged order must have finished, each job executed
exactly once (from the Subagents' side effects). Target (issue 15): p99 <=
2 s (JS7 documents "typically 2-3s"), zero lost, zero doubles.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import failover_cli
from harness.checkers import exactly_once, failover_times, no_loss
from harness.history import History
from harness.js7topo import agent_cluster
from harness.standalone import standalone
from suites.agent_cluster.cluster import SUBAGENTS, final_read, record_runs
from suites.agent_cluster.directors import DirectorLoad, prepare_pair

JOB_SECONDS = 0.3


async def run(rounds: int, rate: float) -> dict[str, object]:
    history = History()
    async with standalone(agent_cluster(2, len(SUBAGENTS)), history=history) as dep:
        directors = await prepare_pair(dep, JOB_SECONDS)
        async with DirectorLoad(dep, history, directors, rate, prefix="bench") as load:
            await failover_cli.kill_rounds(dep, directors, rounds)
        await failover_cli.drain(dep, load.ids)
        await final_read(dep, history)
        record_runs(dep, history, SUBAGENTS)
    bound = dep.profile.bound("AGT-DIRECTOR-FAILOVER")
    times = failover_times(history.records, fault_name="kill", f="act", bound=bound)
    once = exactly_once(history.records)
    result = failover_cli.summary(
        rounds,
        rate,
        times,
        no_loss(history.records),
        double_executions=once.details.get("duplicated-count"),
    )
    result["valid"] = result["valid"] and once.valid is True
    return result


if __name__ == "__main__":
    failover_cli.main(__doc__, run, rate=100)
