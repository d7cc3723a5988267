"""A person signs up, signs out, mistypes a password, signs in and edits their account."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage, Watched
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.browser


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
    await page.screenshot(path="/tmp/meridian-signup.png", full_page=True)
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
    await page.screenshot(path="/tmp/meridian-account.png", full_page=True)

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
    await expect(page.get_by_role("status")).to_have_text("Your changes are saved.")
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
