"""The nodes' overviews: ``GET /controller/api`` (``ControllerOverview``) and
``GET /agent/api`` (``AgentOverview``), exactly JS7's fields.

Sources (sos-berlin/js7): js7-data/shared/src/main/scala/js7/data/controller/
ControllerOverview.scala (no codec test; its fields, derived codec),
js7-agent-data/shared/src/test/scala/js7/agent/data/views/AgentOverviewTest.scala,
js7-base/.../system/SystemInformation.scala, js7-data/.../system/
JavaInformation.scala.

The reference runs on CPython, not a JVM: ``java`` keeps JS7's shape and
says what the runtime is (``version`` ``"CPython 3.11.7"``, the process's
memory in bytes). What the reference adds for its own tests is served apart,
at ``…/api/js7ha/overview`` (reference-only), never in these.
"""

from __future__ import annotations

import os
import platform
import resource
import socket
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class SystemInformation(msgspec.Struct, kw_only=True):
    hostname: str
    distribution: str | UnsetType = UNSET
    cpuModel: str | UnsetType = UNSET
    mxBeans: dict[str, Any] = msgspec.field(default_factory=dict)


class JavaMemory(msgspec.Struct, kw_only=True):
    maximum: int
    total: int
    free: int


class JavaInformation(msgspec.Struct, kw_only=True):
    version: str
    availableProcessors: int
    memory: JavaMemory
    systemProperties: dict[str, str] = msgspec.field(default_factory=dict)


class ControllerOverview(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``totalRunningTime`` in seconds (JS7's FiniteDuration codec)."""

    id: str
    version: str
    buildId: str
    initiallyStartedAt: int | UnsetType = UNSET
    startedAt: int
    totalRunningTime: float
    orderCount: int | UnsetType = UNSET
    system: SystemInformation
    java: JavaInformation


class AgentOverview(msgspec.Struct, kw_only=True, omit_defaults=True):
    startedAt: int
    version: str
    buildId: str
    isTerminating: bool | UnsetType = UNSET
    system: SystemInformation
    java: JavaInformation


def runtime() -> tuple[SystemInformation, JavaInformation]:
    """This process's host and runtime, in JS7's shapes."""
    page = os.sysconf("SC_PAGE_SIZE")
    physical = os.sysconf("SC_PHYS_PAGES") * page
    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return (
        SystemInformation(hostname=socket.gethostname(), distribution=platform.platform()),
        JavaInformation(
            version=f"{platform.python_implementation()} {platform.python_version()}",
            availableProcessors=os.cpu_count() or 1,
            memory=JavaMemory(maximum=physical, total=used, free=max(0, physical - used)),
        ),
    )
