"""A person checks camera and microphone against Meridian's echo peer before a session."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from playwright.async_api import expect

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.live.keys import ECHO
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email
from tests.waiting import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> web.Application:
    return create_app(settings.replace(stun_urls=()), clock=clock)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_device_check_shows_the_echo_and_a_round_trip_time(
    open_page: OpenPage, app: web.Application
) -> None:
    watched = await open_page(timezone_id="Asia/Kolkata")
    page = watched.page
    response = await page.context.request.post(
        watched.base_url + "/api/auth/signup",
        data={
            "email": unique_email("priya"),
            "password": PASSWORD,
            "name": "Priya Raman",
            "timezone": "Asia/Kolkata",
        },
    )
    assert response.status == 201
    await watched.goto("/")
    await (
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Device check").click()
    )
    await expect(page.get_by_role("heading", name="Device check")).to_be_visible()
    await page.get_by_role("button", name="Start the check").click()
    await expect(page.get_by_role("status")).to_contain_text("Connected")
    # Video frames come back from the server and are decoded here.
    await page.wait_for_function(
        "() => Number(document.querySelector('[data-role=frames]').textContent) > 20",
    )
    echo_playing = await page.evaluate(
        "() => { const v = document.querySelector('[data-role=echo]');"
        " return v.videoWidth > 0 && v.readyState >= 2; }"
    )
    assert echo_playing
    await page.wait_for_function(
        "() => document.querySelector('[data-role=rtt]').dataset.value !== undefined"
        " && document.querySelector('[data-role=rtt]').dataset.value !== ''",
    )
    await expect(page.locator("[data-role=rtt]")).to_have_text(re.compile(r"^\d+ ms$"))
    await expect(page.locator("[data-role=jitter]")).to_have_text(re.compile(r"^\d+\.\d ms$"))
    await expect(page.locator("[data-role=loss]")).to_have_text(re.compile(r"^\d+\.\d %$"))
    assert len(app[ECHO]) == 1
    await assert_accessible(page)
    await shoot(page, "device-check")
    await page.get_by_role("button", name="Stop").click()
    await expect(page.get_by_role("status")).to_contain_text("Stopped")

    async def peers() -> int:
        return len(app[ECHO])

    await eventually(peers, lambda n: n == 0, what="the hang-up reaching the server")
    watched.assert_no_errors()
