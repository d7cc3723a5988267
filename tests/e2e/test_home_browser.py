"""Home is the person's week: a new mentor is told why mentees cannot find her and what
to do first, and the warning goes once her profile says enough."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from playwright.async_api import expect

from server.core.clock import FrozenClock
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage
from tests.e2e.shots import shoot
from tests.e2e.test_mentorship_browser import sign_up
from tests.e2e.test_thread_browser import two_people
from tests.factories import rows

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_a_new_mentor_learns_why_she_is_hidden_and_fixes_it(open_page: OpenPage) -> None:
    watched = await open_page(timezone_id="Europe/Berlin")
    page = watched.page
    await sign_up(watched, name="Maria Mentor", timezone="Europe/Berlin")
    await watched.goto("/")
    await expect(page.get_by_role("heading", name="No session booked")).to_be_visible()
    steps = page.get_by_role("heading", name="Getting started")
    await expect(steps).to_be_visible()
    calendar_step = page.get_by_role("link", name="Add your sessions to your own calendar")
    await expect(calendar_step).to_be_visible()
    # Not yet a mentor: nothing about places.
    await expect(page.get_by_text("What keeps mentees from finding you")).to_have_count(0)

    await page.get_by_role("link", name="Say who you are").click()
    await expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    await page.get_by_label("a mentor", exact=True).check()
    # A new mentor starts with places, so she is findable once she saves.
    await expect(page.get_by_label("Mentees I can take at once")).to_have_value("3")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    banner = page.get_by_role("region", name="What keeps mentees from finding you")
    await expect(banner).to_contain_text("which languages you speak")
    await expect(banner).to_contain_text("no working hours")
    await expect(banner).not_to_contain_text("no mentees")

    await watched.goto("/")
    await expect(banner).to_be_visible()
    await expect(page.get_by_role("link", name="Choose when mentees can book you")).to_be_visible()
    await shoot(page, "new-mentor")
    await assert_accessible(page)

    await page.get_by_role("link", name="Change your profile").click()
    await page.get_by_label("Languages (e.g. en, pt-BR)").fill("de, en")
    await page.get_by_role("button", name="Weekdays 09:00").click()
    await page.get_by_label("Mentees I can take at once").fill("0")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    await expect(banner).to_contain_text("You take no mentees at the moment")
    await expect(banner).not_to_contain_text("languages")
    await page.get_by_label("Mentees I can take at once").fill("2")
    await page.get_by_role("button", name="Save profile").click()
    await expect(banner).to_have_count(0)

    await watched.goto("/")
    await expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    await expect(banner).to_have_count(0)
    await expect(page.locator(".checklist li.done")).to_contain_text(["Say who you are"])
    await shoot(page, "findable-mentor")
    await assert_accessible(page)
    watched.assert_no_errors()


async def test_a_mentee_sees_her_next_session_to_join_and_new_messages(
    open_page: OpenPage, app: web.Application, clock: FrozenClock
) -> None:
    mentor_view, mentee_view, mentor, mentee, mentorship_id = await two_people(open_page, app)
    await rows.store_booking(app, mentor.id, mentee.id, clock.now() + timedelta(hours=30))
    for body in ("Welcome!", "Bring one question."):
        response = await mentor_view.page.context.request.post(
            f"{mentor_view.base_url}/api/mentorships/{mentorship_id}/messages",
            headers={"Origin": mentor_view.base_url},
            data={"kind": "text", "body": body},
        )
        assert response.status == 201, await response.text()

    page = mentee_view.page
    await mentee_view.goto("/")
    next_session = page.locator(".next-session")
    await expect(next_session).to_contain_text("With Greta Berlin")
    await expect(next_session).to_contain_text("tomorrow")
    # A day away, the room is not open yet: no Join button.
    await expect(next_session.get_by_role("link", name="Join the session")).to_have_count(0)
    messages = page.get_by_role("link", name="2 new messages from Greta Berlin")
    await expect(messages).to_have_attribute("href", f"/mentorships/{mentorship_id}/thread")
    await shoot(page, "mentee-week")
    await assert_accessible(page)

    # Five minutes before the next one, Home offers to join it.
    soon = await rows.store_booking(app, mentor.id, mentee.id, clock.now() + timedelta(minutes=5))
    await mentee_view.goto("/")
    join = next_session.get_by_role("link", name="Join the session")
    await expect(join).to_have_attribute("href", f"/sessions/{soon.id}/call")
    await expect(next_session).not_to_contain_text("Live now")
    mentor_view.assert_no_errors()
    mentee_view.assert_no_errors()
