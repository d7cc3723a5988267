"""The browser stands on the server's now: what "today" and "this hour" are agree."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.dates import TOKYO
from tests.e2e.conftest import OpenPage
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.browser


def greeting(now: datetime, zone: str) -> str:
    hour = now.astimezone(ZoneInfo(zone)).hour
    if hour < 5:
        return "Good night"
    if hour < 12:
        return "Good morning"
    return "Good afternoon" if hour < 18 else "Good evening"


# 21:00 in Tokyo on the default day; 05:00 on New Year's Day at the year's end.
@pytest.mark.anyday("default", "year-end")
async def test_the_page_greets_by_the_hour_of_the_servers_now(
    open_page: OpenPage, now: datetime
) -> None:
    watched = await open_page(timezone_id=TOKYO)
    page = watched.page
    await watched.goto("/")
    page_now = await page.evaluate("() => new Date().toISOString()")  # the page's own clock
    assert page_now == now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # The clock stands still, the timers do not (calls, uploads and polling need them).
    assert await page.evaluate("() => new Promise((done) => setTimeout(() => done(1), 50))") == 1
    response = await page.context.request.post(
        watched.base_url + "/api/auth/signup",
        headers={"Origin": watched.base_url},
        data={
            "email": unique_email("yuki"),
            "password": PASSWORD,
            "name": "Yuki Tanaka",
            "timezone": TOKYO,
        },
    )
    assert response.status == 201, await response.text()
    await watched.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(greeting(now, TOKYO))
    watched.assert_no_errors()
