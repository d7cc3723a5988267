"""Login and signup are rate limited per IP and per account, in memory and in Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import RateLimit, Settings
from server.core.clock import FrozenClock
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limited(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> Client:
    changes: dict[str, Any] = {
        "auth_rate_limit_account": RateLimit(3, 60),
        "auth_rate_limit_ip": RateLimit(6, 60),
    }
    if request.param == "redis":
        changes["redis_url"] = request.getfixturevalue("redis_url")
    app = create_app(make_settings(sqlite_url, **changes), clock=clock)
    c: Client = await aiohttp_client(app)
    return c


async def test_login_is_limited_per_account_with_retry_after(
    limited: Client, clock: FrozenClock
) -> None:
    person = await sign_up(limited)
    for _ in range(3):
        resp = await limited.post(
            "/api/auth/login", json={"email": person.email, "password": "wrong-wrong"}
        )
        assert resp.status == 401
    blocked = await limited.post(
        "/api/auth/login", json={"email": person.email, "password": PASSWORD}
    )
    assert blocked.status == 429
    assert blocked.content_type == "application/problem+json"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # Another account from the same address is still allowed (the IP limit is higher).
    other = await limited.post(
        "/api/auth/login", json={"email": "x@example.org", "password": "whatever-1"}
    )
    assert other.status == 401
    clock.advance(timedelta(seconds=61))


async def test_signup_is_limited_per_ip(limited: Client) -> None:
    statuses = []
    for i in range(8):
        resp = await limited.post(
            "/api/auth/signup",
            json={
                "email": f"flood{i}@example.org",
                "password": PASSWORD,
                "name": "Flood",
                "timezone": "UTC",
            },
        )
        statuses.append(resp.status)
    assert statuses[:6] == [201] * 6
    assert statuses[6:] == [429, 429]
