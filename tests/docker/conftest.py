"""The Docker backend's own tests: run only with ``JS7HA_DOCKER=1``.

Without it this directory's test modules are not collected at all (not
skipped), so the default run needs no Docker engine:

    JS7HA_DOCKER=1 python -m pytest -p no:cacheprovider tests/docker

The first run builds the images (``harness.images``; a few minutes), later
runs reuse them while their inputs are unchanged. Here every ``deploy`` runs
on ``DockerBackend`` whatever ``--backend`` says, so the backend-neutral
tests of ``tests/harness`` run on containers unchanged.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from harness.pytest_plugin import Options

if os.environ.get("JS7HA_DOCKER") != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


@pytest.fixture(scope="session")
def js7ha_options(pytestconfig: pytest.Config) -> Options:
    from harness.pytest_plugin import OPTIONS

    return dataclasses.replace(pytestconfig.stash[OPTIONS], backend="docker")


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The project image (built or confirmed once per session, with progress
    on stderr). What the session leaves is removed by the plugin at its end."""
    from harness import images
    from harness.backends.docker import labels

    labels.sweep()
    return images.ensure_image()
