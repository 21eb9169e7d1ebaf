"""How a cluster node talks to its Cluster Watch: heartbeats that tell the
Watch the cluster state, and requests for consent before a fail-over or
before going on without the passive (JS7-FACTS §3). In the seeds' version
the Watch is an Agent (``POST /agent/api/clusterWatch``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import aiohttp

from components.common.client import NodeClient, ProblemError

# The answer to a request for consent: True (given), the Watch's problem
# text (refused), or None (no Watch could be asked).
Consent = bool | str | None


class Watch(Protocol):
    @property
    def configured(self) -> bool: ...

    async def heartbeat(self, own_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        """Tell the Watch the state; its answer (what it knows), or None
        when it cannot be reached."""
        ...

    async def consent(self, own_id: str, event: dict[str, Any], state: dict[str, Any]) -> Consent:
        """Ask the Watch to consent to ``event`` (see ``Consent``)."""
        ...

    def close(self) -> None:
        """The node stops: end whatever it serves the Watch."""
        ...


class AgentClusterWatch:
    """The Cluster Watch hosted by an Agent, as the seeds configure it."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        uris: tuple[str, ...],
        password: str,
        heartbeat_timeout: float,
    ) -> None:
        self._session = session
        self._uris = uris
        self._password = password
        self._timeout = heartbeat_timeout

    @property
    def configured(self) -> bool:
        return bool(self._uris)

    def close(self) -> None:
        return None  # the node calls this Watch; it serves it nothing

    def _client(self) -> NodeClient | None:
        if not self._uris:
            return None
        return NodeClient(
            self._session(), self._uris[0], "/agent/api", "Controller", self._password
        )

    async def _post(self, body: dict[str, Any]) -> Any:
        watch = self._client()
        if watch is None:
            raise ProblemError(400, "NoClusterWatch", "no ClusterWatch configured", {})
        return await watch.command_path("/clusterWatch", body)

    async def heartbeat(self, own_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._post(
                {
                    "TYPE": "ClusterWatchHeartbeat",
                    "from": own_id,
                    "clusterState": state,
                    "heartbeatTimeout": self._timeout,
                }
            )
            return result
        except (aiohttp.ClientError, OSError, TimeoutError, ProblemError):
            return None

    async def consent(self, own_id: str, event: dict[str, Any], state: dict[str, Any]) -> Consent:
        try:
            await self._post(
                {
                    "TYPE": "ClusterWatchConsent",
                    "from": own_id,
                    "event": event,
                    "clusterState": state,
                }
            )
            return True
        except ProblemError as exc:
            if exc.code == "NoClusterWatch":
                return None
            return f"{exc.code}: {exc.message}"
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None
