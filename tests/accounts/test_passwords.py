"""Weak and common passwords are refused with zxcvbn's advice, wherever a password is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.accounts.models import User, UserSession
from server.accounts.passwords import estimate
from server.app import create_app
from server.config import RateLimit, Settings
from server.core.clock import FrozenClock
from server.core.keys import DB
from tests.factories import PASSWORD, sign_up

Client = TestClient[Any, Any]
STRONG = "violet harbour quietly sings"


def signup_body(password: str, **changes: str) -> dict[str, str]:
    return {
        "email": "ada.lovelace@example.org",
        "password": password,
        "name": "Ada Lovelace",
        "timezone": "Europe/London",
        **changes,
    }


async def users(client: Client) -> int:
    async with client.app[DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


def test_the_shared_test_password_is_strong_enough() -> None:
    assert estimate(PASSWORD, email="ada@example.org", name="Ada Lovelace").score >= 3


@pytest.mark.parametrize(
    ("password", "advice"),
    [
        ("aaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
        ("1234567890", "This is a top-100 common password."),
        ("password12", "This is a very common password."),
    ],
)
async def test_weak_and_common_passwords_are_refused_with_advice(
    client: Client, password: str, advice: str
) -> None:
    resp = await client.post("/api/auth/signup", json=signup_body(password))
    assert resp.status == 422, await resp.text()
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    (error,) = problem["errors"]
    assert error["field"] == "password"
    assert error["message"].startswith("This password is too easy to guess")
    assert advice in error["message"]
    assert "Add another word or two." in error["message"]
    assert await users(client) == 0


async def test_a_password_made_of_the_persons_own_name_is_refused(client: Client) -> None:
    # Fine for a stranger, weak for Ada: zxcvbn is told her email and name.
    assert estimate("ada.lovelace99").score >= 3
    resp = await client.post("/api/auth/signup", json=signup_body("ada.lovelace99"))
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "password"
    other = await client.post(
        "/api/auth/signup",
        json=signup_body("ada.lovelace99", email="grace@example.org", name="Grace Hopper"),
    )
    assert other.status == 201


async def test_a_strong_password_is_accepted(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json=signup_body(STRONG))
    assert resp.status == 201


async def test_the_longest_password_is_judged_within_bounds(client: Client) -> None:
    resp = await client.post("/api/auth/signup", json=signup_body("ab1!" * 50))
    assert resp.status == 422  # 200 characters of a repeated pattern
    assert (await resp.json())["errors"][0]["field"] == "password"
    resp = await client.post("/api/auth/signup", json=signup_body(STRONG + "x" * 172))
    assert resp.status == 201


async def test_the_threshold_is_a_setting(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    assert estimate("gracehopper12").score == 3
    strict: Client = await aiohttp_client(
        create_app(make_settings(sqlite_url, password_min_score=4), clock=clock)
    )
    resp = await strict.post(
        "/api/auth/signup", json=signup_body("gracehopper12", name="Ada", email="a@example.org")
    )
    assert resp.status == 422
    assert "(good)" in (await resp.json())["errors"][0]["message"]


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaa", "1234567890", "password12", "ada.lovelace99", STRONG, "short"]
)
async def test_the_strength_check_says_what_sign_up_then_does(
    client: Client, password: str
) -> None:
    resp = await client.post(
        "/api/auth/password-strength",
        json={"password": password, "email": "ada.lovelace@example.org", "name": "Ada Lovelace"},
    )
    assert resp.status == 200
    verdict = await resp.json()
    assert verdict["min_score"] == 3
    assert 0 <= verdict["score"] <= 4
    signup = await client.post("/api/auth/signup", json=signup_body(password))
    assert verdict["acceptable"] == (signup.status == 201), await signup.text()
    if not verdict["acceptable"]:
        refusal = await signup.json()
        assert verdict["message"] == refusal["errors"][0]["message"] or password == "short"


async def test_the_strength_check_speaks_plainly(client: Client) -> None:
    resp = await client.post("/api/auth/password-strength", json={"password": "1234567890"})
    verdict = await resp.json()
    assert verdict["label"] == "very weak"
    assert verdict["warning"] == "This is a top-100 common password."
    assert verdict["message"] == (
        "This password is too easy to guess (very weak). This is a top-100 common password. "
        "Add another word or two. Uncommon words are better."
    )
    strong = await (
        await client.post("/api/auth/password-strength", json={"password": STRONG})
    ).json()
    assert strong["acceptable"] is True and strong["label"] == "strong"


async def test_the_strength_check_is_rate_limited(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, password_check_rate_limit=RateLimit(3, 60))
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    statuses = [
        (await client.post("/api/auth/password-strength", json={"password": "x"})).status
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


async def test_the_strength_check_refuses_oversized_input(client: Client) -> None:
    resp = await client.post("/api/auth/password-strength", json={"password": "x" * 201})
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"


# --- changing the password ----------------------------------------------------------------


async def sessions_of(client: Client, user_id: str) -> int:
    async with client.app[DB].read() as s:  # type: ignore[index]
        count = await s.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
        )
        return int(count or 0)


async def test_changing_the_password_checks_it_and_ends_other_sessions(
    client: Client, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    laptop: Client = await another_client()
    login = {"email": person.email, "password": PASSWORD}
    assert (await laptop.post("/api/auth/login", json=login)).status == 200
    assert await sessions_of(client, person.id) == 2

    weak = await client.post(
        "/api/me/password", json={"current_password": PASSWORD, "password": "password12"}
    )
    assert weak.status == 422
    assert (await weak.json())["errors"][0]["field"] == "password"
    wrong = await client.post(
        "/api/me/password", json={"current_password": "not-my-password", "password": STRONG}
    )
    assert wrong.status == 422
    assert (await wrong.json())["errors"][0]["field"] == "current_password"
    assert await sessions_of(client, person.id) == 2

    done = await client.post(
        "/api/me/password", json={"current_password": PASSWORD, "password": STRONG}
    )
    assert done.status == 204
    assert (await client.get("/api/me")).status == 200  # this browser stays signed in
    assert (await laptop.get("/api/me")).status == 401  # the other one is signed out
    assert (await laptop.post("/api/auth/login", json=login)).status == 401
    new = {"email": person.email, "password": STRONG}
    assert (await laptop.post("/api/auth/login", json=new)).status == 200
