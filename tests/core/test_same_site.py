"""Cookie-authenticated unsafe requests must show they come from this site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from server.core.keys import SETTINGS
from tests.factories import Person, sign_up

Client = TestClient[Any, Any]


@pytest.fixture
async def person(client: Client) -> Person:
    return await sign_up(client, timezone="Europe/Berlin")


@pytest.fixture
async def script(
    client: Client, person: Person
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A client that is not a browser but holds the person's cookie: sends no Origin."""
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["meridian_session"]
    async with aiohttp.ClientSession(headers={"Cookie": f"meridian_session={cookie.value}"}) as s:
        yield s, str(client.make_url("")).rstrip("/")


async def zone(client: Client) -> str:
    return str((await (await client.get("/api/me")).json())["user"]["timezone"])


async def change_zone(
    script: tuple[aiohttp.ClientSession, str], headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    session, base = script
    async with session.patch(
        base + "/api/me", json={"timezone": "Asia/Tokyo"}, headers=headers
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_cookie_request_with_neither_origin_nor_fetch_site_is_refused(
    client: Client, person: Person, script: tuple[aiohttp.ClientSession, str]
) -> None:
    status, problem = await change_zone(script, {})
    assert status == 403
    assert "neither Origin nor Sec-Fetch-Site" in problem["detail"]
    assert await zone(client) == "Europe/Berlin"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "SELF"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},
    ],
)
async def test_cookie_request_from_elsewhere_is_refused(
    client: Client,
    person: Person,
    script: tuple[aiohttp.ClientSession, str],
    headers: dict[str, str],
) -> None:
    headers = {k: (script[1] if v == "SELF" else v) for k, v in headers.items()}
    status, problem = await change_zone(script, headers)
    assert status == 403
    assert "refused" in problem["detail"]
    assert await zone(client) == "Europe/Berlin"


@pytest.mark.parametrize("which", ["fetch-site", "origin", "public-url", "both"])
async def test_cookie_request_from_this_site_is_accepted(
    client: Client, person: Person, script: tuple[aiohttp.ClientSession, str], which: str
) -> None:
    own = script[1]
    headers = {
        "fetch-site": {"Sec-Fetch-Site": "same-origin"},
        "origin": {"Origin": own},
        "public-url": {"Origin": client.app[SETTINGS].public_origin},  # type: ignore[index]
        "both": {"Origin": own, "Sec-Fetch-Site": "same-origin"},
    }[which]
    status, _ = await change_zone(script, headers)
    assert status == 200
    assert await zone(client) == "Asia/Tokyo"


async def test_bearer_requests_need_no_origin(client: Client, person: Person) -> None:
    created = await client.post("/api/auth/tokens", json={"name": "cron job"})
    token = (await created.json())["token"]
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as bare,
        bare.patch(client.make_url("/api/me"), json={"timezone": "Asia/Tokyo"}) as resp,
    ):
        assert resp.status == 200
    assert await zone(client) == "Asia/Tokyo"


async def test_requests_without_a_cookie_need_no_origin(client: Client) -> None:
    """Signing up from a script (curl) carries no ambient credential to misuse."""
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(
            client.make_url("/api/auth/signup"),
            json={
                "email": "curl@example.org",
                "password": "violet harbour quietly sings",
                "name": "Curl",
                "timezone": "UTC",
            },
        ) as resp,
    ):
        assert resp.status == 201


async def test_websocket_handshake_with_the_cookie_needs_an_origin(
    client: Client, person: Person, script: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = script
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(base + "/api/mentorships/nope/thread/ws")
    assert refused.value.status == 403
