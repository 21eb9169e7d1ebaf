"""Requests from the event loop to the writer thread."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from components.common.journal.base import Event


@dataclass(slots=True, eq=False)
class _Persist:
    events: list[Event]  # copies, for the stamped result
    bodies: list[str]  # JSON of each event, without eventId/timestamp
    state: list[tuple[str, str, str | None]]  # encoded values, None = delete
    meta: list[tuple[str, str | None]]
    changes_json: str  # the commits row's `changes`
    future: asyncio.Future[list[dict[str, Any]]]
    # Filled in by the writer thread:
    stamped: list[dict[str, Any]] = field(default_factory=list)
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _ReplicatedCommit:
    position: int
    lines: list[tuple[int, str]]
    state: list[tuple[str, str, str | None]]  # encoded values, None = delete
    meta: list[tuple[str, str | None]]
    changes_json: str


@dataclass(slots=True, eq=False)
class _Apply:
    commits: list[_ReplicatedCommit]
    future: asyncio.Future[None]
    applied: list[_ReplicatedCommit] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Install:
    position: int
    state: list[tuple[str, str, str]]  # encoded values
    meta: list[tuple[str, str]]
    future: asyncio.Future[None]
    torn: int = 0
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Release:
    until: int
    future: asyncio.Future[int]


@dataclass(slots=True, eq=False)
class _ReleaseJob:
    until: int
    futures: list[asyncio.Future[int]]
    deleted: int = 0
    vacuum: bool | None = None  # decided once the deletion is done


@dataclass(slots=True, eq=False)
class _Stop:
    future: asyncio.Future[None] | None


_Request: TypeAlias = _Persist | _Apply | _Install | _Release | _Stop
