"""Private Redis and PostgreSQL servers that a test may kill, stop and start again.

The session-wide servers of ``tests/conftest.py`` are shared by every test; these are
each test's own, so an outage staged here disturbs nobody else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from server.db.migrate import upgrade
from tests.services import PostgresServer, RedisServer, start_postgres, start_redis, unavailable


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = start_redis()
    if isinstance(server, str):
        unavailable(server)
        raise AssertionError("unreachable")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A migrated database ``meridian`` on a PostgreSQL of this test's own."""
    server = start_postgres()
    if isinstance(server, str):
        unavailable(server)
        raise AssertionError("unreachable")

    async def create() -> None:
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            await conn.execute("CREATE DATABASE meridian")
        finally:
            await conn.close()

    try:
        asyncio.run(create())
        upgrade(server.url("meridian"))
        yield server
    finally:
        server.stop()
