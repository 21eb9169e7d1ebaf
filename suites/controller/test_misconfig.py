"""CTL-NOT-BACKUP and CTL-RECOVERY (seed 002).

A Secondary started without ``is-backup`` runs standalone; the Primary's
``ClusterStartBackupNode`` is refused with HTTP 400 ``ClusterNodeIsNotBackup``
and its log carries the seed's exact line. Both documented recovery
procedures, performed step by step, couple the cluster within their bounds."""

import re
import time

import pytest

from harness.checkers import CheckResult
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.clients.node import ProblemError
from harness.errors import HarnessError
from harness.js7topo import controller_cluster

SEED_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} WARN js7\.cluster\.ClusterCommon - "
    r"'ClusterStartBackupNode' command failed with HTTP 400 Bad Request: POST => "
    r"ClusterNodeIsNotBackup: The cluster node to be appointed is not configured as a "
    r"backup node$",
    re.M,
)


async def misconfigured(deploy):
    dep = await deploy(controller_cluster(1, backup_is_backup=False))
    await dep.wait_for("the Primary logs the refusal", lambda: _log_has(dep, "primary", SEED_LINE))
    return dep


def fix_backup_setting(dep):
    """The operator adds ``is-backup = yes`` to the stopped Secondary."""
    node = dep.topology.node("backup")
    dep.backend.reconfigure(
        "backup", {**node.config, "cluster": {**node.config["cluster"], "is_backup": True}}
    )


async def coupled_within(dep, client, results, t0, started, bound_id, name):
    """Wait for the cluster to couple; check the time since the last of the
    ``started`` nodes was up against the profile's bound ``bound_id``. The
    nodes' own start-up is the machine's, not the cluster's (a container
    start under CI load took 9.7 s of a 10.6 s measurement): it is reported
    beside, from ``t0``, and left out as CTL-COUPLING leaves it out."""
    bound = dep.profile.bound(bound_id)
    await wait_cluster(dep, client, deadline=bound + 30)
    ready = [dep.backend.ready_at(n) for n in started]
    if any(t is None for t in ready):
        raise HarnessError(f"{started} were started but not all have a time they were up")
    up = max(t for t in ready if t is not None)
    seconds = time.monotonic() - up
    results.measure(f"start-up seconds in {name}", round(up - t0, 3))
    results.measure(f"coupled seconds after {name}", round(seconds, 3))
    result = CheckResult(seconds <= bound, {"seconds": seconds, "bound": bound}, name)
    assert results.add(result), result.explain()


async def _log_has(dep, node, pattern):
    return bool(pattern.search(dep.backend.logs(node)))


@pytest.mark.guarantee("CTL-NOT-BACKUP")
async def test_secondary_without_is_backup_is_refused_with_the_seeds_message(deploy, results):
    dep = await misconfigured(deploy)
    client = ClusterClient(dep)
    try:
        await client.clients["backup"].command_path(
            "/cluster/command",
            {  # JS7's shape (ClusterCommandTest.scala L16-47)
                "TYPE": "ClusterStartBackupNode",
                "setting": {
                    "idToUri": {"Primary": "http://x", "Backup": "http://y"},
                    "activeId": "Primary",
                    "timing": {"heartbeat": 1, "heartbeatTimeout": 3},
                },
                "fileEventId": 0,
                "activeNodeName": "Primary",
                "passiveNodeUserId": "Backup",
            },
        )
        answer = None
    except ProblemError as exc:
        answer = (exc.status, exc.code, exc.message)
    lines = SEED_LINE.findall(dep.backend.logs("primary"))
    states = await client.states()
    result = CheckResult(
        answer
        == (
            400,
            "ClusterNodeIsNotBackup",
            "The cluster node to be appointed is not configured as a backup node",
        )
        and bool(lines)
        and states["primary"]["TYPE"] == "NodesAppointed",
        {
            "backup-answer": answer,
            "primary-log-lines": lines[:2],
            "primary-state": states["primary"]["TYPE"],
        },
        "not-backup",
    )
    assert results.add(result), result.explain()


@pytest.mark.guarantee("CTL-RECOVERY")
async def test_first_recovery_procedure_couples_within_its_bound(deploy, results):
    dep = await misconfigured(deploy)
    client = ClusterClient(dep)
    be = dep.backend
    # The seed's steps: shut down the Secondary, delete its state, (fix the
    # setting), start it, re-submit the registration (our Primary repeats
    # ClusterStartBackupNode by itself until it is accepted).
    await be.stop("backup")
    await be.wipe_state("backup")
    fix_backup_setting(dep)
    t0 = time.monotonic()
    await be.start("backup")
    await coupled_within(dep, client, results, t0, ["backup"], "CTL-RECOVERY", "procedure 1")


@pytest.mark.guarantee("CTL-RECOVERY")
async def test_second_recovery_procedure_with_the_watch_reset(deploy, results):
    dep = await misconfigured(deploy)
    client = ClusterClient(dep)
    be = dep.backend
    # Procedure 2: shut down the Primary; delete the Secondary's state; shut
    # down the Cluster Watch Agent and delete its state; start the Watch, then
    # the Primary (and the Secondary, now with its setting).
    await be.stop("primary")
    await be.stop("backup")
    await be.wipe_state("backup")
    fix_backup_setting(dep)
    await be.stop("watch")
    await be.wipe_state("watch")
    t0 = time.monotonic()
    await be.start("watch")
    await be.start("primary")
    await be.start("backup")
    started = ["watch", "primary", "backup"]
    await coupled_within(dep, client, results, t0, started, "CTL-RECOVERY-2", "procedure 2")
