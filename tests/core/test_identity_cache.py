"""Credentials are cached per process, and every ending of one is honoured everywhere at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.clients import PageClient
from tests.factories import sign_up
from tests.waiting import eventually

Client = TestClient[Any, Any]


@pytest.fixture
async def two_processes(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    clock: FrozenClock,
) -> AsyncIterator[tuple[Client, Client]]:
    """Two app instances on one database with Redis between them, like two replicas."""
    settings = make_settings(sqlite_url, redis_url=redis_url)
    clients = [
        PageClient(TestServer(create_app(settings, clock=clock))),
        PageClient(TestServer(create_app(settings, clock=clock))),
    ]
    for c in clients:
        await c.start_server()
    yield clients[0], clients[1]
    for c in clients:
        await c.close()


async def eventually_status(client: Client, path: str, headers: dict[str, str], want: int) -> int:
    """The forget travels through Redis: look again until it has arrived."""

    async def status() -> int:
        return (await client.get(path, headers=headers)).status

    return await eventually(status, lambda found: found == want, what=f"{path} answering {want}")


@pytest.mark.redis
async def test_sign_out_in_one_process_ends_the_session_in_the_other(
    two_processes: tuple[Client, Client],
) -> None:
    a, b = two_processes
    await sign_up(a)
    cookie = a.session.cookie_jar.filter_cookies(a.make_url("/"))["meridian_session"].value
    headers = {"Cookie": f"meridian_session={cookie}"}
    assert (await b.get("/api/me", headers=headers)).status == 200  # now cached in b
    assert (await a.post("/api/auth/logout")).status == 204
    assert await eventually_status(b, "/api/me", headers, 401) == 401


@pytest.mark.redis
async def test_revoked_token_and_changed_zone_reach_the_other_process(
    two_processes: tuple[Client, Client],
) -> None:
    a, b = two_processes
    await sign_up(a, timezone="Europe/Berlin")
    token = (await (await a.post("/api/auth/tokens", json={"name": "script"})).json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await (await b.get("/api/me", headers=headers)).json())["user"]["timezone"] == (
        "Europe/Berlin"
    )
    await a.patch("/api/me", json={"timezone": "Asia/Tokyo"})

    async def zone() -> str:
        me = await (await b.get("/api/me", headers=headers)).json()
        return str(me["user"]["timezone"])

    await eventually(zone, lambda found: found == "Asia/Tokyo", what="the new zone in b")
    token_id = (await (await a.get("/api/auth/tokens")).json())["items"][0]["id"]
    assert (await a.delete(f"/api/auth/tokens/{token_id}")).status == 204
    assert await eventually_status(b, "/api/me", headers, 401) == 401


async def test_session_cache_never_outlives_the_session(client: Client, clock: FrozenClock) -> None:
    from datetime import timedelta

    await sign_up(client)
    assert (await client.get("/api/me")).status == 200
    clock.advance(timedelta(days=31))
    assert (await client.get("/api/me")).status == 401
