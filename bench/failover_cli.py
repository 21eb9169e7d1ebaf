"""What the fail-over benchmarks share: the rounds of SIGKILLs of the active
node, the command line (``--rounds``, ``--rate``, ``--json``) and the result,
printed one line a key (the per-round ``windows`` in the JSON only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.events import machine
from harness import faults
from harness.checkers import CheckResult
from harness.clients.js7 import ClusterClient, wait_all_orders, wait_cluster
from harness.deployment import Deployment
from suites.controller.workload import settle


async def kill_rounds(dep: Deployment, client: ClusterClient, rounds: int) -> None:
    """Each round: SIGKILL the active node, wait for the other to act as the
    active one, restart the killed one (it rejoins as passive), wait until
    the cluster is coupled again."""
    nodes = tuple(client.clients)
    for i in range(rounds):
        active = await dep.wait_for("an active node", client.find_active)
        async with faults.kill(dep, active, restart=False, post_check=False):
            await dep.wait_for(
                "the other node active",
                client.find_active,
                accept=lambda n, a=active: n not in (None, a),
            )
        await settle(dep, client, nodes=nodes)
        await wait_cluster(dep, client)
        print(f"round {i + 1}/{rounds} done", file=sys.stderr, flush=True)


async def drain(dep: Deployment, ids: list[str]) -> set[str]:
    """Until every order of ``ids`` finished, or a heal deadline passed with
    none finishing; the ids left. A loaded machine may work off a backlog
    long after the last round: an order is lost when progress stopped, not
    when a fixed deadline ran out."""
    left = set(ids)
    while left:
        still = await wait_all_orders(dep, sorted(left), deadline=dep.profile.heal_deadline)
        if len(still) == len(left):
            break
        left = still
    return left


def main(
    doc: str | None, run: Callable[[int, float], Awaitable[dict[str, object]]], rate: float
) -> None:
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--rate", type=float, default=rate)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = asyncio.run(run(args.rounds, args.rate))
    width = max(len(k) for k in result) + 1
    for k, v in result.items():
        if k != "windows":
            print(f"{k:{width}} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def summary(
    rounds: int, rate: float, times: CheckResult, loss: CheckResult, **extra: Any
) -> dict[str, object]:
    """The result: the machine, the fail-over percentiles (``failover_times``),
    what ``no_loss`` found, ``extra`` (another checker's counts), ``valid``
    (every checker given agrees) and the per-round ``windows``."""
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
        **extra,
        "valid": times.valid is True and loss.valid is True,
        "windows": d.get("windows"),
    }
