"""Seeded random fault schedules (exploratory runs).

A schedule is drawn from the test's ``rng`` (seeded from ``--seed`` and the
test id), so a failing run is replayed exactly by passing the same seed.
Each fault goes through ``harness.faults`` and so records its window and
heals itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from harness import faults
from harness.deployment import Deployment


async def random_kills(
    dep: Deployment,
    rng: random.Random,
    nodes: Sequence[str],
    rounds: int,
    *,
    gap: tuple[float, float] = (0.3, 1.5),
    down: tuple[float, float] = (0.0, 0.5),
) -> list[tuple[str, float]]:
    """``rounds`` times: wait a random gap, SIGKILL a random node of
    ``nodes``, keep it down a random while, restart it. Returns what was done."""
    done = []
    for _ in range(rounds):
        await asyncio.sleep(rng.uniform(*gap))
        victim = rng.choice(list(nodes))
        pause = rng.uniform(*down)
        async with faults.kill(dep, victim):
            await asyncio.sleep(pause)
        done.append((victim, pause))
    return done
