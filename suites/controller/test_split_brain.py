"""CTL-SPLIT-BRAIN (seed 001, implied by the Cluster Watch): never two active
Controllers, under every partition shape between Primary, Backup and Watch,
with load. Checked from both nodes' own reports (sampled) and from the
acknowledged operations (two nodes acknowledging orders in overlapping
periods would be two actives)."""

import asyncio

import pytest

from harness import faults
from harness.checkers import single_active

from .workload import Load, cluster_checks, coupled_cluster, final_read, settle

SHAPES = {
    "isolate-primary": lambda d: faults.isolate(d, "primary", check_health=False),
    "isolate-backup": lambda d: faults.isolate(d, "backup", check_health=False),
    "isolate-watch": lambda d: faults.isolate(d, "watch", check_health=False),
    "primary-alone": lambda d: faults.split(
        d, ["primary"], ["backup", "watch"], check_health=False
    ),
    "backup-alone": lambda d: faults.split(d, ["backup"], ["primary", "watch"], check_health=False),
    "watch-bridges": lambda d: faults.bridge(
        d, ["primary"], "watch", ["backup"], check_health=False
    ),
    "one-way-primary-to-backup": lambda d: faults.one_way(
        d, ["primary"], ["backup"], check_health=False
    ),
    "one-way-backup-to-primary": lambda d: faults.one_way(
        d, ["backup"], ["primary"], check_health=False
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
