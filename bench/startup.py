"""Benchmark: time to a ready full topology on each backend.

    python bench/startup.py [--backend local,docker] [--rounds 5] [--json out.json]

The full topology: PostgreSQL, two JOC Cockpit instances, a Controller
cluster (``primary``, ``backup``) with its Cluster Watch Agent (``watch``)
and two Agents — ``suites.joc.support.joc_and_controller_cluster(2,
agents=2)``. Per round, two instants from the start of ``standalone()``:

* **ready**: every node's health endpoint answers (what ``deploy`` waits
  for; on the local backend this includes creating the throwaway PostgreSQL
  server, on Docker starting its container and the link proxy's);
* **serving**: the Controller cluster is coupled and one JOC instance is
  active (what a suite waits for before its first fault).

Reports p50 and max of each per backend. Targets (issue 7): ready <= 3 s
local, <= 10 s Docker. The Docker image is built (or confirmed) before the
first round and not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import machine, pct
from harness.clients.js7 import ClusterClient, wait_cluster
from harness.history import History
from harness.standalone import standalone
from suites.joc.support import joc_and_controller_cluster, wait_one_active

TARGETS = {"local": 3.0, "docker": 10.0}


async def one_round(backend: str, image: str | None) -> tuple[float, float]:
    t0 = time.monotonic()
    async with standalone(
        joc_and_controller_cluster(2, agents=2), history=History(), backend=backend, image=image
    ) as dep:
        ready = time.monotonic() - t0
        await wait_cluster(dep, ClusterClient(dep))
        await wait_one_active(dep)
        serving = time.monotonic() - t0
    return ready, serving


async def run(backends: list[str], rounds: int) -> dict[str, object]:
    out: dict[str, object] = {"machine": machine(), "rounds": rounds}
    for backend in backends:
        image = None
        if backend == "docker":
            from harness import images

            image = await asyncio.to_thread(images.ensure_image)
            out["docker_image"] = image
        ready: list[float] = []
        serving: list[float] = []
        for i in range(rounds):
            r, s = await one_round(backend, image)
            ready.append(r)
            serving.append(s)
            print(
                f"{backend} round {i + 1}/{rounds}: ready {r:.2f} s, serving {s:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        out[backend] = {
            "ready_p50_s": round(pct(ready, 50), 3),
            "ready_max_s": round(max(ready), 3),
            "serving_p50_s": round(pct(serving, 50), 3),
            "serving_max_s": round(max(serving), 3),
            "target_ready_s": TARGETS[backend],
            "met": max(ready) <= TARGETS[backend],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", default="local,docker", help="comma-separated: local, docker")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    unknown = [b for b in backends if b not in TARGETS]
    if unknown:
        ap.error(f"--backend: unknown {unknown} (choose from local, docker)")
    result = asyncio.run(run(backends, args.rounds))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
