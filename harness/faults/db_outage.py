"""``db_outage``: the shared database goes away.

Modes: ``stop`` — immediate shutdown (like a crash; recovery runs on restart);
``hang`` — the postmaster and all backends frozen with SIGSTOP, so open
connections and new connects hang rather than fail; ``cut`` — every client's
``<node>--postgres`` link black-holed while the server itself runs on."""

from __future__ import annotations

from typing import Any

from harness.backends.base import DbOutageMode
from harness.deployment import Deployment
from harness.errors import ConfigError
from harness.faults.base import Fault


class DbOutage(Fault):
    name = "db_outage"

    def __init__(
        self,
        dep: Deployment,
        mode: DbOutageMode = "stop",
        *,
        pre_check: bool = True,
        post_check: bool = True,
    ) -> None:
        super().__init__(dep, pre_check=pre_check, post_check=post_check)
        if mode not in ("stop", "hang", "cut"):
            raise ConfigError(f"unknown db outage mode {mode!r}: use stop, hang or cut")
        self.mode: DbOutageMode = mode

    def available(self) -> str:
        return "" if self.dep.topology.database is not None else "the topology has no database"

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode}

    async def inject(self) -> None:
        await self.dep.backend.db_outage_begin(self.mode)

    async def _heal(self) -> None:
        await self.dep.backend.db_outage_end(self.mode)


def db_outage(
    dep: Deployment, mode: DbOutageMode = "stop", *, pre_check: bool = True, post_check: bool = True
) -> DbOutage:
    return DbOutage(dep, mode, pre_check=pre_check, post_check=post_check)
