"""Accounts over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.accounts.models import ApiToken, User, UserSession
from server.core.keys import DB
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]


async def count(client: Client, model: Any) -> int:
    async with client.app[DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_signup_signs_in_with_a_server_side_session(client: Client) -> None:
    resp = await client.post(
        "/api/auth/signup",
        json={
            "email": "grace@example.org",
            "password": PASSWORD,
            "name": "Grace Hopper",
            "timezone": "America/New_York",
        },
    )
    assert resp.status == 201
    user = (await resp.json())["user"]
    assert user["timezone"] == "America/New_York"
    assert user["created_at"].endswith("Z")
    set_cookie = resp.headers["Set-Cookie"]
    assert set_cookie.startswith("meridian_session=")
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie  # PUBLIC_URL is http here
    me = await client.get("/api/me")
    assert me.status == 200
    assert (await me.json())["user"]["email"] == "grace@example.org"
    assert await count(client, UserSession) == 1


async def test_password_is_stored_as_argon2id(client: Client) -> None:
    person = await sign_up(client)
    async with client.app[DB].read() as s:  # type: ignore[index]
        stored = await s.scalar(select(User.password_hash).where(User.id == person.id))
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_logout_ends_the_session_on_the_server(client: Client) -> None:
    await sign_up(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[
        "meridian_session"
    ].value
    resp = await client.post("/api/auth/logout")
    assert resp.status == 204
    assert (await client.get("/api/me")).status == 401
    assert await count(client, UserSession) == 0
    # The old cookie value replayed by hand is dead too.
    replay = await client.get("/api/me", cookies={"meridian_session": cookie})
    assert replay.status == 401


async def test_login_with_right_and_wrong_password(
    client: Client, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    other: Client = await another_client()
    wrong = await other.post(
        "/api/auth/login", json={"email": person.email, "password": "nope-nope-nope"}
    )
    assert wrong.status == 401
    assert wrong.content_type == "application/problem+json"
    assert "do not match" in (await wrong.json())["detail"]
    right = await other.post(
        "/api/auth/login", json={"email": person.email.upper(), "password": PASSWORD}
    )
    assert right.status == 200
    assert (await (await other.get("/api/me")).json())["user"]["id"] == person.id


async def test_bearer_tokens_are_shown_once_and_stored_hashed(
    client: Client, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    created = await client.post("/api/auth/tokens", json={"name": "laptop script"})
    assert created.status == 201
    token = (await created.json())["token"]
    assert len(token) >= 43
    async with client.app[DB].read() as s:  # type: ignore[index]
        hashes = list(await s.scalars(select(ApiToken.token_hash)))
    assert hashes and token not in hashes
    listed = await (await client.get("/api/auth/tokens")).json()
    assert "token" not in listed["items"][0]

    script: Client = await another_client()
    me = await script.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200
    assert (await me.json())["user"]["id"] == person.id
    bad = await script.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status == 401

    token_id = listed["items"][0]["id"]
    assert (await client.delete(f"/api/auth/tokens/{token_id}")).status == 204
    gone = await script.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status == 401


async def test_account_time_zone_can_be_changed(client: Client) -> None:
    await sign_up(client, timezone="Europe/Berlin")
    resp = await client.patch("/api/me", json={"timezone": "America/Sao_Paulo"})
    assert resp.status == 200
    assert (await resp.json())["user"]["timezone"] == "America/Sao_Paulo"
    bad = await client.patch("/api/me", json={"timezone": "Europe/Atlantis"})
    assert bad.status == 422
    me = await (await client.get("/api/me")).json()
    assert me["user"]["timezone"] == "America/Sao_Paulo"


async def test_time_zone_list_is_the_full_iana_list(client: Client) -> None:
    zones = (await (await client.get("/api/timezones")).json())["items"]
    assert len(zones) > 400
    assert {"Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham"} <= set(zones)
