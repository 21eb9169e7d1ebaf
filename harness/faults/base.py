"""One interface for every fault.

A fault is an async context manager: entering it checks the topology's health
(a failure there is a ``HealthCheckError`` — a harness problem, the
experiment never started), records the start of its window in the history and
injects it and records when it is in effect; leaving it records that healing
begins, heals it, records the end of the window and, when the
block succeeded, checks that the topology is healthy again. Healing is
idempotent: ``await fault.heal()`` inside the block ends the fault early and
the exit then does nothing more.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Any, ClassVar

from harness.backends.base import NodeState
from harness.deployment import Deployment
from harness.errors import ConfigError


class Fault(abc.ABC):
    name: ClassVar[str]

    def __init__(self, dep: Deployment, *, pre_check: bool = True, post_check: bool = True) -> None:
        """``pre_check``: the topology must be healthy before the fault (off
        only where an earlier fault of the same test left nodes down);
        ``post_check``: it must be healthy again after healing (off where the
        test itself judges what comes after, e.g. a node that must stay
        down)."""
        self.dep = dep
        self.pre_check = pre_check
        self.post_check = post_check
        self._fault_id: int | None = None
        self._active = False
        self._healed = False

    # -- what each family provides --------------------------------------

    def available(self) -> str:
        """'' if this fault can be injected into this deployment, else why not."""
        return ""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the history records about this fault (JSON-serialisable)."""

    @abc.abstractmethod
    async def inject(self) -> None: ...

    @abc.abstractmethod
    async def _heal(self) -> None:
        """Undo the fault. Must tolerate a partial injection."""

    # -- the common protocol -------------------------------------------

    @property
    def fault_id(self) -> int | None:
        return self._fault_id

    async def heal(self) -> None:
        if not self._active or self._healed:
            return
        self._healed = True
        assert self._fault_id is not None
        self.dep.history.fault_heal(self._fault_id, self.name)
        try:
            await self._heal()
        finally:
            assert self._fault_id is not None
            self.dep.history.fault_stop(self._fault_id, self.name, self.describe())

    async def __aenter__(self) -> Fault:
        why = self.available()
        if why:
            raise ConfigError(f"fault {self.name} is not available here: {why}")
        if self.pre_check:
            await self.dep.wait_healthy("pre-check", deadline=self.dep.profile.startup_deadline)
        self._fault_id = self.dep.history.fault_start(self.name, self.describe())
        self._active = True
        try:
            await self.inject()
        except BaseException:
            await self.heal()
            raise
        self.dep.history.fault_in_effect(self._fault_id, self.name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.heal()
        if exc_type is None and self.post_check:
            await self.dep.wait_healthy("post-check")


async def start_stopped(dep: Deployment, nodes: tuple[str, ...]) -> None:
    """Heal step shared by the faults that take nodes down: start each one
    that is (still) stopped — a partial injection left the others running."""
    for n in nodes:
        if dep.backend.state(n) is NodeState.STOPPED:
            await dep.backend.start(n)
