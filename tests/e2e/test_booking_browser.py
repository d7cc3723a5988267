"""A mentee in New York books a weekly series with a mentor in Berlin from the booking
page; the mentor sees it at Berlin times; the mentee cancels one occurrence and moves
the following ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.dates import BERLIN, NEW_YORK, at, day_title, iso, stands_on, today, wall
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage, Watched
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.browser
DASH = "\u2013"  # the en dash the pages put between two times
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def call(watched: Watched, method: str, path: str, body: Any = None) -> Any:
    response = await watched.page.context.request.fetch(
        watched.base_url + path,
        method=method,
        data=body,
        headers={"Origin": watched.base_url},  # as the app's own pages send it
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


def first_workday_shown(now: datetime, zone: str) -> date:
    """The first Monday-to-Friday after today: the booking page opens on today's week."""
    day = today(now, zone) + timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def weekly_in_berlin(first: datetime, count: int) -> list[datetime]:
    """A weekly series keeps the mentor's (Berlin) wall time, whatever DST does."""
    clock, day = wall(first, BERLIN), first.astimezone(ZoneInfo(BERLIN)).date()
    return [at(day + timedelta(weeks=k), clock, BERLIN) for k in range(count)]


def span(start: datetime, zone: str) -> str:
    return f"{wall(start, zone)}-{wall(start + timedelta(hours=1), zone)}"


# The default day, and one whose four weeks cross the EU's spring change (between the
# US's and the EU's, New York is only five hours behind Berlin).
@pytest.mark.anyday("default", "us-spring-before")
async def test_mentee_books_series_mentor_sees_it_mentee_cancels_and_moves(
    open_page: OpenPage, now: datetime
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
    day = first_workday_shown(now, NEW_YORK)
    nine = at(day, "09:00", NEW_YORK)
    slot = page.locator(f'[data-slots] [data-start="{iso(nine)}"]')
    await expect(slot).to_contain_text("09:00")
    await expect(slot).to_contain_text(f"{wall(nine, BERLIN)} in Berlin")
    early = page.locator(f'[data-slots] [data-start="{iso(at(day, "09:00", BERLIN))}"]')
    await expect(early).to_have_class("slot outside")
    await expect(early).to_contain_text("early for you")
    await slot.click()
    await expect(page.get_by_label("Repeat as agreed (every week)")).to_be_checked()
    await page.get_by_label("Number of sessions").fill("4")
    await expect(page.locator("[data-occurrence]")).to_have_count(4)
    await assert_accessible(page)
    await shoot(page, "booking-chosen")
    await page.get_by_role("button", name="Book", exact=True).click()

    await expect(page).to_have_url(mentee.base_url + "/sessions?booked=1")
    await expect(page.locator("[data-upcoming] [data-booking]")).to_have_count(4)
    series = weekly_in_berlin(nine, 4)
    mentee_view = await sessions_text(mentee)
    assert all(span(s, NEW_YORK) in t for s, t in zip(series, mentee_view, strict=True)), (
        mentee_view
    )

    # The mentor, in Berlin, sees the same sessions at Berlin times.
    await mentor.goto("/sessions")
    await expect(mentor.page.locator("[data-upcoming] [data-booking]")).to_have_count(4)
    mentor_view = await sessions_text(mentor)
    assert [t.split(" at ")[0] for t in mentor_view] == [day_title(s, BERLIN) for s in series]
    assert all(span(s, BERLIN) in t for s, t in zip(series, mentor_view, strict=True)), mentor_view
    await assert_accessible(mentor.page)
    await shoot(mentor.page, "sessions")

    # The mentee cancels the second session only...
    second = page.locator("[data-upcoming] [data-booking]").nth(1)
    await second.get_by_text("Move or cancel").click()
    await second.get_by_role("button", name="Cancel session").click()
    await expect(page.locator("[data-status]")).to_have_text("Cancelled 1 session.")
    await expect(page.locator("[data-upcoming] [data-booking]")).to_have_count(3)

    # ...and moves the third and the following ones to Tuesdays at 10:00 New York time.
    third = page.locator("[data-upcoming] [data-booking]").nth(1)
    await third.get_by_text("Move or cancel").click()
    tuesday = series[2].astimezone(ZoneInfo(NEW_YORK)).date() + timedelta(days=1)
    moved = weekly_in_berlin(at(tuesday, "10:00", NEW_YORK), 2)
    await third.get_by_label("New date").fill(tuesday.isoformat())
    await third.get_by_label("New time (your time)").fill("10:00")
    await third.get_by_label("Which sessions").first.select_option("following")
    await third.get_by_role("button", name="Move").click()
    await expect(page.locator("[data-status]")).to_have_text("Moved 2 sessions.")
    mentee_view = await sessions_text(mentee)
    kept = [series[0], *moved]
    assert [t.split(" at ")[0] for t in mentee_view] == [day_title(s, NEW_YORK) for s in kept]
    assert all(span(s, NEW_YORK) in t for s, t in zip(kept, mentee_view, strict=True)), mentee_view

    await mentor.page.reload()
    await expect(mentor.page.locator("[data-upcoming] [data-booking]")).to_have_count(3)
    mentor_view = await sessions_text(mentor)
    for start, text in zip(kept, mentor_view, strict=True):
        assert day_title(start, BERLIN) in text and span(start, BERLIN) in text, mentor_view

    mentee.assert_no_errors()
    mentor.assert_no_errors()


async def test_mentor_sets_hours_on_the_week_grid(open_page: OpenPage) -> None:
    mentor = await open_page(timezone_id="Asia/Kolkata")
    holiday = (today(mentor.now, "Asia/Kolkata") + timedelta(days=29)).isoformat()
    later = (today(mentor.now, "Asia/Kolkata") + timedelta(days=36)).isoformat()
    await person(
        mentor,
        "Asha Kolkata",
        "Asia/Kolkata",
        {"roles": ["mentor"], "languages": ["en"], "working_hours": NINE_TO_FIVE, "capacity": 2},
    )
    page = mentor.page
    await mentor.goto("/availability")
    await expect(page.locator("[data-zone]")).to_have_text("Asia/Kolkata")
    await expect(page.locator("[data-source]")).to_contain_text("profile's working hours")
    monday_nine = page.get_by_role("button", name=f"Monday 09:00{DASH}09:30")
    await expect(monday_nine).to_have_attribute("aria-pressed", "true")
    # Saturday morning on, Monday's first half hour off.
    await page.get_by_role("button", name=f"Saturday 10:00{DASH}10:30").click()
    await page.get_by_role("button", name=f"Saturday 10:30{DASH}11:00").click()
    await monday_nine.click()
    await expect(page.locator("[data-summary]")).to_contain_text(f"Sat 10:00{DASH}11:00")
    await assert_accessible(page)
    await shoot(page, "availability")
    await page.get_by_role("button", name="Add a date").click()
    await page.get_by_label("Date").fill(holiday)
    await page.get_by_label("Buffer before (minutes)").fill("10")
    await page.get_by_label("Slots start every").select_option("15")
    await page.get_by_label("At most sessions a day (empty: no limit)").fill("3")
    await page.get_by_role("button", name="Save availability").click()
    await expect(page.locator("[data-saved]")).to_contain_text("Saved")

    saved = await call(mentor, "GET", "/api/me/availability")
    assert saved["source"] == "saved"
    assert {"weekday": 0, "start": "09:30", "end": "17:00"} in saved["weekly"]
    assert {"weekday": 5, "start": "10:00", "end": "11:00"} in saved["weekly"]
    assert saved["overrides"] == [{"date": holiday, "windows": []}]
    assert saved["buffer_before_minutes"] == 10
    assert saved["slot_step_minutes"] == 15
    assert saved["max_per_day"] == 3

    # A malformed override is explained next to the dates, and nothing is saved.
    await page.get_by_role("button", name="Add a date").click()
    rows = page.locator(".override-row")
    await rows.nth(1).get_by_label("Date").fill(later)
    await rows.nth(1).get_by_label("Hours that day (empty: day off)").fill("morning")
    await page.get_by_role("button", name="Save availability").click()
    await expect(page.locator("[data-error-for=overrides]")).to_contain_text("not a time range")
    again = await call(mentor, "GET", "/api/me/availability")
    assert again["overrides"] == [{"date": holiday, "windows": []}]
    mentor.assert_no_errors()


@stands_on(datetime(2027, 2, 1, 12, tzinfo=UTC))  # a month before the series below
async def test_booking_page_warns_the_mentee_of_a_dst_shift(open_page: OpenPage) -> None:
    mentor = await open_page(timezone_id="Europe/Berlin")
    mentee = await open_page(timezone_id="America/New_York")
    evenings = [{"weekday": 0, "start": "17:00", "end": "20:00"}]
    mentor_id = await person(
        mentor,
        "Greta Berlin",
        "Europe/Berlin",
        {"roles": ["mentor"], "languages": ["en"], "working_hours": evenings, "capacity": 3},
    )
    await call(
        mentor,
        "PUT",
        "/api/me/availability",
        {"weekly": evenings, "notice_minutes": 0, "horizon_days": 365},
    )
    await person(mentee, "Nora York", "America/New_York", {"roles": ["mentee"]})
    asked = await call(
        mentee, "POST", "/api/mentorships", {"mentor_id": mentor_id, "goals": ["Lead a team"]}
    )
    await call(mentor, "POST", f"/api/mentorships/{asked['id']}/accept", {})

    page = mentee.page
    await mentee.goto(f"/mentorships/{asked['id']}/book?from=2027-03-01")
    slot = page.locator('[data-slots] [data-start="2027-03-01T17:00:00Z"]')
    await expect(slot).to_contain_text("12:00")
    await expect(slot).to_contain_text("18:00 in Berlin")
    await slot.click()
    await page.get_by_label("Repeat as a series").check()
    await page.get_by_label("Number of sessions").fill("6")
    await expect(page.locator("[data-occurrence]")).to_have_count(6)
    notice = page.locator("[data-dst-notice]")
    await expect(notice).to_contain_text("13:00 instead of 12:00 your time")
    await expect(notice).to_contain_text("12:00 instead of 13:00 your time")
    await expect(page.locator("[data-occurrence='2']")).to_contain_text("13:00")
    await assert_accessible(page)
    await shoot(page, "booking-dst")
    mentee.assert_no_errors()
    mentor.assert_no_errors()
