"""The Docker backend's own tests: run only with ``JS7HA_DOCKER=1``.

Without it this directory's test modules are not collected at all (not
skipped), so the default run needs no Docker engine:

    JS7HA_DOCKER=1 TESTCONTAINERS_RYUK_DISABLED=true \
        python -m pytest -p no:cacheprovider tests/docker

The first run builds the images (``harness.images``; a few minutes), later
runs reuse them while their inputs are unchanged.

Here ``deploy`` is overridden to start topologies on ``DockerBackend``, so the
tests read like ``tests/harness/test_faults.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from harness import procs

if os.environ.get("JS7HA_DOCKER") != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


@pytest.fixture(scope="session")
def docker_image() -> Iterator[str]:
    """The project image (built or confirmed once per session, with progress
    on stderr), and at the session's end: nothing of it left in the engine."""
    from harness import images
    from harness.backends import docker as docker_backend

    docker_backend.sweep()
    tag = images.ensure_image()
    yield tag
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        docker_backend.remove_session()


@pytest.fixture
async def deploy(docker_image, history, artifacts, profile, request) -> AsyncIterator[object]:
    from harness.backends.docker import DockerBackend
    from harness.deployment import Deployment

    deployments = []
    workdirs: list[Path] = []

    async def _deploy(topology, *, profile=profile):
        workdir = procs.temp_root() / "docker-nodes" / f"{request.node.name}-{len(workdirs)}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdirs.append(workdir)
        backend = DockerBackend(topology, profile, workdir, image=docker_image)
        dep = Deployment(backend, history, artifacts)
        deployments.append(dep)
        await backend.deploy()
        return dep

    yield _deploy
    errors = []
    for i, dep in reversed(list(enumerate(deployments))):
        try:
            dep.collect_logs(artifacts / (f"logs-{i}" if i else "logs"))
            for name, text in dep.backend.infra_logs().items():
                (artifacts / (f"logs-{i}" if i else "logs") / f"{name}.log").write_text(text)
            await dep.aclose()
        except Exception as exc:  # noqa: BLE001 - every deployment gets torn down
            errors.append(exc)
    for w in workdirs:
        shutil.rmtree(w, ignore_errors=True)
    if errors:
        raise errors[0]
