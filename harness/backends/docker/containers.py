"""The containers of one deployment: started labelled on its network, a
command run in one, its exit awaited, its logs read.

What holds: every container started here carries the deployment's labels
(``labels``), so a teardown, the reaper or a sweep finds it; ports are
published on 127.0.0.1 only. Containers start through testcontainers'
``DockerContainer`` (with Ryuk disabled: it cannot be pulled here, and the
labels do its job); the docker-py container it wraps is what callers get.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from harness.backends.docker.labels import _labels
from harness.errors import BackendError

# testcontainers' Ryuk cannot be pulled where no registry is reachable (this
# project's machines); our labels, teardown, reaper and sweeps do its job. An
# explicit setting (a machine with a registry) is left as it is. Set before
# testcontainers is first imported (below, inside ``run``), which reads it.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

HOST = "127.0.0.1"
GONE = ("exited", "dead", "created")  # statuses of a container that runs nothing


@dataclass
class Containers:
    """Starts the deployment's containers: the project ``image``, labelled
    with ``deployment``, on the Docker network ``network``."""

    client: Any  # docker.DockerClient
    image: str
    deployment: str
    network: str

    async def run(
        self,
        role: str,
        command: list[str],
        *,
        alias: str,
        published: Mapping[int, int],
        binds: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        cap_add: Sequence[str] = (),
    ) -> Any:
        """Start a labelled container on the deployment's network, reachable
        there as ``alias``; ``published`` maps container ports to ports on
        127.0.0.1."""
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        tc = (
            DockerContainer(self.image)
            .with_command(command)
            .with_name(f"js7ha-{self.deployment}-{alias}")
            .with_envs(**dict(env or {}))
            .with_kwargs(
                hostname=alias,
                labels=_labels(self.deployment, role),
                init=True,
                cap_add=list(cap_add) or None,
                network=self.network,
                networking_config={
                    self.network: EndpointConfig(self.client.api.api_version, aliases=[alias])
                },
            )
        )
        for port, host_port in published.items():
            # Published on loopback only. with_bind_ports takes no host
            # address; its port map goes to docker-py as is, which does.
            tc.ports[f"{port}/tcp"] = (HOST, host_port)  # type: ignore[assignment]
        for src, dst in (binds or {}).items():
            tc.with_volume_mapping(src, dst, "rw")

        def run() -> Any:
            return tc.start().get_wrapped_container()

        return await asyncio.to_thread(run)

    def run_once(
        self,
        role: str,
        argv: list[str],
        *,
        network_mode: str,
        volumes: Mapping[str, Mapping[str, str]],
        cap_add: Sequence[str] = (),
    ) -> tuple[int, str]:
        """Run ``argv`` in a throwaway labelled container (removed when it
        ends); its exit code and, when it failed, why."""
        try:
            self.client.containers.run(
                self.image,
                argv,
                remove=True,
                network_mode=network_mode,
                cap_add=list(cap_add),
                volumes=dict(volumes),
                labels=_labels(self.deployment, role),
            )
        except Exception as exc:  # noqa: BLE001 - docker's ContainerError and kin
            return 1, str(exc)
        return 0, ""


def exec_run(container: Any, argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` in the running ``container``: its exit code and output."""
    code, out = container.exec_run(argv)
    return int(code), out.decode(errors="replace") if isinstance(out, bytes) else str(out)


async def exec_checked(container: Any, argv: list[str], node: str) -> str:
    """``exec_run`` that raises ``BackendError`` unless ``argv`` succeeded."""
    code, text = await asyncio.to_thread(exec_run, container, argv)
    if code != 0:
        raise BackendError(f"{' '.join(argv)} in {node} failed ({code}): {text[-300:]}")
    return text


def host_init_pid(container: Any) -> int | None:
    """The host pid of the container's init, when this host's /proc shows
    it (the engine runs here); None when the engine runs elsewhere and the
    pid means nothing, or something else, here."""
    pid = int(container.attrs["State"].get("Pid") or 0)
    try:
        if pid and str(container.id) in Path(f"/proc/{pid}/cgroup").read_text():
            return pid
    except OSError:
        pass
    return None


async def wait_exit(container: Any, timeout: float) -> tuple[bool, int | None]:
    """Wait up to ``timeout`` seconds for the container to end: whether it
    runs nothing now, and its exit status when the engine told it."""

    def wait() -> int | None:
        try:
            return int(container.wait(timeout=timeout)["StatusCode"])
        except Exception:  # noqa: BLE001 - requests' timeout, or the engine's
            return None

    code = await asyncio.to_thread(wait)
    await asyncio.to_thread(container.reload)
    return container.status in GONE, code


async def wait_http(
    http: aiohttp.ClientSession, url: str, what: str, container: Any, deadline: float
) -> None:
    """Until ``url`` answers 200, within ``deadline`` seconds; else (or when
    the container exits first) ``BackendError`` with the container log's tail."""
    end = time.monotonic() + deadline
    last = "no answer yet"
    while time.monotonic() < end:
        try:
            async with http.get(url) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(container.reload)
        if container.status == "exited":
            last = "its container exited"
            break
        await asyncio.sleep(0.05)
    tail = await asyncio.to_thread(logs, container, 40)
    raise BackendError(f"{what} not ready at {url}: {last}\n{tail}")


def logs(container: Any, tail: int | None = None) -> str:
    """The container's stdout and stderr (the last ``tail`` lines)."""
    raw = container.logs(tail=tail) if tail is not None else container.logs()
    return bytes(raw).decode(errors="replace")
