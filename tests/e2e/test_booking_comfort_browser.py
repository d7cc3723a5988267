"""A mentee in New York sees late-evening slots of a mentor in Tokyo marked "late for
you", also just after midnight, and the marks do not change with the zone shown."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage
from tests.e2e.shots import shoot
from tests.e2e.test_booking_browser import NINE_TO_FIVE, call, person

pytestmark = pytest.mark.browser


async def test_slots_around_midnight_are_late_for_the_mentee(open_page: OpenPage) -> None:
    mentor = await open_page(timezone_id="Asia/Tokyo")
    mentee = await open_page(timezone_id="America/New_York")
    for watched in (mentor, mentee):
        await watched.page.clock.set_fixed_time("2026-11-25T12:00:00Z")
    mentor_id = await person(
        mentor,
        "Kenji Tokyo",
        "Asia/Tokyo",
        {"roles": ["mentor"], "languages": ["en"], "working_hours": NINE_TO_FIVE, "capacity": 3},
    )
    await call(
        mentor,
        "PUT",
        "/api/me/availability",
        {"weekly": NINE_TO_FIVE, "notice_minutes": 0, "horizon_days": 90, "slot_step_minutes": 15},
    )
    await person(
        mentee,
        "Nora York",
        "America/New_York",
        {"roles": ["mentee"], "languages": ["en"], "working_hours": NINE_TO_FIVE},
    )
    asked = await call(
        mentee, "POST", "/api/mentorships", {"mentor_id": mentor_id, "goals": ["Lead a team"]}
    )
    await call(mentor, "POST", f"/api/mentorships/{asked['id']}/accept", {})

    page = mentee.page
    await mentee.goto("/sessions")
    await page.get_by_role("link", name="Book a session with Kenji Tokyo").click()
    await expect(page.locator("[data-viewer-zone]")).to_have_text("America/New_York")
    # Monday 13:45 and 14:00 in Tokyo are Sunday 23:45 and Monday 00:00 in New York.
    for start, shown in (("2026-11-30T04:45:00Z", "23:45"), ("2026-11-30T05:00:00Z", "00:00")):
        slot = page.locator(f'[data-slots] [data-start="{start}"]')
        await expect(slot).to_contain_text(shown)
        await expect(slot).to_contain_text("late for you")
        await expect(slot).not_to_contain_text("early for you")
    morning = page.locator('[data-slots] [data-start="2026-11-30T07:00:00Z"]')  # 02:00
    await expect(morning).to_contain_text("early for you")

    await assert_accessible(page)
    await shoot(page, "booking-comfort")
    mentee.assert_no_errors()
    mentor.assert_no_errors()
