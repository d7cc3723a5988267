"""Address confirmation and password reset by mail, through a real SMTP server on loopback.

Links are single-use, expire (48 hours, 1 hour), are stored only as hashes and never
reach a log; asking for a reset says the same whether or not the address has an account.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.accounts.keys import ACCOUNT_MAIL
from server.accounts.models import EmailToken
from server.app import create_app
from server.config import RateLimit, Settings
from server.core.clock import FrozenClock
from server.core.ids import hash_token
from server.core.keys import DB
from tests.factories import PASSWORD, Person, sign_up
from tests.mail import SmtpSink, body, link_in

Client = TestClient[Any, Any]
NEW_PASSWORD = "violet harbour quietly sings"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        public_url="http://meridian.test:8080",
    )


def token_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.fragment.startswith("token="), url
    assert "token" not in parts.query
    return parts.fragment.removeprefix("token=")


async def drain(client: Client) -> None:
    await client.app[ACCOUNT_MAIL].drain()  # type: ignore[index]


async def me(client: Client) -> dict[str, Any]:
    resp = await client.get("/api/me")
    assert resp.status == 200, await resp.text()
    user: dict[str, Any] = (await resp.json())["user"]
    return user


async def email_tokens(client: Client) -> list[EmailToken]:
    async with client.app[DB].read() as s:  # type: ignore[index]
        return list(await s.scalars(select(EmailToken)))


# --- confirming the address --------------------------------------------------------------------


async def test_sign_up_mails_a_link_that_confirms_the_address_once(
    client: Client, smtp: SmtpSink
) -> None:
    person = await sign_up(client, name="Ada Lovelace")
    assert (await me(client))["email_verified"] is False
    (mail,) = await smtp.wait_for(1)
    assert mail["To"] == person.email
    assert mail["Subject"] == "Confirm your email address for Meridian"
    assert "Hello Ada Lovelace" in body(mail)
    url = link_in(mail)
    assert url.startswith("http://meridian.test:8080/verify-email#token=")
    token = token_of(url)
    (stored,) = await email_tokens(client)
    assert stored.id == hash_token(token) and token not in (stored.id, stored.email)

    resp = await client.post("/api/auth/verify-email", json={"token": token})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["user"]["email_verified"] is True
    assert (await me(client))["email_verified"] is True
    again = await client.post("/api/auth/verify-email", json={"token": token})
    assert again.status == 422
    assert "already used" in (await again.json())["detail"]
    assert await email_tokens(client) == []


async def test_the_link_works_from_another_browser_without_signing_in(
    client: Client, smtp: SmtpSink, another_client: Callable[[], Any]
) -> None:
    await sign_up(client)
    token = token_of(link_in((await smtp.wait_for(1))[0]))
    phone: Client = await another_client()
    assert (await phone.post("/api/auth/verify-email", json={"token": token})).status == 200
    assert (await me(client))["email_verified"] is True


async def test_a_confirmation_link_expires_after_48_hours(
    client: Client, smtp: SmtpSink, clock: FrozenClock
) -> None:
    person = await sign_up(client)
    token = token_of(link_in((await smtp.wait_for(1))[0]))
    clock.advance(timedelta(hours=48))
    resp = await client.post("/api/auth/verify-email", json={"token": token})
    assert resp.status == 422
    assert "expired" in (await resp.json())["detail"]
    login = {"email": person.email, "password": PASSWORD}
    assert (await client.post("/api/auth/login", json=login)).status == 200
    assert (await me(client))["email_verified"] is False


async def test_a_new_link_from_the_account_page_replaces_the_old_one(
    client: Client, smtp: SmtpSink
) -> None:
    await sign_up(client)
    first = token_of(link_in((await smtp.wait_for(1))[0]))
    resp = await client.post("/api/me/email-verification")
    assert resp.status == 202
    assert "48 hours" in (await resp.json())["detail"]
    second = token_of(link_in((await smtp.wait_for(2))[1]))
    assert first != second
    assert (await client.post("/api/auth/verify-email", json={"token": first})).status == 422
    assert (await client.post("/api/auth/verify-email", json={"token": second})).status == 200
    done = await client.post("/api/me/email-verification")
    assert done.status == 409
    assert "already confirmed" in (await done.json())["detail"]


async def test_asking_for_links_again_and_again_is_limited(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    smtp: SmtpSink,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(
        sqlite_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        email_rate_limit=RateLimit(2, 3600),
    )
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    person = await sign_up(client)
    statuses = [(await client.post("/api/me/email-verification")).status for _ in range(3)]
    assert statuses == [202, 202, 429]
    resets = [
        (await client.post("/api/auth/password-reset", json={"email": person.email})).status
        for _ in range(3)
    ]
    assert resets == [202, 202, 429]
    await drain(client)
    assert len(smtp.messages) == 1 + 2 + 2


# --- resetting the password ----------------------------------------------------------------------


@pytest.fixture
async def person(client: Client, smtp: SmtpSink) -> Person:
    """Signed up, with the confirmation mail already received (and so out of the way)."""
    signed_up = await sign_up(client, name="Ada Lovelace")
    await smtp.wait_for(1)
    return signed_up


async def ask_reset(client: Client, email: str) -> Any:
    return await client.post("/api/auth/password-reset", json={"email": email})


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    client: Client, smtp: SmtpSink, person: Person, another_client: Callable[[], Any]
) -> None:
    asked = await ask_reset(client, person.email)
    assert asked.status == 202
    mail = (await smtp.wait_for(2))[1]
    assert mail["To"] == person.email
    assert mail["Subject"] == "Reset your Meridian password"
    url = link_in(mail)
    assert url.startswith("http://meridian.test:8080/reset-password#token=")
    token = token_of(url)

    stranger: Client = await another_client()
    weak = await stranger.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "password12"}
    )
    assert weak.status == 422
    assert (await weak.json())["errors"][0]["field"] == "password"
    done = await stranger.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status == 204, await done.text()
    assert (await client.get("/api/me")).status == 401, "every session ends with a reset"
    reused = await stranger.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reused.status == 422
    assert "already used" in (await reused.json())["detail"]

    old = {"email": person.email, "password": PASSWORD}
    assert (await stranger.post("/api/auth/login", json=old)).status == 401
    new = {"email": person.email, "password": NEW_PASSWORD}
    assert (await stranger.post("/api/auth/login", json=new)).status == 200
    assert (await me(stranger))["email_verified"] is True, "the link proved the address"


async def test_asking_for_a_reset_tells_nothing_about_the_address(
    client: Client, smtp: SmtpSink, person: Person
) -> None:
    known = await ask_reset(client, person.email)
    unknown = await ask_reset(client, "nobody@example.org")
    assert known.status == unknown.status == 202
    known_detail = (await known.json())["detail"].replace(person.email, "X")
    unknown_detail = (await unknown.json())["detail"].replace("nobody@example.org", "X")
    assert known_detail == unknown_detail
    await drain(client)
    assert [m["To"] for m in smtp.messages] == [person.email, person.email]


async def test_a_reset_link_expires_after_an_hour(
    client: Client, smtp: SmtpSink, person: Person, clock: FrozenClock
) -> None:
    await ask_reset(client, person.email)
    token = token_of(link_in((await smtp.wait_for(2))[1]))
    clock.advance(timedelta(hours=1))
    resp = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert resp.status == 422
    assert "expired" in (await resp.json())["detail"]


async def test_only_the_newest_reset_link_works(
    client: Client, smtp: SmtpSink, person: Person
) -> None:
    await ask_reset(client, person.email)
    await smtp.wait_for(2)
    await ask_reset(client, person.email)
    first, second = (token_of(link_in(m)) for m in (await smtp.wait_for(3))[1:])
    stale = await client.post(
        "/api/auth/password-reset/confirm", json={"token": first, "password": NEW_PASSWORD}
    )
    assert stale.status == 422
    fresh = await client.post(
        "/api/auth/password-reset/confirm", json={"token": second, "password": NEW_PASSWORD}
    )
    assert fresh.status == 204


async def test_two_uses_of_one_link_at_once_set_one_password(
    client: Client, smtp: SmtpSink, person: Person, another_client: Callable[[], Any]
) -> None:
    await ask_reset(client, person.email)
    token = token_of(link_in((await smtp.wait_for(2))[1]))
    a: Client = await another_client()
    b: Client = await another_client()
    passwords = (NEW_PASSWORD, "tulip-marble-19 quietly")
    responses = await asyncio.gather(
        *(
            c.post("/api/auth/password-reset/confirm", json={"token": token, "password": p})
            for c, p in zip((a, b), passwords, strict=True)
        )
    )
    assert sorted(r.status for r in responses) == [204, 422]
    winner = passwords[[r.status for r in responses].index(204)]
    login = {"email": person.email, "password": winner}
    assert (await a.post("/api/auth/login", json=login)).status == 200


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        ("/api/auth/verify-email", {"token": "not-a-real-token"}, 422),
        ("/api/auth/verify-email", {"token": "x" * 201}, 422),
        ("/api/auth/verify-email", {}, 422),
        ("/api/auth/password-reset/confirm", {"token": "nope", "password": NEW_PASSWORD}, 422),
        ("/api/auth/password-reset/confirm", {"token": "nope"}, 422),
        ("/api/auth/password-reset", {"email": "not an address"}, 422),
        ("/api/auth/password-reset", {"email": "ada@example.org", "admin": True}, 422),
    ],
)
async def test_bad_links_and_bodies_are_clear_problems(
    client: Client, path: str, payload: dict[str, Any], status: int
) -> None:
    resp = await client.post(path, json=payload)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["detail"]


async def test_links_never_reach_the_logs(
    client: Client, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = await sign_up(client)
    await ask_reset(client, person.email)
    mails = await smtp.wait_for(2)
    secrets = [token_of(link_in(m)) for m in mails]
    await client.post("/api/auth/verify-email", json={"token": secrets[0]})
    await client.post(
        "/api/auth/password-reset/confirm", json={"token": secrets[1], "password": NEW_PASSWORD}
    )
    for secret in secrets:
        assert secret not in caplog.text


# --- without mail ----------------------------------------------------------------------------


@pytest.fixture
def no_mail_app(make_settings: Callable[..., Settings], sqlite_url: str, clock: FrozenClock) -> Any:
    return create_app(make_settings(sqlite_url), clock=clock)


async def test_without_smtp_no_link_is_made_and_the_pages_are_told(
    no_mail_app: web.Application, aiohttp_client: Callable[..., Any]
) -> None:
    client: Client = await aiohttp_client(no_mail_app)
    person = await sign_up(client)
    await drain(client)
    async with no_mail_app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(EmailToken)) == 0
    options = await (await client.get("/api/auth/options")).json()
    assert options == {"email_enabled": False, "password_min_score": 3, "token_ttl_days": 90}
    for resp in (
        await client.post("/api/me/email-verification"),
        await ask_reset(client, person.email),
    ):
        assert resp.status == 503
        assert "no mail set up" in (await resp.json())["detail"]
