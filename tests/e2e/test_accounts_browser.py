"""A person signs up, signs out, mistypes a password, signs in and edits their account;
is refused a weak password, resets a forgotten one by mail, confirms the address, and
manages bearer tokens. Mail goes through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from server.accounts.mail import RESET_SUBJECT, VERIFY_SUBJECT
from server.config import Settings
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage, Watched
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email
from tests.mail import SmtpSink, link_in

pytestmark = pytest.mark.browser
NEW_PASSWORD = "violet harbour quietly sings"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
    )


async def mail_about(smtp: SmtpSink, subject: str, count: int) -> Any:
    """The newest mail with ``subject`` once ``count`` mails have arrived in all."""
    messages = await smtp.wait_for(count)
    return [m for m in messages if m["Subject"] == subject][-1]


def on_this_server(watched: Watched, url: str) -> str:
    """The mailed link's page and fragment, opened on the test server (PUBLIC_URL differs)."""
    parts = urlsplit(url)
    return f"{parts.path}#{parts.fragment}"


def intl_offset(zone: str, now: datetime) -> str:
    """The offset at `now` as Intl's "shortOffset" writes it: GMT, GMT+1, GMT+5:30, GMT-3."""
    offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


async def sign_up_through_api(watched: Watched, *, name: str, timezone: str) -> str:
    email = unique_email("person")
    response = await watched.page.context.request.post(
        watched.base_url + "/api/auth/signup",
        data={"email": email, "password": PASSWORD, "name": name, "timezone": timezone},
    )
    assert response.status == 201, await response.text()
    return email


async def me(watched: Watched) -> dict[str, Any]:
    response = await watched.page.context.request.get(watched.base_url + "/api/me")
    assert response.status == 200, await response.text()
    user: dict[str, Any] = (await response.json())["user"]
    return user


async def test_person_signs_up_signs_out_mistypes_password_and_signs_in_again(
    open_page: OpenPage,
) -> None:
    watched = await open_page(timezone_id="Europe/Berlin")
    page = watched.page
    email = unique_email("grace")

    await watched.goto("/")
    await page.get_by_role("link", name="Create an account").click()
    await expect(page).to_have_url(watched.base_url + "/signup")
    await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    await page.get_by_label("Name").fill("Grace Hopper")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    await page.get_by_label("Time zone").select_option("America/Sao_Paulo")
    await expect(page.locator("#signup-timezone-hint")).to_contain_text("there now")
    await assert_accessible(page)
    await shoot(page, "signup")
    await page.get_by_role("button", name="Create account").click()

    await expect(page).to_have_url(watched.base_url + "/account")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.locator("[data-fact=email]")).to_have_text(email)
    await expect(page.locator("[data-fact=timezone]")).to_have_text("America/Sao_Paulo")
    await expect(page.locator("[data-fact=local-time]")).to_contain_text(
        intl_offset("America/Sao_Paulo", watched.now)
    )
    await expect(page.get_by_label("Time zone")).to_have_value("America/Sao_Paulo")
    await expect(page.get_by_role("navigation", name="Main")).to_contain_text("Grace Hopper")
    await assert_accessible(page)
    await shoot(page, "account")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(watched.base_url + "/login?signed-out=1")
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # The account page is for signed-in people: it sends the visitor to sign in first.
    await watched.goto("/account")
    await expect(page).to_have_url(watched.base_url + "/login?next=%2Faccount")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    await expect(page).to_have_url(watched.base_url + "/login?next=%2Faccount")
    await assert_accessible(page)

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(watched.base_url + "/account")
    await expect(page.locator("[data-fact=email]")).to_have_text(email)
    await expect(page.locator("[data-fact=timezone]")).to_have_text("America/Sao_Paulo")

    watched.allow_http(401, "/api/auth/login")
    watched.assert_no_errors()


async def test_account_time_zone_change_survives_a_reload(open_page: OpenPage) -> None:
    watched = await open_page(timezone_id="Europe/London")
    page = watched.page
    await sign_up_through_api(watched, name="Ada Lovelace", timezone="Europe/London")

    await watched.goto("/account")
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    await page.get_by_label("Time zone").select_option("Pacific/Auckland")
    await expect(page.locator("#account-timezone-hint")).to_contain_text("Pacific/Auckland")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("[data-saved]")).to_have_text("Your changes are saved.")
    await expect(page.locator("[data-fact=timezone]")).to_have_text("Pacific/Auckland")

    await page.reload()
    await expect(page.get_by_label("Time zone")).to_have_value("Pacific/Auckland")
    await expect(page.locator("[data-fact=timezone]")).to_have_text("Pacific/Auckland")
    await expect(page.locator("[data-fact=local-time]")).to_contain_text(
        intl_offset("Pacific/Auckland", watched.now)
    )
    assert (await me(watched))["timezone"] == "Pacific/Auckland"
    watched.assert_no_errors()


async def test_sign_up_preselects_the_browsers_time_zone(open_page: OpenPage) -> None:
    watched = await open_page(timezone_id="Asia/Kolkata")
    page = watched.page
    await watched.goto("/signup")

    select = page.get_by_label("Time zone")
    await expect(select).to_have_value("Asia/Kolkata")
    await expect(page.locator("#signup-timezone-hint")).to_contain_text(
        "Detected from your browser"
    )
    assert await select.locator("option").count() > 400
    watched.assert_no_errors()


async def test_sign_up_shows_the_servers_field_error_next_to_its_input(
    open_page: OpenPage,
) -> None:
    watched = await open_page()
    page = watched.page
    email = unique_email("blank")
    await watched.goto("/signup")
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")

    await page.get_by_label("Name").fill("   ")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()

    await expect(page.locator("#signup-name-error")).to_contain_text("at least 1 character")
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Name")).to_be_focused()
    await assert_accessible(page)
    await expect(page).to_have_url(watched.base_url + "/signup")
    # Nothing was stored: that email cannot sign in.
    response = await page.context.request.post(
        watched.base_url + "/api/auth/login", data={"email": email, "password": PASSWORD}
    )
    assert response.status == 401
    watched.allow_http(422, "/api/auth/signup")
    watched.assert_no_errors()


async def test_a_name_with_markup_is_shown_as_text(open_page: OpenPage) -> None:
    watched = await open_page()
    page = watched.page
    name = '<img src=x onerror="document.title=1"> & "Bobby"'
    await sign_up_through_api(watched, name=name, timezone="Europe/Berlin")

    await watched.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_role("navigation", name="Main")).to_contain_text(name)
    await watched.goto("/account")
    await expect(page.get_by_label("Name")).to_have_value(name)
    assert await page.locator("app-shell img").count() == 0
    watched.assert_no_errors()


async def test_sign_up_shows_strength_refuses_a_weak_password_then_takes_a_strong_one(
    open_page: OpenPage,
) -> None:
    watched = await open_page()
    page = watched.page
    await watched.goto("/signup")
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    await page.get_by_label("Name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill(unique_email("ada"))
    await page.get_by_label("Password").fill("password12")
    strength = page.locator("#signup-password-strength")
    await expect(strength).to_contain_text("too easy to guess")
    await expect(strength).to_contain_text("This is a very common password.")
    assert int(await page.locator("password-strength meter").get_attribute("value") or 0) <= 1
    await assert_accessible(page)
    await shoot(page, "signup-weak-password")

    await page.get_by_role("button", name="Create account").click()
    error = page.locator("#signup-password-error")
    await expect(error).to_contain_text("This password is too easy to guess")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    await expect(page).to_have_url(watched.base_url + "/signup")

    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await expect(strength).to_have_text("Strength: strong. Hard enough to guess.")
    await expect(error).to_be_empty()  # the refusal goes once the password changes
    await shoot(page, "signup-strong-password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(watched.base_url + "/account")
    watched.allow_http(422, "/api/auth/signup")
    watched.assert_no_errors()


async def test_forgotten_password_is_reset_through_the_mailed_link(
    open_page: OpenPage, smtp: SmtpSink
) -> None:
    watched = await open_page()
    page = watched.page
    email = await sign_up_through_api(watched, name="Grace Hopper", timezone="Europe/Berlin")
    await mail_about(smtp, VERIFY_SUBJECT, 1)
    await page.context.clear_cookies()  # she is on another computer, signed out

    await watched.goto("/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page).to_have_url(watched.base_url + "/forgot-password")
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("status")).to_contain_text("a reset link is on its way")
    await assert_accessible(page)
    await shoot(page, "forgot-password")

    mail = await mail_about(smtp, RESET_SUBJECT, 2)
    assert mail["To"] == email
    await watched.goto(on_this_server(watched, link_in(mail)))
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    await expect(page).to_have_url(watched.base_url + "/reset-password")  # the secret is gone
    await page.get_by_label("New password", exact=True).fill("1234567890")
    await expect(page.locator("#reset-password-strength")).to_contain_text("top-100")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.locator("#reset-password-error")).to_contain_text("too easy to guess")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await expect(page.locator("#reset-password-strength")).to_contain_text("Hard enough")
    await expect(page.locator("#reset-password-error")).to_be_empty()
    await assert_accessible(page)
    await shoot(page, "reset-password")
    await page.get_by_role("button", name="Set the new password").click()

    await expect(page).to_have_url(watched.base_url + "/login?reset=1")
    await expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(watched.base_url + "/account")
    await expect(page.locator("[data-fact=email]")).to_have_text(email)
    # The link worked once; opened again it says so.
    await watched.goto(on_this_server(watched, link_in(mail)))
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD + " again")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("alert").first).to_contain_text("already used")
    await expect(page.get_by_role("link", name="Ask for a new reset link")).to_be_visible()
    watched.allow_http(422, "/api/auth/password-reset/confirm")
    watched.allow_http(422, "/api/auth/password-reset/confirm")
    watched.assert_no_errors()


async def test_the_confirmation_link_confirms_the_address(
    open_page: OpenPage, smtp: SmtpSink
) -> None:
    watched = await open_page()
    page = watched.page
    email = await sign_up_through_api(watched, name="Ada Lovelace", timezone="Europe/Berlin")
    await watched.goto("/account")
    banner = page.locator("[data-unverified]")
    await expect(banner).to_contain_text("not confirmed yet")
    await page.get_by_role("button", name="Send the link again").click()
    await expect(banner.get_by_role("status")).to_contain_text(f"We sent a new link to {email}")
    await shoot(page, "account-unconfirmed")

    mail = await mail_about(smtp, VERIFY_SUBJECT, 2)
    await watched.goto(on_this_server(watched, link_in(mail)))
    await expect(page.get_by_role("status")).to_contain_text(f"{email} is confirmed")
    await expect(page).to_have_url(watched.base_url + "/verify-email")
    await assert_accessible(page)
    await shoot(page, "verify-email")
    await page.get_by_role("link", name="Go to your account").click()
    await expect(page.locator("[data-verified]")).to_have_text("confirmed")
    await expect(page.locator("[data-unverified]")).to_have_count(0)
    watched.assert_no_errors()


async def test_account_page_lists_tokens_creates_one_and_revokes_another(
    open_page: OpenPage,
) -> None:
    watched = await open_page(permissions=["clipboard-read", "clipboard-write"])
    page = watched.page
    await sign_up_through_api(watched, name="Ada Lovelace", timezone="Europe/Berlin")
    made = await page.context.request.post(
        watched.base_url + "/api/auth/tokens",
        data={"name": "old backup script"},
        headers={"Origin": watched.base_url},  # as the app's own pages send it
    )
    assert made.status == 201, await made.text()
    old_token = (await made.json())["token"]

    await watched.goto("/account")
    tokens = page.get_by_role("list", name="Your tokens")
    await expect(tokens.get_by_role("listitem")).to_have_count(1)
    await expect(tokens).to_contain_text("old backup script")
    await expect(tokens).to_contain_text("last used never")
    await expect(tokens).to_contain_text("expires")

    await page.get_by_label("What is the new token for?").fill("calendar sync")
    await page.get_by_role("button", name="Create token").click()
    secret = page.locator("#fresh-token")
    await expect(secret).to_be_visible()
    value = await secret.input_value()
    assert len(value) >= 43
    await page.get_by_role("button", name="Copy token").click()
    await expect(page.locator("[data-copied]")).to_contain_text("Token copied")
    assert await page.evaluate("navigator.clipboard.readText()") == value
    await expect(tokens.get_by_role("listitem")).to_have_count(2)
    await assert_accessible(page)
    await shoot(page, "account-tokens")

    await page.get_by_role("button", name="Revoke old backup script").click()
    await expect(tokens.get_by_role("listitem")).to_have_count(1)
    await expect(tokens).not_to_contain_text("old backup script")
    revoked = await page.context.request.get(
        watched.base_url + "/api/me", headers={"Authorization": f"Bearer {old_token}"}
    )
    assert revoked.status == 401
    kept = await page.context.request.get(
        watched.base_url + "/api/me", headers={"Authorization": f"Bearer {value}"}
    )
    assert kept.status == 200
    watched.assert_no_errors()


async def test_password_is_changed_on_the_account_page(open_page: OpenPage) -> None:
    watched = await open_page()
    page = watched.page
    email = await sign_up_through_api(watched, name="Ada Lovelace", timezone="Europe/Berlin")
    await watched.goto("/account")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("aaaaaaaaaa")
    await expect(page.locator("#account-new-password-strength")).to_contain_text("Repeats")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#account-new-password-error")).to_contain_text("too easy")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("[data-password-saved]")).to_have_text(
        "Your password is changed. Other browsers are signed out."
    )
    await expect(page.get_by_label("Current password")).to_have_value("")
    response = await page.context.request.post(
        watched.base_url + "/api/auth/login",
        data={"email": email, "password": NEW_PASSWORD},
        headers={"Origin": watched.base_url},
    )
    assert response.status == 200
    watched.allow_http(422, "/api/me/password")
    watched.assert_no_errors()
