"""Failed logins slow the (account, client) pair, never the owner elsewhere; per-address
limits still bound guessing. In memory and in Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import RateLimit, Settings
from server.core.clock import FrozenClock
from server.core.requests import in_words
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]
STRANGER = {"X-Forwarded-For": "203.0.113.9"}
OWNER = {"X-Forwarded-For": "198.51.100.7"}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limited_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], sqlite_url: str
) -> Settings:
    changes: dict[str, Any] = {
        "auth_rate_limit_account": RateLimit(3, 300),
        "auth_rate_limit_ip": RateLimit(40, 60),
        "trust_proxy_headers": True,  # so each test can speak from several addresses
    }
    if request.param == "redis":
        changes["redis_url"] = request.getfixturevalue("redis_url")
    return make_settings(sqlite_url, **changes)


@pytest.fixture
async def limited(
    limited_settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> Client:
    c: Client = await aiohttp_client(create_app(limited_settings, clock=clock))
    return c


async def login(client: Client, email: str, password: str, headers: dict[str, str]) -> Any:
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=headers
    )


async def test_a_strangers_failures_do_not_lock_the_owner_out(limited: Client) -> None:
    person = await sign_up(limited)
    for _ in range(20):
        resp = await login(limited, person.email, "wrong-wrong", STRANGER)
        assert resp.status in (401, 429)
    assert (await login(limited, person.email, PASSWORD, STRANGER)).status == 429
    owner = await login(limited, person.email, PASSWORD, OWNER)
    assert owner.status == 200, await owner.text()


async def test_slowed_pair_is_refused_before_the_password_is_checked(limited: Client) -> None:
    person = await sign_up(limited)
    for _ in range(4):  # three free failures, and one that costs a wait
        assert (await login(limited, person.email, "wrong-wrong", STRANGER)).status == 401
    blocked = await login(limited, person.email, PASSWORD, STRANGER)
    assert blocked.status == 429
    assert blocked.content_type == "application/problem+json"
    assert blocked.headers["Retry-After"] == "1"
    assert "Try again in a few seconds" in (await blocked.json())["detail"]


async def test_a_success_clears_the_pairs_failures(limited: Client) -> None:
    person = await sign_up(limited)
    for _ in range(3):
        assert (await login(limited, person.email, "wrong-wrong", OWNER)).status == 401
    assert (await login(limited, person.email, PASSWORD, OWNER)).status == 200
    for _ in range(3):  # three free failures again, not a wait
        assert (await login(limited, person.email, "wrong-wrong", OWNER)).status == 401
    assert (await login(limited, person.email, PASSWORD, OWNER)).status == 200


async def test_unknown_accounts_are_slowed_alike(limited: Client) -> None:
    for _ in range(4):
        resp = await login(limited, "nobody@example.org", "wrong-wrong", STRANGER)
        assert resp.status == 401
    assert (await login(limited, "nobody@example.org", "wrong-wrong", STRANGER)).status == 429


@pytest.mark.redis
async def test_the_wait_is_shared_by_every_process(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(
        sqlite_url,
        redis_url=redis_url,
        auth_rate_limit_account=RateLimit(2, 300),
        trust_proxy_headers=True,
    )
    first: Client = await aiohttp_client(create_app(settings, clock=clock))
    second: Client = await aiohttp_client(create_app(settings, clock=clock))
    person = await sign_up(first)
    for client in (first, second, first):
        assert (await login(client, person.email, "wrong-wrong", STRANGER)).status == 401
    assert (await login(second, person.email, PASSWORD, STRANGER)).status == 429
    assert (await login(second, person.email, PASSWORD, OWNER)).status == 200


@pytest.fixture
async def in_memory(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> Client:
    settings = make_settings(
        sqlite_url,
        auth_rate_limit_account=RateLimit(3, 300),
        auth_rate_limit_ip=RateLimit(1000, 60),
        trust_proxy_headers=True,
    )
    c: Client = await aiohttp_client(create_app(settings, clock=clock))
    return c


async def test_each_further_failure_doubles_the_wait_up_to_the_cap(
    in_memory: Client, clock: FrozenClock
) -> None:
    person = await sign_up(in_memory)
    for _ in range(3):
        assert (await login(in_memory, person.email, "wrong-wrong", STRANGER)).status == 401
    waits = []
    for _ in range(11):
        assert (await login(in_memory, person.email, "wrong-wrong", STRANGER)).status == 401
        blocked = await login(in_memory, person.email, "wrong-wrong", STRANGER)
        assert blocked.status == 429
        wait = int(blocked.headers["Retry-After"])
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert "Try again in 5 minutes." in (await blocked.json())["detail"]
    # Once the wait is over, the right password works and the slate is clean.
    assert (await login(in_memory, person.email, PASSWORD, STRANGER)).status == 200
    assert (await login(in_memory, person.email, "wrong-wrong", STRANGER)).status == 401
    assert (await login(in_memory, person.email, PASSWORD, STRANGER)).status == 200


async def test_failures_are_forgotten_after_a_quiet_spell(
    in_memory: Client, clock: FrozenClock
) -> None:
    person = await sign_up(in_memory)
    for _ in range(4):
        await login(in_memory, person.email, "wrong-wrong", STRANGER)
    clock.advance(timedelta(seconds=1 + 300))
    for _ in range(3):
        assert (await login(in_memory, person.email, "wrong-wrong", STRANGER)).status == 401
    assert (await login(in_memory, person.email, PASSWORD, STRANGER)).status == 200


async def test_one_address_trying_many_accounts_hits_the_address_limit(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, auth_rate_limit_ip=RateLimit(6, 60))
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    statuses = [
        (await login(client, f"person{i}@example.org", "wrong-wrong", {})).status for i in range(8)
    ]
    assert statuses == [401] * 6 + [429, 429]


async def test_signup_is_limited_per_ip(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, auth_rate_limit_ip=RateLimit(6, 60))
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    statuses = []
    for i in range(8):
        resp = await client.post(
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
    assert "Try again in 1 minute." in (await resp.json())["detail"]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "a few seconds"),
        (44, "a few seconds"),
        (45, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (300, "5 minutes"),
        (3600, "60 minutes"),
        (7200, "2 hours"),
    ],
)
def test_waits_are_said_in_minutes(seconds: int, words: str) -> None:
    assert in_words(seconds) == words
