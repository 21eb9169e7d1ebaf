"""A fresh database per test on the session's PostgreSQL server."""

import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def database_url(postgres_server) -> Iterator[str]:
    name = f"u_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
