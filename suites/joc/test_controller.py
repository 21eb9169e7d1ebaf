"""JOC Cockpit and the Controller cluster (seeds 001, 002).

CTL-JOC-INDEPENDENT: "A Controller outage does not affect JOC availability"
— while the active Controller is killed, then cut off from everyone, and
then both Controller nodes are down, every JOC instance keeps answering its
API (``orders/history``, ``controller/components``) within the request
timeout, and the active JOC instance stays the same one (a Controller
outage is no reason for a JOC fail-over). ``controller/components`` must
show the outage (a node unreachable) — so the samples really were taken
during it.

CTL-NOT-BACKUP, JOC's half: "This error message will also be noted in the
JOC Cockpit's log file" — with a Secondary started without ``is-backup``,
every JOC instance's log carries the Primary's refused
``ClusterStartBackupNode`` in the seed's wording.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from harness import faults
from harness.checkers import CheckResult, compose
from harness.clients.joc import JocClient, JocProblem
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.errors import DeadlineExceeded
from harness.history import OpFailed, completed_ops
from suites.controller.workload import settle
from suites.joc.support import (
    active_members,
    joc_and_controller_cluster,
    joc_nodes,
    wait_one_active,
)

JOC_SEED_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} WARN js7\.joc\.\S+ - .*"
    r"'ClusterStartBackupNode' command failed with HTTP 400 Bad Request: POST => "
    r"ClusterNodeIsNotBackup: The cluster node to be appointed is not configured as a "
    r"backup node$",
    re.M,
)
PROBES = ("orders/history", "controller/components")


class ApiSampler:
    """Each JOC instance's API, asked in a loop: ``joc-api`` operations
    (ok / fail with the problem / info on a timeout or lost connection),
    and the Controller nodes each ``controller/components`` saw reachable."""

    def __init__(self, dep: Any, history: Any) -> None:
        self.dep = dep
        self.history = history
        self.clients = {n: JocClient(dep, n, "viewer") for n in joc_nodes(dep)}
        self.unreachable_seen: set[str] = set()
        self.active_seen: list[list[str]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, node: str) -> None:
        client = self.clients[node]
        timeout = self.dep.profile.op_timeout
        while not self._stop.is_set():
            for path in PROBES:
                async with self.history.op(node, "joc-api", path) as op:
                    try:
                        body = await asyncio.wait_for(
                            client.post(path, {"limit": 10} if path == "orders/history" else {}),
                            timeout,
                        )
                    except JocProblem as exc:
                        raise OpFailed(exc.code) from None
                    op.ok(path, node=node)
                if path == "controller/components":
                    for c in body["controllers"]:
                        if c["connectionState"]["_text"] != "established":
                            self.unreachable_seen.add(c["nodeName"])
            self.active_seen.append(await active_members(self.dep))
            await asyncio.sleep(self.dep.profile.poll_interval)

    async def __aenter__(self) -> ApiSampler:
        self._tasks = [asyncio.create_task(self._loop(n)) for n in self.clients]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


def _api_answered(history: Any) -> CheckResult:
    pairs = [(i, d) for i, d in completed_ops(history.records) if i.get("f") == "joc-api"]
    bad = [
        {
            "node": i["process"],
            "path": i["value"],
            "type": d and d["type"],
            "error": d and d.get("error"),
        }
        for i, d in pairs
        if d is None or d["type"] != "ok"
    ]
    return CheckResult(
        bool(pairs) and not bad,
        {"requests": len(pairs), "not-answered": bad[:20], "not-answered-count": len(bad)},
        "joc-api-answered",
    )


@pytest.mark.guarantee("CTL-JOC-INDEPENDENT")
async def test_a_controller_outage_does_not_affect_joc(deploy, history, results, profile):
    dep = await deploy(joc_and_controller_cluster(2))
    client = ClusterClient(dep)
    await wait_cluster(dep, client)
    joc = await wait_one_active(dep)
    timeout = profile.components["controller.cluster.heartbeat_timeout"]
    async with ApiSampler(dep, history) as sampler:
        await dep.wait_for(
            "a round of samples",
            lambda: asyncio.sleep(0, len(sampler.active_seen)),
            accept=lambda n: n >= 2,
        )
        for kind in ("kill", "isolate"):
            old = await client.find_active()
            assert old is not None
            fault = (
                faults.kill(dep, old)
                if kind == "kill"
                else faults.isolate(dep, old, post_check=False)
            )
            async with fault:
                seen = len(sampler.active_seen)

                async def progress() -> tuple[str | None, int]:
                    return await client.find_active(), len(sampler.active_seen)

                await dep.wait_for(
                    "the other Controller node active and JOC sampled meanwhile",
                    progress,
                    accept=lambda r, old=old, seen=seen: (
                        r[0] not in (None, old) and r[1] >= seen + 3
                    ),
                    deadline=timeout * 4 + profile.heal_deadline,
                )
            await settle(dep, client)
            await wait_cluster(dep, client)
        # A total outage: both Controller nodes down at once.
        async with faults.kill(dep, "primary", "backup"):
            seen = len(sampler.active_seen)
            await dep.wait_for(
                "JOC sampled during the total outage",
                lambda: asyncio.sleep(0, len(sampler.active_seen)),
                accept=lambda n: n >= seen + 5,
            )
        await wait_cluster(dep, client, deadline=profile.heal_deadline)
    same = [a for a in sampler.active_seen if a != [joc]]
    result = results.add(
        compose(
            _api_answered(history),
            CheckResult(
                not same,
                {"active": joc, "other-samples": same[:10], "samples": len(sampler.active_seen)},
                "joc-active-unchanged",
            ),
            CheckResult(
                {"primary", "backup"} <= sampler.unreachable_seen,
                {"controller-nodes-seen-unreachable": sorted(sampler.unreachable_seen)},
                "outage-seen-by-joc",
            ),
            name="ctl-joc-independent",
        )
    )
    assert result, result.explain()


@pytest.mark.guarantee("CTL-NOT-BACKUP")
async def test_joc_logs_the_refused_backup_appointment(deploy, results):
    dep = await deploy(joc_and_controller_cluster(2, backup_is_backup=False))
    nodes = joc_nodes(dep)

    async def logged() -> dict[str, list[str]]:
        return {n: JOC_SEED_LINE.findall(dep.backend.logs(n)) for n in nodes}

    try:
        lines = await dep.wait_for(
            "every JOC instance logs the refusal", logged, accept=lambda r: all(r.values())
        )
    except DeadlineExceeded:  # the check below reports what was found
        lines = await logged()
    components = await JocClient(dep, nodes[0], "viewer").post("controller/components", {})
    result = CheckResult(
        all(lines.values()),
        {
            "joc-log-lines": {n: v[:2] for n, v in lines.items()},
            "controllers": components["controllers"],
        },
        "joc-logs-not-backup",
    )
    assert results.add(result), result.explain()
