"""A person creates a calendar feed, copies its link, revokes it, and imports busy time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import expect

from server.config import Settings
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email
from tests.ical.ics import sample

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    """The other calendar service below lives on loopback, which is refused by default."""
    return make_settings(database_url, busy_allow_private_addresses=True)


@pytest.fixture
async def elsewhere(aiohttp_server: Callable[..., Any]) -> str:
    """Another calendar service on loopback: one good calendar, one missing."""

    async def work(request: web.Request) -> web.Response:
        return web.Response(body=sample(), content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/work.ics", work)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_person_creates_copies_and_revokes_a_feed_and_imports_busy_time(
    open_page: OpenPage, elsewhere: str, tmp_path: Path
) -> None:
    watched = await open_page(
        timezone_id="Europe/Berlin", permissions=["clipboard-read", "clipboard-write"]
    )
    page = watched.page
    request = page.context.request
    response = await request.post(
        watched.base_url + "/api/auth/signup",
        data={
            "email": unique_email("ada"),
            "password": PASSWORD,
            "name": "Ada Lovelace",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status == 201

    await watched.goto("/calendar")
    await expect(page.get_by_role("heading", name="Calendars", exact=True)).to_be_visible()
    await expect(page.get_by_text("You have no feed link.")).to_be_visible()

    await page.get_by_role("button", name="Create a feed link").click()
    link = page.get_by_label("Your feed link (shown only now — copy it)")
    await expect(link).to_be_visible()
    url = await link.input_value()
    assert url.startswith("http://127.0.0.1:8080/calendars/") and url.endswith(".ics")
    subscribe = page.get_by_role("link", name="Subscribe in your calendar app")
    assert await subscribe.get_attribute("href") == "webcal://" + url.split("://", 1)[1]

    await assert_accessible(page)
    await page.get_by_role("button", name="Copy link").click()
    await expect(page.get_by_text("Link copied.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == url

    path = "/calendars/" + url.rsplit("/calendars/", 1)[1]
    feed = await request.get(watched.base_url + path)
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert "METHOD:PUBLISH" in await feed.text()

    await page.get_by_role("button", name="New link").click()
    await expect(link).not_to_have_value(url)
    rotated = await link.input_value()
    assert (await request.get(watched.base_url + path)).status == 404
    path = "/calendars/" + rotated.rsplit("/calendars/", 1)[1]
    assert (await request.get(watched.base_url + path)).status == 200

    await page.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_text("You have no feed link.")).to_be_visible()
    await expect(link).to_have_count(0)
    assert (await request.get(watched.base_url + path)).status == 404

    await page.get_by_label("Calendar address (https:// or webcal://)").fill(
        elsewhere + "/work.ics"
    )
    await page.get_by_label("Name (optional)").fill("Work")
    await page.get_by_role("button", name="Add calendar").click()
    work = page.locator("li", has_text="Work")
    await expect(work).to_be_visible()
    await expect(work.locator(".sync-status")).to_have_text("Synced")
    await expect(work).to_contain_text("Last synced:")

    await page.get_by_label("Calendar address (https:// or webcal://)").fill(
        elsewhere + "/gone.ics"
    )
    await page.get_by_label("Name (optional)").fill("Old team")
    await page.get_by_role("button", name="Add calendar").click()
    broken = page.locator("li", has_text="Old team")
    await expect(broken.locator(".sync-status")).to_have_text("Sync failed")
    await expect(broken).to_contain_text("The calendar server answered 404")

    upload = tmp_path / "Holidays.ics"
    upload.write_bytes(sample())
    await page.get_by_label("Or upload an .ics file").set_input_files(str(upload))
    await page.get_by_role("button", name="Upload calendar").click()
    holidays = page.locator("li", has_text="Holidays")
    await expect(holidays.locator(".sync-status")).to_have_text("Synced")
    await expect(holidays).to_contain_text("uploaded file")
    await assert_accessible(page)
    await shoot(page, "calendars")

    await page.get_by_label("Calendar address (https:// or webcal://)").fill("ftp://nope")
    await page.get_by_role("button", name="Add calendar").click()
    await expect(page.locator("#busy-url-error")).to_contain_text("https://")
    watched.allow_http(422, "/api/me/busy-calendars")
    watched.assert_no_errors()
