"""A fresh database per test on the session's PostgreSQL server."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from components.joc import config
from components.joc.api import Api
from components.joc.app import Joc
from tests.joc.jocapi import write_conf


@pytest.fixture
def database_url(postgres_server) -> Iterator[str]:
    name = f"u_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def joc_conf() -> dict[str, Any]:
    """Settings of the ``api`` fixture's instance beyond ``write_conf``'s (a
    module overrides this fixture to change them)."""
    return {}


@pytest.fixture
async def api(tmp_path, database_url, joc_conf) -> AsyncIterator[TestClient]:
    """A JOC instance (its Controller unreachable) behind a test client."""
    write_conf(tmp_path, database_url, **joc_conf)
    joc = Joc(config.load(tmp_path))
    await joc.start()
    client = TestClient(TestServer(Api(joc).app()))
    await client.start_server()
    for _ in range(200):
        if joc.schema_ready:
            break
        await asyncio.sleep(0.05)
    yield client
    await client.close()
    await joc.stop()
