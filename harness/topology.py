"""What to start: nodes, the links between them, and the database.

Frozen data with one owner. A ``Topology`` says nothing about *how* nodes run
(that is the backend's job) and nothing about timing (that is the profile's).

Every link is directed: ``Link("joc-1", "controller-1")`` is the path that
``joc-1`` uses to reach ``controller-1`` and is served by its own network proxy
named ``joc-1--controller-1``. Cutting it does not cut the reverse link.
The harness's own clients reach nodes directly, outside any partition, so a
test can always observe what each node says about itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
DATABASE_NODE = "postgres"


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, JSON-serialisable copy of frozen config data."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Node:
    """One component instance. ``role`` selects the program (see
    ``harness.components``); ``config`` is handed to that role's config writer."""

    name: str
    role: str
    config: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or "--" in self.name:
            raise ConfigError(
                f"node name {self.name!r} must match {_NAME.pattern} and not contain '--'"
            )
        if self.name == DATABASE_NODE:
            raise ConfigError(f"node name {DATABASE_NODE!r} is reserved for the database")
        object.__setattr__(self, "config", _freeze(self.config))


@dataclass(frozen=True)
class Link:
    """A directed path ``source`` → ``target`` through its own proxy."""

    source: str
    target: str

    @property
    def name(self) -> str:
        return f"{self.source}--{self.target}"

    @classmethod
    def parse(cls, name: str) -> Link:
        source, sep, target = name.partition("--")
        if not sep or not source or not target:
            raise ConfigError(f"link name {name!r} is not of the form <from>--<to>")
        return cls(source, target)


@dataclass(frozen=True)
class Database:
    """The shared PostgreSQL database. Each node listed in ``clients`` reaches
    it through its own link ``<node>--postgres``."""

    clients: tuple[str, ...] = ()
    name: str = DATABASE_NODE


@dataclass(frozen=True)
class Topology:
    nodes: tuple[Node, ...]
    links: tuple[Link, ...] = ()
    database: Database | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        names = [n.name for n in self.nodes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"duplicate node names: {', '.join(dupes)}")
        known = set(names)
        for link in self.links:
            if link.source == link.target:
                raise ConfigError(f"link {link.name} connects a node to itself")
            for end in (link.source, link.target):
                if end not in known:
                    raise ConfigError(f"link {link.name} names unknown node {end!r}")
        if len({link.name for link in self.links}) != len(self.links):
            raise ConfigError("a link is listed twice")
        if self.database is not None:
            for client in self.database.clients:
                if client not in known:
                    raise ConfigError(f"database client {client!r} is not a node")

    @classmethod
    def build(
        cls,
        nodes: Iterable[Node],
        links: Iterable[tuple[str, str] | Link] = (),
        database: Database | None = None,
    ) -> Topology:
        return cls(
            nodes=tuple(nodes),
            links=tuple(x if isinstance(x, Link) else Link(*x) for x in links),
            database=database,
        )

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ConfigError(f"no node named {name!r} in this topology")

    def by_role(self, role: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == role)

    @property
    def all_links(self) -> tuple[Link, ...]:
        """The node links plus one ``<client>--postgres`` link per database client."""
        db = self.database
        extra = tuple(Link(c, DATABASE_NODE) for c in db.clients) if db else ()
        return self.links + extra

    def links_touching(self, node: str) -> tuple[Link, ...]:
        return tuple(lk for lk in self.all_links if node in (lk.source, lk.target))

    def outgoing(self, node: str) -> tuple[Link, ...]:
        return tuple(lk for lk in self.all_links if lk.source == node)
