"""A mentee in New York books a weekly series with a mentor in Berlin from the booking
page; the mentor sees it at Berlin times; the mentee cancels one occurrence and moves
the following ones."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage, Watched
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.browser
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def call(watched: Watched, method: str, path: str, body: Any = None) -> Any:
    response = await watched.page.context.request.fetch(
        watched.base_url + path, method=method, data=body
    )
    assert response.ok, await response.text()
    return await response.json()


async def person(watched: Watched, name: str, zone: str, profile: dict[str, Any]) -> str:
    user = await call(
        watched,
        "POST",
        "/api/auth/signup",
        {"email": unique_email("p"), "password": PASSWORD, "name": name, "timezone": zone},
    )
    await call(watched, "PUT", "/api/me/profile", profile)
    return str(user["user"]["id"])


async def sessions_text(watched: Watched) -> list[str]:
    items = watched.page.locator("[data-upcoming] [data-booking]")
    texts = await items.locator("[data-when]").all_inner_texts()
    return [t.replace("\u202f", " ").replace("\u2013", "-") for t in texts]


async def test_mentee_books_series_mentor_sees_it_mentee_cancels_and_moves(
    open_page: OpenPage,
) -> None:
    mentor = await open_page(timezone_id="Europe/Berlin")
    mentee = await open_page(timezone_id="America/New_York")
    mentor_id = await person(
        mentor,
        "Greta Berlin",
        "Europe/Berlin",
        {"roles": ["mentor"], "languages": ["en"], "working_hours": NINE_TO_FIVE, "capacity": 3},
    )
    await call(
        mentor,
        "PUT",
        "/api/me/availability",
        {"weekly": NINE_TO_FIVE, "notice_minutes": 0, "horizon_days": 90},
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
    mentorship_id = asked["id"]
    await call(mentor, "POST", f"/api/mentorships/{mentorship_id}/accept", {})
    proposed = await call(
        mentee,
        "PUT",
        f"/api/mentorships/{mentorship_id}/agreement",
        {"cadence": "weekly", "session_minutes": 60, "channel": "live"},
    )
    version = proposed["agreement"]["version"]
    await call(
        mentor, "POST", f"/api/mentorships/{mentorship_id}/agreement/confirm", {"version": version}
    )

    # The mentee opens the booking page from the sessions page.
    page = mentee.page
    await mentee.goto("/sessions")
    await page.get_by_role("link", name="Book a session with Greta Berlin").click()
    await expect(
        page.get_by_role("heading", name="Book a session with Greta Berlin")
    ).to_be_visible()
    await expect(page.locator("[data-viewer-zone]")).to_have_text("America/New_York")
    slot = page.locator('[data-slots] [data-start="2026-11-30T14:00:00Z"]')
    await expect(slot).to_contain_text("09:00")
    await expect(slot).to_contain_text("15:00 in Berlin")
    early = page.locator('[data-slots] [data-start="2026-11-30T08:00:00Z"]')
    await expect(early).to_have_class("slot outside")
    await expect(early).to_contain_text("early for you")
    await slot.click()
    await expect(page.get_by_label("Repeat as agreed (every week)")).to_be_checked()
    await page.get_by_label("Number of sessions").fill("4")
    await expect(page.locator("[data-occurrence]")).to_have_count(4)
    await page.get_by_role("button", name="Book", exact=True).click()

    await expect(page).to_have_url(mentee.base_url + "/sessions?booked=1")
    await expect(page.locator("[data-upcoming] [data-booking]")).to_have_count(4)
    assert all("09:00" in t for t in await sessions_text(mentee))

    # The mentor, in Berlin, sees the same sessions at Berlin times.
    await mentor.goto("/sessions")
    await expect(mentor.page.locator("[data-upcoming] [data-booking]")).to_have_count(4)
    mentor_view = await sessions_text(mentor)
    assert [t.split(" at ")[0] for t in mentor_view] == [
        "Monday 30 November",
        "Monday 7 December",
        "Monday 14 December",
        "Monday 21 December",
    ]
    assert all("15:00-16:00" in t for t in mentor_view), mentor_view

    # The mentee cancels the second session only...
    second = page.locator("[data-upcoming] [data-booking]").nth(1)
    await second.get_by_text("Move or cancel").click()
    await second.get_by_role("button", name="Cancel session").click()
    await expect(page.locator("[data-status]")).to_have_text("Cancelled 1 session(s).")
    await expect(page.locator("[data-upcoming] [data-booking]")).to_have_count(3)

    # ...and moves the third and the following ones to Tuesdays at 10:00 New York time.
    third = page.locator("[data-upcoming] [data-booking]").nth(1)
    await third.get_by_text("Move or cancel").click()
    await third.get_by_label("New date").fill("2026-12-15")
    await third.get_by_label("New time (your time)").fill("10:00")
    await third.get_by_label("Which sessions").first.select_option("following")
    await third.get_by_role("button", name="Move").click()
    await expect(page.locator("[data-status]")).to_have_text("Moved 2 session(s).")
    mentee_view = await sessions_text(mentee)
    assert [t.split(" at ")[0] for t in mentee_view] == [
        "Monday 30 November",
        "Tuesday 15 December",
        "Tuesday 22 December",
    ]
    assert "10:00" in mentee_view[1] and "10:00" in mentee_view[2]

    await mentor.page.reload()
    await expect(mentor.page.locator("[data-upcoming] [data-booking]")).to_have_count(3)
    mentor_view = await sessions_text(mentor)
    assert "15:00-16:00" in mentor_view[0]
    assert "Tuesday 15 December" in mentor_view[1] and "16:00-17:00" in mentor_view[1]
    assert "Tuesday 22 December" in mentor_view[2] and "16:00-17:00" in mentor_view[2]

    mentee.assert_no_errors()
    mentor.assert_no_errors()
