"""Hostile requests to what only the reference serves, sent where it exists:
the Cluster Watch API of the Agent that hosts the Controller cluster's Watch
in the reference (``/agent/api/clusterWatch``; JS7's Watch is JOC). Against
a real JS7 there is no such node and nothing is sent (``reports/
reference_only.py``: importing this module is an extra, not a need)."""

from __future__ import annotations

from harness.hostile import Seed

WATCH = "watch"  # the reference's Agent that hosts the Controller cluster's Watch


def watch_api_seeds(nodes: list[str]) -> list[Seed]:
    if WATCH not in nodes:
        return []
    return [
        Seed(
            "js7",
            WATCH,
            "POST",
            "/agent/api/clusterWatch",
            {
                "TYPE": "ClusterWatchHeartbeat",
                "from": "Primary",
                "heartbeatTimeout": 3,
                "clusterState": {"TYPE": "Coupled", "activeId": "Primary", "generation": 0},
            },
        )
    ]
