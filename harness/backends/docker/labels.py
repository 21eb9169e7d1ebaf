"""The Docker resources the harness makes, by label: every container and
network carries the session, the owning harness process (``PID:START``),
the deployment and the role, so a teardown, the reaper or a sweep can remove
exactly what a run left — testcontainers' Ryuk's job, which cannot be pulled
here."""

from __future__ import annotations

import contextlib
from typing import Any

from harness import procs

SESSION_LABEL = "js7ha.session"
OWNER_LABEL = "js7ha.owner"
DEPLOYMENT_LABEL = "js7ha.deployment"
ROLE_LABEL = "js7ha.role"


def _docker() -> Any:
    import docker

    return docker.from_env(timeout=120)


def _labels(deployment: str, role: str) -> dict[str, str]:
    return {
        SESSION_LABEL: procs.session_id(),
        OWNER_LABEL: procs.owner().label,
        DEPLOYMENT_LABEL: deployment,
        ROLE_LABEL: role,
    }


def remove_labelled(label: str, value: str | None = None, client: Any = None) -> list[str]:
    """Remove every container (forcibly) and then every network carrying
    ``label`` (``=value`` if given); return what was removed. Errors on one
    resource do not stop the others.

    The low-level API lists without inspecting each container, so another
    run's containers vanishing between list and inspect cannot fail this."""
    import docker.errors

    api = (client or _docker()).api
    flt = {"label": f"{label}={value}" if value is not None else label}
    removed: list[str] = []
    for c in api.containers(all=True, filters=flt):
        try:
            api.remove_container(c["Id"], force=True, v=True)
        except docker.errors.APIError as exc:
            # 404: gone already; 409: another remover is at it. Else: real.
            if exc.status_code not in (404, 409):
                raise
        else:
            removed.append(f"container {c['Names'][0].lstrip('/')}")
    for n in api.networks(filters=flt):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_network(n["Id"])
            removed.append(f"network {n['Name']}")
    return removed


def remove_session(session: str | None = None) -> list[str]:
    """Remove everything of a session (default: this one)."""
    return remove_labelled(SESSION_LABEL, session or procs.session_id())


def sweep() -> list[str]:
    """Remove containers and networks whose owning harness process is dead."""
    client = _docker()
    flt = {"label": OWNER_LABEL}
    owners: set[str] = set()
    for c in client.api.containers(all=True, filters=flt):
        owners.add((c.get("Labels") or {}).get(OWNER_LABEL, ""))
    for n in client.api.networks(filters=flt):
        owners.add((n.get("Labels") or {}).get(OWNER_LABEL, ""))
    removed: list[str] = []
    for owner in sorted(owners):
        if not procs.label_alive(owner):
            removed += remove_labelled(OWNER_LABEL, owner, client)
    return removed
