"""AGT-DIRECTOR-FAILOVER (seed 001: "The Agent offers both an active-passive
cluster and an active-active cluster").

The active Director Agent killed (SIGKILL), paused (SIGSTOP) or isolated
while three Subagents run a steady load of jobs: the Backup Director takes
over with the Controller's consent (the Controller is the pair's Cluster
Watch), within the profile's bound (docs: "typically in 2-3s"); the
Controller follows it. The jobs on the Subagents keep running and their
outcomes reach the new active (AGENT-CLUSTER.md A.4: re-attached with an
idempotent StartOrderProcess). Judged by checkers: no acknowledged order
lost, every job executed exactly once (from the jobs' own side effects on
the Subagents), never two active Directors, the fail-over time.
"""

import contextlib

import pytest

from harness import faults
from harness.checkers import CheckResult, compose, failover_time, no_loss, single_active
from harness.clients.js7 import (
    controller_client,
    deploy_workflow,
    ensure_coupled,
    wait_all_orders,
)
from harness.js7topo import shell_job, workflow
from harness.workload import JobRuns, add_orders, read_all_events
from suites.agent_cluster.cluster import AGENT, BACKUP, SUBAGENTS, final_read, judge
from suites.agent_cluster.directors import DirectorLoad, director_pair
from suites.controller.workload import settle

RATE = 10  # orders per second
JOB_SECONDS = 0.5  # so a few jobs are running on the Subagents at the fault
STEADY = 20  # acknowledged orders before the fault


def _in_flight(kind, dep, active, profile):
    """For ``isolate-in-flight``: the Subagents' answers reach the active
    Director late (under its command timeout), so at the cut a few
    ``StartOrderProcess`` have been carried out but not answered. The cut-off
    Director retries them; a retry that goes out once the partition heals —
    when the new active has seen those jobs end and released them, so the
    Subagents have forgotten the orders — would run each job a second time.
    A correct Director sends nothing while it is not sure to be active."""
    if kind != "isolate-in-flight":
        return contextlib.nullcontext()
    ms = int(profile.components["agent.subagent.heartbeat"] * 1000)
    links = [f"{active}--{s}" for s in SUBAGENTS]
    return faults.latency(dep, links, ms, streams=("downstream",))


@pytest.mark.guarantee("AGT-DIRECTOR-FAILOVER")
@pytest.mark.parametrize("kind", ["kill", "pause", "isolate", "isolate-in-flight"])
async def test_the_backup_director_takes_over_and_no_job_runs_twice(
    deploy, history, results, profile, kind
):
    dep, directors = await director_pair(deploy, JOB_SECONDS)
    bound = profile.bound("AGT-DIRECTOR-FAILOVER")
    active = await directors.find_active()
    assert active is not None
    async with (
        _in_flight(kind, dep, active, profile),
        DirectorLoad(dep, history, directors, RATE, prefix=kind) as load,
    ):
        await dep.wait_for(
            "the load in steady state", _async(load.acked), accept=lambda n: n >= STEADY
        )
        # A coupled pair, or no Director may take over (by design).
        await ensure_coupled(dep, directors)
        async with faults.lose_active(kind, dep, active) as fault:
            await dep.wait_for(
                "the other Director active",
                directors.find_active,
                accept=lambda n: n not in (None, active),
            )
            before = load.acked()
            await dep.wait_for(
                "orders acknowledged after the fail-over",
                _async(load.acked),
                accept=lambda n: n >= before + STEADY // 2,
            )
        # A paused or isolated old active halts once it hears it was replaced
        # (its Watch, the Controller, says so); restarted it rejoins as passive.
        await settle(dep, directors, nodes=tuple(directors.clients))
    await wait_all_orders(dep, load.ids)
    ft = failover_time(history.records, fault=fault.fault_id, f="act", bound=bound)
    results.measure(f"Director fail-over seconds ({kind})", ft.details.get("seconds"))
    result = await judge(
        dep, history, lambda records: compose(single_active(records, role="director"), ft)
    )
    assert results.add(result), result.explain()


@pytest.mark.guarantee("AGT-DIRECTOR-FAILOVER")
async def test_jobs_of_the_dead_directors_own_subagent_run_again_unless_not_restartable(
    deploy, history, results
):
    """AGENT-CLUSTER.md A.4: a process on the failed Director's own Subagent
    died with it — ``OrderProcessed(Disrupted(ProcessLost))`` and a re-run on
    the new active Director; a job marked ``isNotRestartable`` fails instead."""
    dep, directors = await director_pair(deploy, JOB_SECONDS)
    ctl = controller_client(dep, "controller")
    record = 'echo "$JS7_ORDER_ID" >> "$JS7_AGENT_WORK/{}"'
    script = f"{record.format('starts')}; sleep 2; {record.format('runs')}"
    once = shell_job(AGENT, script)
    once["job"]["isNotRestartable"] = True
    await deploy_workflow(
        ctl, workflow("local", shell_job(AGENT, script)), workflow("local-once", once)
    )
    await add_orders(history, ctl, "local", ["again"])
    await add_orders(history, ctl, "local-once", ["once"])
    await dep.wait_for(
        "both jobs started on the Primary Director",
        _async(JobRuns(dep, AGENT, "starts").read),
        accept=lambda started: {"again", "once"} <= set(started),
    )
    async with faults.kill(dep, AGENT):
        await dep.wait_for(
            "the Backup Director active", directors.find_active, accept=lambda n: n == BACKUP
        )
    await wait_all_orders(dep, ["again"])
    await wait_all_orders(dep, ["once"], "Failed")
    await final_read(dep, history, ("OrderFinished", "OrderFailed"))
    events = await read_all_events(ctl)
    lost = sorted(
        e["Key"]
        for e in events
        if e["TYPE"] == "OrderProcessed"
        and e["outcome"].get("reason", {}).get("TYPE") == "ProcessLost"
    )
    on_backup = JobRuns(dep, BACKUP, "starts").read()
    ran = {"primary": JobRuns(dep, AGENT).read(), "backup": JobRuns(dep, BACKUP).read()}
    result = compose(
        no_loss(history.records),
        CheckResult(
            lost == ["again"] and on_backup == ["again"] and ran["backup"] == ["again"],
            {"process-lost": lost, "started-on-backup": on_backup, "ran": ran},
            "lost-with-its-director-and-run-again-once",
        ),
    )
    assert results.add(result), result.explain()


def _async(f):
    async def call():
        return f()

    return call
