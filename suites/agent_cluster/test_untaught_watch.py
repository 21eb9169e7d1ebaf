"""AGT-CLUSTER-NO-WATCH, the untaught Watch (AGENT-CLUSTER.md A.4; JS7's
``UntaughtAgentClusterWatchTest``).

JS7's Controller keeps what its Cluster Watch learnt about a Director pair
in memory only: restarted, it knows nothing of the pair. The Controller is
stopped (an upgrade, a crash) and meanwhile the active Director dies; the
Controller comes back and hears only the Backup, asking to fail over. It
cannot judge: it journals ``AgentClusterWatchConfirmationRequired`` with a
``ClusterNodeLossNotConfirmedProblem`` (AgentRefStateEventTest.scala) and
the Backup does not take over — never two actives. Once a user confirms with
``ConfirmClusterNodeLoss{agentPath, lostNodeId}`` the Backup takes over, the
Controller journals ``AgentClusterWatchManuallyConfirmed``, and every order
finishes with each job run once (the jobs' side effects on the Subagents).
"""

import asyncio

import pytest

from harness import faults
from harness.checkers import CheckResult
from harness.clients.js7 import controller_client, observe_active, wait_all_orders, wait_cluster
from harness.workload import add_orders, read_all_events
from suites.agent_cluster.cluster import AGENT, BACKUP, backup_held, judge
from suites.agent_cluster.directors import DIRECTORS, WORKFLOW, director_pair
from suites.controller.workload import settle

ORDERS = 10
JOB_SECONDS = 2.0  # the jobs still run on the Subagents while nobody is active
REFUSED = 2  # fail-overs the Backup asked for and the untaught Watch refused
# JS7's shape (AgentRefStateEventTest.scala); JS7's event also names failedAt.
REQUIRED = {
    "TYPE": "AgentClusterWatchConfirmationRequired",
    "Key": AGENT,
    "problem": {
        "TYPE": "ClusterNodeLossNotConfirmedProblem",
        "fromNodeId": "Backup",
        "event": {
            "TYPE": "ClusterFailedOver",
            "failedActiveId": "Primary",
            "activatedId": "Backup",
        },
    },
}


def _watch_events(events):
    return [
        e for e in events if e["TYPE"].startswith("AgentClusterWatch") and e.get("Key") == AGENT
    ]


def _shape(e):
    """What JS7 fixes of an event: TYPE, Key, problem (without eventId,
    timestamp, and the event's failedAt, which JS7 adds)."""
    out = {k: e[k] for k in ("TYPE", "Key", "problem") if k in e}
    if isinstance(out.get("problem"), dict) and isinstance(out["problem"].get("event"), dict):
        event = {k: v for k, v in out["problem"]["event"].items() if k != "failedAt"}
        out["problem"] = {**out["problem"], "event": event}
    return out


@pytest.mark.guarantee("AGT-CLUSTER-NO-WATCH")
async def test_an_untaught_controller_lets_the_backup_take_over_only_once_the_loss_is_confirmed(
    deploy, history, results, profile
):
    dep, directors = await director_pair(deploy, JOB_SECONDS)
    ctl = controller_client(dep, "controller")
    ids = [f"untaught-{i}" for i in range(ORDERS)]
    await add_orders(history, ctl, WORKFLOW, ids)
    assert await directors.find_active() == AGENT

    async def untaught() -> dict:
        states = await directors.states()
        return {
            "watch-events": _watch_events(await read_all_events(ctl)),
            # The Backup logs each refused request (ClusterNode._fail_over).
            "refused": dep.backend.logs(BACKUP).count("no fail-over: UntaughtClusterWatch"),
            "backup-active": bool((states.get(BACKUP) or {}).get("isActive")),
        }

    stop = asyncio.Event()
    sampler = asyncio.create_task(
        observe_active(history, directors, stop, profile.poll_interval, "director")
    )
    # The Primary dies while no Controller runs and stays dead (restart=False)
    # until the user has confirmed its loss; the kill's window — what
    # no_takeover reads — ends just before that confirmation.
    async with (
        faults.stop(dep, "controller") as watch_down,
        faults.kill(dep, AGENT, restart=False, post_check=False) as lost,
    ):
        await watch_down.heal()  # the Controller back, its Watch untaught
        # Either is the end of the experiment: the Watch refused (and the
        # Backup asked again after the refusal was journaled), or the Backup
        # took over unconfirmed — which the checkers then name.
        during = await dep.wait_for(
            f"the untaught Watch refusing the Backup's fail-over {REFUSED} times",
            untaught,
            accept=lambda u: u["backup-active"] or (u["watch-events"] and u["refused"] >= REFUSED),
        )
    async with history.op("client", "confirm-node-loss", "Primary") as op:
        await ctl.command(
            {"TYPE": "ConfirmClusterNodeLoss", "agentPath": AGENT, "lostNodeId": "Primary"}
        )
        op.node = "controller"
    await dep.wait_for(
        "the Backup Director active once the loss is confirmed",
        directors.find_active,
        accept=lambda n: n == BACKUP,
    )
    # Restarted, the Primary rejoins as the passive Director.
    await settle(dep, directors, nodes=DIRECTORS)
    await wait_cluster(dep, directors)
    await wait_all_orders(dep, ids)
    stop.set()
    await sampler
    watch_events = [_shape(e) for e in _watch_events(await read_all_events(ctl))]
    expected = [REQUIRED, {"TYPE": "AgentClusterWatchManuallyConfirmed", "Key": AGENT}]
    confirmed = CheckResult(
        watch_events == expected and during["refused"] >= REFUSED,
        {
            "controller-events": watch_events,
            "expected": expected,
            "refusals-before-confirmation": during["refused"],
        },
        "confirmation-required-then-confirmed",
    )
    result = await judge(dep, history, backup_held(lost.fault_id, confirmed))
    assert results.add(result), result.explain()
