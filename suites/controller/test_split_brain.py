"""CTL-SPLIT-BRAIN (seed 001, implied by the Cluster Watch): never two active
Controllers, under every partition shape between Primary, Backup and Watch,
with load. Checked from both nodes' own reports (sampled) and from the
acknowledged operations (two nodes acknowledging orders in overlapping
periods would be two actives)."""

import asyncio

import pytest

from harness import faults
from harness.checkers import CheckResult, single_active
from harness.errors import DeadlineExceeded

from .workload import Load, cluster_checks, coupled_cluster, final_read, settle

SHAPES = {
    "isolate-primary": lambda d: faults.isolate(d, "primary", post_check=False),
    "isolate-backup": lambda d: faults.isolate(d, "backup", post_check=False),
    "isolate-watch": lambda d: faults.isolate(d, "watch", post_check=False),
    "primary-alone": lambda d: faults.split(d, ["primary"], ["backup", "watch"], post_check=False),
    "backup-alone": lambda d: faults.split(d, ["backup"], ["primary", "watch"], post_check=False),
    "watch-bridges": lambda d: faults.bridge(d, ["primary"], "watch", ["backup"], post_check=False),
    "one-way-primary-to-backup": lambda d: faults.one_way(
        d, ["primary"], ["backup"], post_check=False
    ),
    "one-way-backup-to-primary": lambda d: faults.one_way(
        d, ["backup"], ["primary"], post_check=False
    ),
}


def acks_as_samples(records):
    """Each acknowledged order is evidence that its node was active then."""
    out = []
    for r in records:
        if r.get("f") == "add" and r["type"] == "ok" and r.get("node"):
            out.append(
                {
                    **r,
                    "f": "ack-active",
                    "value": {"role": "controller", "node": r["node"], "active": True},
                }
            )
        elif r.get("f") == "add" and r["type"] == "invoke":
            out.append({**r, "f": "ack-active"})
    return out


@pytest.mark.guarantee("CTL-SPLIT-BRAIN")
@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_never_two_actives(deploy, history, results, profile, shape):
    dep, client = await coupled_cluster(deploy)
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    async with (
        Load(history, client, rate=30, interval=profile.poll_interval, prefix=shape),
        SHAPES[shape](dep),
    ):
        # The fault's duration is the experiment (not a wait for a condition):
        # long enough for every timeout to fire and every consent to be asked.
        await asyncio.sleep(4 * timeout)
    await settle(dep, client)
    await final_read(dep, client, history)
    from_acks = single_active(acks_as_samples(history.records), role="controller", f="ack-active")
    result = cluster_checks(history, from_acks)
    assert results.add(result), result.explain()


@pytest.mark.guarantee("CTL-SPLIT-BRAIN")
async def test_a_restarted_active_goes_on_alone_only_with_the_watchs_consent(
    deploy, history, results, profile
):
    """Both nodes crash and come back. The primary (active before) can ask
    the backup, which answers that it is passive; but the backup cannot reach
    the primary, and the primary cannot reach the Watch, which therefore has
    not heard it since the crash. The backup fails over with the Watch's
    consent — so the primary must not go on alone on the strength of the
    backup's earlier answer. (Found on the Docker backend, where the same
    race happened by timing alone after a restart of both nodes.)"""
    dep, client = await coupled_cluster(deploy)
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    async with Load(history, client, rate=30, interval=profile.poll_interval, prefix="rs"):
        async with faults.kill(dep, "primary", "backup", restart=False, post_check=False):
            pass
        async with faults.partition(
            dep, ["backup--primary", "watch--primary"], pre_check=False, post_check=False
        ):
            await dep.backend.start("backup")
            await dep.backend.start("primary")
            # The experiment's duration: every timeout fires, every consent is asked.
            await asyncio.sleep(4 * timeout)
    try:
        await settle(dep, client)
        await final_read(dep, client, history)
        unsettled = None
    except DeadlineExceeded as exc:
        # Two nodes that both stay active never settle: let the checkers
        # say what the samples show rather than stop at the timeout.
        unsettled = str(exc)
    from_acks = single_active(acks_as_samples(history.records), role="controller", f="ack-active")
    settled = CheckResult(unsettled is None, {"unsettled": unsettled}, "settles")
    result = cluster_checks(history, from_acks, settled)
    assert results.add(result), result.explain()
