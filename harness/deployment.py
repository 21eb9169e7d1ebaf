"""A running topology as a test sees it: backend + history + health.

The ``Deployment`` is what faults and suites hold. It adds to the backend the
things a test needs and the backend should not care about: the history every
fault window is written to, health checks that know which nodes are supposed
to be up, and waiting with deadlines from the profile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from harness.backends.base import Backend, NodeState
from harness.errors import DeadlineExceeded, HealthCheckError
from harness.history import History
from harness.profiles import Profile
from harness.topology import Topology

T = TypeVar("T")


class Deployment:
    def __init__(self, backend: Backend, history: History, artifacts: Path | None = None) -> None:
        self.backend = backend
        self.history = history
        self.artifacts = artifacts
        self._http: aiohttp.ClientSession | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` (last registered first) when the deployment closes:
        clients with sessions of their own tie their life to it."""
        self._closers.append(closer)

    @property
    def topology(self) -> Topology:
        return self.backend.topology

    @property
    def profile(self) -> Profile:
        return self.backend.profile

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.topology.nodes]

    def url(self, node: str) -> str:
        return self.backend.url(node)

    @property
    def http(self) -> aiohttp.ClientSession:
        """A client session for the test's own requests, timing out after the
        profile's ``op_timeout`` (an operation past it is *info*)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.profile.op_timeout)
            )
        return self._http

    # -- health ----------------------------------------------------------

    def expected_up(self) -> list[str]:
        """Nodes that should answer: every node the test has not stopped."""
        return [n for n in self.nodes if self.backend.state(n) is not NodeState.STOPPED]

    async def health(self, nodes: Iterable[str] | None = None) -> dict[str, str]:
        """{node: why it is unhealthy} for the given (default: expected-up) nodes;
        empty when all are healthy."""
        names = list(nodes) if nodes is not None else self.expected_up()
        reasons = await asyncio.gather(*(self.backend.healthy(n) for n in names))
        return {n: r for n, r in zip(names, reasons, strict=True) if r}

    async def wait_healthy(
        self, phase: str, nodes: Iterable[str] | None = None, deadline: float | None = None
    ) -> None:
        names = list(nodes) if nodes is not None else None
        limit = self.profile.heal_deadline if deadline is None else deadline
        end = time.monotonic() + limit
        bad = await self.health(names)
        while bad and time.monotonic() < end:
            await asyncio.sleep(self.profile.poll_interval)
            bad = await self.health(names)
        if bad:
            raise HealthCheckError(phase, bad)

    # -- waiting ---------------------------------------------------------

    async def wait_for(
        self,
        what: str,
        probe: Callable[[], Awaitable[T]],
        *,
        deadline: float | None = None,
        accept: Callable[[T], bool] = bool,
    ) -> T:
        """Poll ``probe`` until ``accept`` holds for its result; raise
        ``DeadlineExceeded`` naming ``what`` and the last value or error."""
        limit = self.profile.heal_deadline if deadline is None else deadline
        end = time.monotonic() + limit
        last: Any = None
        while True:
            try:
                value = await probe()
                if accept(value):
                    return value
                last = value
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= end:
                raise DeadlineExceeded(f"{what}: not within {limit}s (last: {last!r})")
            await asyncio.sleep(self.profile.poll_interval)

    async def get_json(self, node: str, path: str) -> Any:
        async with self.http.get(self.url(node) + path) as resp:
            resp.raise_for_status()
            return await resp.json()

    # -- end -------------------------------------------------------------

    def collect_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for n in self.nodes:
            (dest / f"{n}.log").write_text(self.backend.logs(n))
        # What runs beside the nodes (the Docker backend's proxy and database
        # containers); the local backend's are shared and log elsewhere.
        infra = getattr(self.backend, "infra_logs", None)
        if infra is not None:
            for name, text in infra().items():
                (dest / f"_{name}.log").write_text(text)

    async def aclose(self) -> None:
        try:
            while self._closers:
                await self._closers.pop()()
            if self._http is not None:
                await self._http.close()
        finally:
            await self.backend.teardown()
