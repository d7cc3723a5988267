"""Mentor and mentee meet in a room: video both ways, mute, chat, and a reload survived.

Each person is a Chromium context with a fake camera and microphone. The second test
puts each person on a different server process, with a real Redis between them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.live.keys import RECORDINGS
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import REPORT_CSP, Watched
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email
from tests.live.conftest import add_room
from tests.live.test_recording import media_flows_into_the_files
from tests.waiting import DEADLINE_SECONDS

pytestmark = pytest.mark.browser

FRAMES = "() => Number(document.querySelector('[data-role=quality]')?.dataset.framesDecoded) > {n}"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> web.Application:
    return create_app(settings.replace(stun_urls=()), clock=clock)


@pytest.fixture
async def person(browser: Any, clock: FrozenClock) -> AsyncIterator[Callable[..., Any]]:
    contexts: list[Any] = []

    async def make(base_url: str, *, name: str, timezone: str) -> tuple[Watched, str]:
        context = await browser.new_context(base_url=base_url, locale="en-GB", timezone_id=timezone)
        contexts.append(context)
        await context.clock.set_fixed_time(clock.now())
        await context.add_init_script(REPORT_CSP)
        context.set_default_timeout(DEADLINE_SECONDS * 1000)
        page = await context.new_page()
        watched = Watched(page=page, base_url=base_url, clock=clock)
        page.on(
            "console",
            lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: watched.errors.append(f"uncaught: {exc}"))
        resp = await context.request.post(
            base_url + "/api/auth/signup",
            data={
                "email": unique_email(name.split()[0].lower()),
                "password": PASSWORD,
                "name": name,
                "timezone": timezone,
            },
        )
        assert resp.status == 201, await resp.text()
        return watched, (await resp.json())["user"]["id"]

    yield make
    for context in contexts:
        await context.close()


async def meet(mentor: Watched, mentee: Watched, booking_id: str) -> None:
    """Both open the session from their session list, see the preview, join, connect."""
    for watched in (mentor, mentee):
        await watched.goto("/sessions")
        page = watched.page
        session = page.locator(f"[data-booking='{booking_id}']")
        await session.get_by_role("link", name="Open the live session").click()
        await expect(page).to_have_url(f"{watched.base_url}/sessions/{booking_id}/call")
        await expect(page.get_by_label("Camera")).to_be_visible()
        await page.wait_for_function(
            "() => document.querySelector('[data-role=preview]').videoWidth > 0"
        )
        await assert_accessible(page)
        await page.get_by_role("button", name="Join the session").click()
        await expect(page.get_by_role("button", name="Leave")).to_be_visible()
    for watched in (mentor, mentee):
        # getStats shows video frames from the other side, decoded here.
        await watched.page.wait_for_function(FRAMES.format(n=10))


async def talk(mentor: Watched, mentee: Watched) -> None:
    # The other person's name and local time are on each page.
    mentor_tile = mentor.page.locator(".call-tile")
    await expect(mentor_tile).to_contain_text("Sam Mentee")
    await expect(mentor_tile.locator("[data-role=local-time]")).to_contain_text("America/Sao Paulo")
    await expect(mentee.page.locator(".call-tile")).to_contain_text("Maria Mentor")

    await mentor.page.get_by_role("button", name="Mute").click()
    await expect(mentee.page.locator("[data-badge=muted]")).to_be_visible()
    await mentor.page.get_by_role("button", name="Unmute").click()
    await expect(mentee.page.locator("[data-badge=muted]")).to_have_count(0)
    await mentee.page.get_by_role("button", name="Camera off").click()
    await expect(mentor.page.locator("[data-badge=camera-off]")).to_be_visible()

    # The line to write on is the widest thing in the chat, not squeezed by its button.
    text_box = await mentee.page.get_by_label("Message").bounding_box()
    send_box = await mentee.page.get_by_role("button", name="Send").bounding_box()
    assert text_box and send_box and text_box["width"] > 2 * send_box["width"]
    # The chat is a usable panel: beside the video on a desktop, below it on a phone.
    for size in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        await mentee.page.set_viewport_size(size)
        box = await mentee.page.get_by_label("Message").bounding_box()
        assert box and box["width"] >= 200, f"the chat input is {box} at {size['width']} px"
    await mentee.page.get_by_label("Message").fill("Olá! Can you hear me?")
    await mentee.page.get_by_role("button", name="Send").click()
    await expect(mentor.page.locator(".chat-log")).to_contain_text("Olá! Can you hear me?")
    await mentor.page.get_by_label("Message").fill("Loud and clear")
    await mentor.page.keyboard.press("Enter")
    await expect(mentee.page.locator(".chat-log")).to_contain_text("Loud and clear")
    quality = mentor.page.locator("[data-role=quality]")
    await expect(quality).to_contain_text("Connection: good")
    await assert_accessible(mentor.page)
    await shoot(mentor.page, "in-the-call")


async def survive_reload(mentor: Watched, mentee: Watched) -> None:
    """The mentee reloads; the call is back with the same peer (a resume: the server holds
    the place for 30 s, so coming back as the same peer proves it was in time)."""
    tile = mentor.page.locator(".call-tile")
    peer_id = await tile.get_attribute("data-peer")
    await tile.evaluate("(el) => { el.dataset.before = 'reload'; }")
    await mentee.page.reload()
    # The mentor's page replaces the link (a fresh tile) for the same peer id: a resume.
    fresh = mentor.page.locator(f".call-tile[data-peer='{peer_id}']:not([data-before])")
    await expect(fresh).to_have_count(1)
    await mentee.page.wait_for_function(FRAMES.format(n=5))
    await mentor.page.wait_for_function(FRAMES.format(n=5))
    await expect(mentor.page.locator(".call-tile")).to_have_count(1)
    await expect(mentee.page.locator(".call-tile")).to_have_count(1)
    await expect(mentee.page.get_by_role("button", name="Leave")).to_be_visible()


async def test_two_people_meet_talk_and_survive_a_reload(
    person: Callable[..., Any], live_server: str, app: web.Application
) -> None:
    mentor, mentor_id = await person(live_server, name="Maria Mentor", timezone="Europe/Berlin")
    mentee, mentee_id = await person(live_server, name="Sam Mentee", timezone="America/Sao_Paulo")
    room = await add_room(app, mentor_id, mentee_id)
    await meet(mentor, mentee, room.booking_id)
    await talk(mentor, mentee)
    await survive_reload(mentor, mentee)
    await mentee.page.get_by_role("button", name="Leave").click()
    await expect(mentee.page.get_by_role("heading", name="You left the session")).to_be_visible()
    await expect(mentor.page.locator(".call-status")).to_contain_text("Sam Mentee left")
    mentor.assert_no_errors()
    mentee.assert_no_errors()


async def test_two_people_on_two_processes_meet_through_redis(
    person: Callable[..., Any],
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    clock: FrozenClock,
    aiohttp_server: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, redis_url=redis_url, stun_urls=())
    first_app = create_app(settings, clock=clock)
    first: TestServer = await aiohttp_server(first_app)
    second: TestServer = await aiohttp_server(create_app(settings, clock=clock))
    first_url = str(first.make_url("")).rstrip("/")
    second_url = str(second.make_url("")).rstrip("/")
    mentor, mentor_id = await person(first_url, name="Maria Mentor", timezone="Europe/Berlin")
    mentee, mentee_id = await person(second_url, name="Sam Mentee", timezone="America/Sao_Paulo")
    room = await add_room(first_app, mentor_id, mentee_id)
    await meet(mentor, mentee, room.booking_id)
    await talk(mentor, mentee)
    await survive_reload(mentor, mentee)
    mentor.assert_no_errors()
    mentee.assert_no_errors()


async def test_both_allow_recording_see_the_indicator_and_withdraw(
    person: Callable[..., Any], live_server: str, app: web.Application
) -> None:
    mentor, mentor_id = await person(live_server, name="Maria Mentor", timezone="Europe/Berlin")
    mentee, mentee_id = await person(live_server, name="Sam Mentee", timezone="America/Sao_Paulo")
    room = await add_room(app, mentor_id, mentee_id, recording_allowed=True)
    await meet(mentor, mentee, room.booking_id)
    indicator = "[data-role=recording]"
    await mentor.page.get_by_role("button", name="Allow recording").click()
    await expect(mentee.page.locator("[data-badge=consent]")).to_be_visible()
    await expect(mentor.page.locator(indicator)).to_be_hidden()  # one consent is not enough
    await mentee.page.get_by_role("button", name="Allow recording").click()
    for watched in (mentor, mentee):
        await expect(watched.page.locator(indicator)).to_be_visible()
    await media_flows_into_the_files(app, room)  # both pictures and sounds are being written
    await mentee.page.get_by_role("button", name="Withdraw recording consent").click()
    for watched in (mentor, mentee):
        await expect(watched.page.locator(indicator)).to_be_hidden()
    # The call itself goes on, and the take is listed on the booking: one file each.
    await expect(mentor.page.locator(".call-tile")).to_have_count(1)
    await app[RECORDINGS].idle()  # both files checked and posted
    listed = await mentor.page.context.request.get(
        f"{live_server}/api/bookings/{room.booking_id}/recordings"
    )
    items = (await listed.json())["items"]
    assert {item["user_id"] for item in items} == {mentor_id, mentee_id} and len(items) == 2
    assert all(item["duration_seconds"] > 0 for item in items)
    mentor.assert_no_errors()
    mentee.assert_no_errors()
