"""PostgreSQL stops and starts again: meanwhile every call is a 503 with Retry-After,
afterwards the same running app answers as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.db import Database, DatabaseUnavailable
from tests.factories import PASSWORD, sign_up
from tests.services import PostgresServer

pytestmark = pytest.mark.postgres
Client = TestClient[Any, Any]


async def assert_unavailable(resp: Any) -> None:
    assert resp.status == 503, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 30
    body = await resp.json()
    assert body["status"] == 503
    assert "database" in body["detail"].lower()


async def test_a_stopped_database_answers_503_with_retry_after_and_recovers(
    own_postgres: PostgresServer,
    make_settings: Callable[..., Settings],
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(own_postgres.url("meridian"))
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    ada = await sign_up(client, name="Ada Lovelace")
    assert (await client.get("/api/notifications")).status == 200

    own_postgres.halt()
    try:
        await assert_unavailable(await client.get("/api/notifications"))
        await assert_unavailable(
            await client.post("/api/auth/login", json={"email": ada.email, "password": PASSWORD})
        )
        stranger: Client = await aiohttp_client(client.server)
        await assert_unavailable(
            await stranger.post(
                "/api/auth/signup",
                json={
                    "email": "late@example.org",
                    "password": PASSWORD,
                    "name": "Late Comer",
                    "timezone": "Europe/Berlin",
                },
            )
        )
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert "Retry-After" in ready.headers
        assert (await ready.json())["checks"]["database"] == "failing"
    finally:
        own_postgres.resume()

    # The same app, not restarted: its pool drops the dead connections by itself.
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/api/notifications")).status == 200
    again = await client.post("/api/auth/login", json={"email": ada.email, "password": PASSWORD})
    assert again.status == 200, await again.text()


async def test_a_connection_cut_mid_transaction_is_an_outage_not_a_crash(
    own_postgres: PostgresServer,
) -> None:
    db = Database(own_postgres.url("meridian"))
    try:
        with pytest.raises(DatabaseUnavailable) as cut:
            async with db.write() as s:
                await s.execute(text("SELECT 1"))
                own_postgres.halt()  # fast shutdown: the server ends this session
                await s.execute(text("SELECT 1"))
        assert cut.value.status == 503
        own_postgres.resume()
        await db.ping()
    finally:
        await db.close()
