"""What the Agent cluster suites read in addition where the target offers
it: a Director's own account of its cluster role and of the requests to the
Cluster Watch nobody answered (the reference's ``GET /js7ha/cluster-node``;
JS7 has no such view). Every reader answers None where the target does not
offer it; a suite then falls back to what JS7's public APIs show (see
``reports/reference_only.py``: importing this module is an extra, not a
need)."""

from __future__ import annotations

from harness.clients.js7 import agent_client
from harness.clients.node import ProblemError
from harness.deployment import Deployment


async def unanswered_watch_requests(dep: Deployment, director: str, kind: str) -> int | None:
    """How many ``kind`` requests (``ClusterFailedOver``, …) ``director``
    asked its Watch without an answer."""
    try:
        info = await agent_client(dep, director).get("/js7ha/cluster-node")
    except ProblemError as exc:
        if exc.status in (404, 405):
            return None
        raise
    return int(info["watchRequests"]["unanswered"].get(kind, 0))
