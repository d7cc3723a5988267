"""Bad input gets a clear problem+json and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.accounts.models import User, UserSession
from server.core.keys import DB
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]
GOOD = {
    "email": "ada@example.org",
    "password": PASSWORD,
    "name": "Ada",
    "timezone": "Europe/Berlin",
}


async def users(client: Client) -> int:
    async with client.app[DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


async def sessions(client: Client) -> int:
    async with client.app[DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(UserSession)) or 0)


async def assert_problem(resp: Any, status: int, *words: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    for word in words:
        assert word in body["detail"], body
    return body


async def test_malformed_json_is_400(client: Client) -> None:
    resp = await client.post(
        "/api/auth/signup",
        data=b'{"email": "a@b.org",',
        headers={"Content-Type": "application/json"},
    )
    await assert_problem(resp, 400, "not valid JSON")
    assert await users(client) == 0


async def test_non_object_json_is_400(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json=["a", "b"])
    await assert_problem(resp, 400, "JSON object")


async def test_wrong_content_type_is_415(client: Client) -> None:
    resp = await client.post("/api/auth/signup", data="email=a@b.org")
    await assert_problem(resp, 415)
    assert await users(client) == 0


@pytest.mark.parametrize("missing", ["email", "password", "name", "timezone"])
async def test_missing_field_is_named(client: Client, missing: str) -> None:
    body = {k: v for k, v in GOOD.items() if k != missing}
    resp = await client.post("/api/auth/signup", json=body)
    problem = await assert_problem(resp, 422)
    assert [e["field"] for e in problem["errors"]] == [missing]
    assert await users(client) == 0


async def test_five_megabyte_body_is_413(client: Client) -> None:
    payload = {**GOOD, "name": "x" * (5 * 1024 * 1024)}
    resp = await client.post("/api/auth/signup", json=payload)
    await assert_problem(resp, 413, "larger than")
    assert await users(client) == 0


async def test_unknown_time_zone_is_422(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json={**GOOD, "timezone": "Europe/Gotham"})
    problem = await assert_problem(resp, 422, "IANA")
    assert problem["errors"][0]["field"] == "timezone"
    assert await users(client) == 0


async def test_short_password_and_bad_email_are_422(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json={**GOOD, "password": "short"})
    await assert_problem(resp, 422, "password")
    resp = await client.post("/api/auth/signup", json={**GOOD, "email": "not-an-email"})
    await assert_problem(resp, 422, "email")
    assert await users(client) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ada\r\nBcc: all@example.org"),
        ("email", "ada@example.org\nX-EVIL:1"),
        ("email", "ada@@example.org"),
        ("name", "Ada\r\nSubject: you won"),
        ("name", "Ada\u202eecilA"),
    ],
)
async def test_line_breaks_and_controls_cannot_reach_headers(
    client: Client, field: str, value: str
) -> None:
    resp = await client.post("/api/auth/signup", json={**GOOD, field: value})
    problem = await assert_problem(resp, 422)
    assert problem["errors"][0]["field"] == field
    assert await users(client) == 0


async def test_names_in_any_script_are_welcome(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json={**GOOD, "name": "Zoë O'Brien-李 (ശ്രീ)"})
    assert resp.status == 201


async def test_unknown_field_is_refused(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json={**GOOD, "is_admin": True})
    problem = await assert_problem(resp, 422)
    assert problem["errors"][0]["field"] == "is_admin"
    assert await users(client) == 0


async def test_duplicate_email_is_409_whatever_its_case(client: Client) -> None:
    await sign_up(client, email="ada@example.org")
    resp = await client.post("/api/auth/signup", json={**GOOD, "email": "ADA@example.org"})
    await assert_problem(resp, 409, "already exists")
    assert await users(client) == 1
    assert await sessions(client) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ],
)
async def test_cross_site_post_is_403(client: Client, headers: dict[str, str]) -> None:
    resp = await client.post("/api/auth/signup", json=GOOD, headers=headers)
    await assert_problem(resp, 403, "refused")
    assert await users(client) == 0


async def test_cross_site_logout_with_a_cookie_is_refused(client: Client) -> None:
    await sign_up(client)
    resp = await client.post("/api/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    await assert_problem(resp, 403)
    assert await sessions(client) == 1
    assert (await client.get("/api/me")).status == 200


async def test_same_origin_post_is_accepted(client: Client) -> None:
    origin = str(client.make_url("")).rstrip("/")
    resp = await client.post(
        "/api/auth/signup", json=GOOD, headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"}
    )
    assert resp.status == 201


async def test_unknown_api_path_and_method_are_problems(client: Client) -> None:
    await assert_problem(await client.get("/api/no-such-thing"), 404)
    await assert_problem(await client.delete("/api/me"), 405)


async def test_me_without_signing_in_is_401(client: Client) -> None:
    await assert_problem(await client.get("/api/me"), 401, "Sign in")
