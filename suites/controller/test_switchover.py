"""Switch-over and normal shutdown of the Controller cluster (seed 001,
JS7-FACTS §3), counted under CTL-FAILOVER: ``ClusterSwitchOver`` only when
Coupled; a normal stop of the active is ``ActiveShutDown`` — no fail-over,
and the same node is active after its restart; no order lost throughout."""

import pytest

from harness import faults
from harness.checkers import CheckResult, compose
from harness.clients.js7 import wait_cluster
from harness.clients.node import ProblemError
from harness.workload import read_all_events

from .workload import Load, cluster_checks, coupled_cluster, final_read


@pytest.mark.guarantee("CTL-FAILOVER")
async def test_switch_over_hands_over_and_normal_stop_does_not_fail_over(
    deploy, history, results, profile
):
    dep, client = await coupled_cluster(deploy)
    assert await client.find_active() == "primary"
    async with Load(history, client, rate=30, interval=profile.poll_interval, prefix="sw"):
        await client.command({"TYPE": "ClusterSwitchOver"})
        await wait_cluster(dep, client)
        after_switch = await client.find_active()
        # A normal stop of the active: the passive must NOT take over.
        async with faults.stop(dep, after_switch or "backup"):
            states = await client.states()
            during_stop = {n: (s or {}).get("isActive") for n, s in states.items()}
            shut_down_type = (states["primary"] or {}).get("TYPE")
        await wait_cluster(dep, client)
        after_restart = await client.find_active()
    # Lose the passive: the active goes on alone (PassiveLost, with the
    # Watch's consent) and must refuse a switch-over.
    passive = "primary" if after_restart == "backup" else "backup"
    async with faults.stop(dep, passive):
        await dep.wait_for(
            "the active alone",
            client.states,
            accept=lambda st: any(
                (s or {}).get("TYPE") == "PassiveLost" and s.get("isActive") for s in st.values()
            ),
        )
        try:
            await client.command({"TYPE": "ClusterSwitchOver"})
            not_coupled = None
        except ProblemError as exc:
            not_coupled = exc.code
    await final_read(dep, client, history)
    # From the events: after the switch, every (re-)coupling names the new
    # active — the old one must never couple the cluster back to itself.
    events = await read_all_events(client.client(await client.find_active() or "backup"))
    cluster = [e for e in events if e["TYPE"].startswith("Cluster")]
    switch = next((i for i, e in enumerate(cluster) if e["TYPE"] == "ClusterSwitchedOver"), None)
    undone = [
        e
        for e in cluster[(switch or 0) + 1 :]
        if e["TYPE"] in ("ClusterCouplingPrepared", "ClusterCoupled")
        and e.get("activeId") != after_switch
    ][:1]
    checks = CheckResult(
        after_switch == "backup"
        and not any(during_stop.values())
        and shut_down_type == "ActiveShutDown"
        and after_restart == "backup"
        and not_coupled == "ClusterSwitchOverButNotCoupled",
        {
            "active-after-switch-over": after_switch,
            "active-during-normal-stop": during_stop,
            "passive-saw": shut_down_type,
            "active-after-restart": after_restart,
            "switch-over-when-not-coupled": not_coupled,
            "coupling-back-after-switch": undone,
        },
        "switch-over-and-shutdown",
    )
    result = compose(cluster_checks(history), checks)
    assert results.add(result), result.explain()


@pytest.mark.guarantee("CTL-FAILOVER")
async def test_switch_over_over_a_slow_link_never_shows_two_actives(
    deploy, history, results, profile
):
    """The passive learns of ``ClusterSwitchedOver`` by pulling the journal,
    and the old active learns that it took over only later. A slow link
    between them stretches that moment: the old active must stop claiming the
    active role from its switch event on, not from the other's answer."""
    dep, client = await coupled_cluster(deploy)
    slow = ["backup--primary", "primary--backup"]
    async with (
        Load(history, client, rate=30, interval=profile.poll_interval, prefix="slow"),
        faults.latency(dep, slow, 60),
    ):
        await client.command({"TYPE": "ClusterSwitchOver"})
        await wait_cluster(dep, client)
        after_switch = await client.find_active()
    await final_read(dep, client, history)
    checks = CheckResult(
        after_switch == "backup", {"active-after-switch-over": after_switch}, "switched"
    )
    result = compose(cluster_checks(history), checks)
    assert results.add(result), result.explain()
