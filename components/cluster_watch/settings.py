"""The standalone Cluster Watch's settings, as JS7's ``ClusterWatchConf``
reads them: ``--cluster-watch-id=`` on the command line, the nodes in
``js7.journal.cluster.watch.cluster-nodes = [{uri, user, password}]``
(``cluster-watch.conf`` + ``private/private.conf``; here ``private.conf``
beside it, as the reference's other components). A wrong setting stops the
Watch at start with a message naming it.

reference-only: ``js7.web.http.host``/``port`` serve ``/health`` (the
harness's readiness probe) and the status the Watch reports there; JS7's
Watch serves only its ``MinimumWebServer`` (metrics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.common.config import Config, ConfigProblem

NODES = "js7.journal.cluster.watch.cluster-nodes"
# JS7's ClusterWatchId: a name (``ClusterWatchId.checked``).
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Admission:
    uri: str
    user: str
    password: str


@dataclass(frozen=True)
class WatchSettings:
    watch_id: str
    nodes: tuple[Admission, ...]
    host: str
    port: int
    retry_max_delay: float


def load(cfg: Config, watch_id: str) -> WatchSettings:
    if not _ID.match(watch_id):
        raise ConfigProblem("command line", "--cluster-watch-id", f"is not a name: {watch_id!r}")
    raw = cfg.get(NODES, list, [])
    nodes: list[Admission] = []
    for i, entry in enumerate(raw):
        where = f"{NODES}[{i}]"
        # (pyhocon's ConfigTree.get raises on a missing key unless given a default)
        uri = entry.get("uri", None) if hasattr(entry, "get") else None
        if not isinstance(uri, str) or not uri:
            raise ConfigProblem(cfg.source, where, "needs a uri")
        password = str(entry.get("password", "")).removeprefix("plain:")
        nodes.append(Admission(uri, str(entry.get("user", "ClusterWatch")), password))
    if len(nodes) != 2:
        raise ConfigProblem(
            cfg.source, NODES, f"must name the two nodes of a cluster, got {len(nodes)}"
        )
    return WatchSettings(
        watch_id=watch_id,
        nodes=tuple(nodes),
        host=cfg.string("js7.web.http.host", "127.0.0.1"),
        port=cfg.port("js7.web.http.port"),
        retry_max_delay=cfg.seconds("js7.journal.cluster.watch.retry-max-delay", 1.0),
    )
