"""Bearer tokens expire, show when they were last used, and are listed and revocable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.accounts.models import ApiToken
from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def make_token(client: Client, name: str = "backup script") -> dict[str, Any]:
    resp = await client.post("/api/auth/tokens", json={"name": name})
    assert resp.status == 201, await resp.text()
    created: dict[str, Any] = await resp.json()
    return created


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def listed(client: Client) -> list[dict[str, Any]]:
    resp = await client.get("/api/me/tokens")
    assert resp.status == 200
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def test_a_token_expires_after_ninety_days_by_default(
    client: Client, clock: FrozenClock, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    created = await make_token(client)
    assert instant(created["expires_at"]) == clock.now() + timedelta(days=90)
    script: Client = await another_client()
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 200

    clock.advance(timedelta(days=90))
    resp = await script.get("/api/me", headers=bearer(created["token"]))
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    detail = (await resp.json())["detail"]
    assert "expired on 2027-02-23 12:00 UTC" in detail
    assert "Account page" in detail
    # The browser session has long ended too (30 days); sign in again to see the list.
    login = {"email": person.email, "password": PASSWORD}
    assert (await client.post("/api/auth/login", json=login)).status == 200
    (item,) = await listed(client)
    assert item["expired"] is True


async def test_the_lifetime_is_a_setting(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    client: Client = await aiohttp_client(
        create_app(make_settings(sqlite_url, token_ttl_days=7), clock=clock)
    )
    await sign_up(client)
    created = await make_token(client)
    assert instant(created["expires_at"]) == clock.now() + timedelta(days=7)
    options = await (await client.get("/api/auth/options")).json()
    assert options["token_ttl_days"] == 7


async def test_a_cached_token_does_not_outlive_its_expiry(
    client: Client, clock: FrozenClock, another_client: Callable[[], Any]
) -> None:
    await sign_up(client)
    created = await make_token(client)
    script: Client = await another_client()
    clock.advance(timedelta(days=90) - timedelta(seconds=5))
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 200
    clock.advance(timedelta(seconds=5))  # well inside the identity cache's 30 seconds
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 401


async def test_last_use_is_recorded_once_a_minute(
    client: Client, clock: FrozenClock, another_client: Callable[[], Any]
) -> None:
    await sign_up(client)
    created = await make_token(client)
    (item,) = await listed(client)
    assert item["last_used_at"] is None
    script: Client = await another_client()
    first_use = clock.now()
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 200
    (item,) = await listed(client)
    assert instant(item["last_used_at"]) == first_use

    clock.advance(timedelta(seconds=45))  # past the identity cache, within the minute
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 200
    (item,) = await listed(client)
    assert instant(item["last_used_at"]) == first_use

    clock.advance(timedelta(seconds=30))
    assert (await script.get("/api/me", headers=bearer(created["token"]))).status == 200
    (item,) = await listed(client)
    assert instant(item["last_used_at"]) == clock.now()


async def test_the_list_shows_everything_but_the_secret(client: Client, clock: FrozenClock) -> None:
    await sign_up(client)
    created = await make_token(client, "calendar sync")
    (item,) = await listed(client)
    assert item == {
        "id": created["id"],
        "name": "calendar sync",
        "created_at": created["created_at"],
        "last_used_at": None,
        "expires_at": created["expires_at"],
        "expired": False,
    }
    async with client.app[DB].read() as s:  # type: ignore[index]
        stored = list(await s.scalars(select(ApiToken.token_hash)))
    assert created["token"] not in stored


async def test_revoking_a_token_ends_it_at_once(
    client: Client, another_client: Callable[[], Any]
) -> None:
    await sign_up(client)
    keep, drop = await make_token(client, "keep"), await make_token(client, "drop")
    script: Client = await another_client()
    assert (await script.get("/api/me", headers=bearer(drop["token"]))).status == 200  # cached
    assert (await client.delete(f"/api/me/tokens/{drop['id']}")).status == 204
    assert (await script.get("/api/me", headers=bearer(drop["token"]))).status == 401
    assert (await script.get("/api/me", headers=bearer(keep["token"]))).status == 200
    assert [t["name"] for t in await listed(client)] == ["keep"]
    again = await client.delete(f"/api/me/tokens/{drop['id']}")
    assert again.status == 404


async def test_nobody_can_revoke_or_see_another_persons_token(
    client: Client, another_client: Callable[[], Any]
) -> None:
    await sign_up(client)
    mine = await make_token(client)
    other: Client = await another_client()
    await sign_up(other, name="Grace Hopper")
    assert await listed(other) == []
    resp = await other.delete(f"/api/me/tokens/{mine['id']}")
    assert resp.status == 404
    assert len(await listed(client)) == 1
