"""A cluster node's settings, read once at start and checked there: a wrong
setting stops the node with a message naming it (JS7-FACTS §3).

The Primary has ``js7.journal.cluster.nodes { Primary: uri, Backup: uri }``,
the Backup ``js7.journal.cluster.node.is-backup = yes``; both name the Watch
in ``js7.journal.cluster.watches`` and the timing in
``js7.journal.cluster.heartbeat`` / ``heartbeat-timeout``.
``js7.journal.cluster.peer-uri`` (optional) is how *this* node reaches the
other one, where that differs from the appointed URI (a proxy in between).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.common.config import Config, ConfigProblem

IDS = ("Primary", "Backup")


@dataclass(frozen=True)
class ClusterSettings:
    is_backup: bool
    nodes: dict[str, str]
    peer_uri: str
    watches: tuple[str, ...]
    heartbeat: float
    timeout: float
    password: str
    watch_password: str

    @property
    def own_id(self) -> str:
        return "Backup" if self.is_backup else "Primary"

    @property
    def peer_id(self) -> str:
        return "Primary" if self.is_backup else "Backup"


def _plain(cfg: Config, key: str) -> str:
    return cfg.string(key, "plain:").removeprefix("plain:")


def load(cfg: Config) -> ClusterSettings:
    """The settings, or ``ConfigProblem`` naming the first wrong one."""
    is_backup = cfg.boolean("js7.journal.cluster.node.is-backup", False)
    nodes = cfg.mapping("js7.journal.cluster.nodes", {})
    for k, v in nodes.items():
        if k not in IDS or not isinstance(v, str):
            raise ConfigProblem(
                cfg.source,
                f"js7.journal.cluster.nodes.{k}",
                "must be Primary or Backup with a URI string",
            )
    if nodes and is_backup:
        raise ConfigProblem(
            cfg.source,
            "js7.journal.cluster.nodes",
            "is configured on the Primary only, not on a backup node",
        )
    heartbeat = cfg.seconds("js7.journal.cluster.heartbeat", 3.0)
    timeout = cfg.seconds("js7.journal.cluster.heartbeat-timeout", 10.0)
    if timeout <= heartbeat:
        raise ConfigProblem(
            cfg.source,
            "js7.journal.cluster.heartbeat-timeout",
            "must be longer than js7.journal.cluster.heartbeat",
        )
    return ClusterSettings(
        is_backup=is_backup,
        nodes=dict(nodes),
        peer_uri=cfg.string("js7.journal.cluster.peer-uri", ""),
        watches=tuple(cfg.string_list("js7.journal.cluster.watches", [])),
        heartbeat=heartbeat,
        timeout=timeout,
        password=_plain(cfg, "js7.auth.cluster.password"),
        watch_password=_plain(cfg, "js7.auth.cluster-watch.password"),
    )
