"""Two people in two browsers, in two time zones: a mentee finds a mentor, asks, is
accepted, both confirm an agreement, and an action item is added and ticked off."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from tests.dates import today
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage, Watched
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, unique_email

pytestmark = pytest.mark.browser

WEEKDAYS_9_TO_5 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def sign_up(watched: Watched, *, name: str, timezone: str) -> dict[str, Any]:
    response = await watched.page.context.request.post(
        watched.base_url + "/api/auth/signup",
        data={"email": unique_email("p"), "password": PASSWORD, "name": name, "timezone": timezone},
    )
    assert response.status == 201, await response.text()
    user: dict[str, Any] = (await response.json())["user"]
    return user


async def test_mentee_finds_asks_mentor_accepts_both_agree_and_work(open_page: OpenPage) -> None:
    mentor = await open_page(timezone_id="America/New_York", locale="en-US")
    mentee = await open_page(timezone_id="Europe/Berlin")
    grace = await sign_up(mentor, name="Grace Hopper", timezone="America/New_York")
    await sign_up(mentee, name="Ada Lovelace", timezone="Europe/Berlin")
    response = await mentor.page.context.request.put(
        mentor.base_url + "/api/me/profile",
        headers={"Origin": mentor.base_url},  # as the app's own pages send it
        data={
            "roles": ["mentor"],
            "headline": "Compilers and careers",
            "languages": ["en-US"],
            "topics": ["python", "career", "compilers"],
            "values": ["curiosity"],
            "working_hours": WEEKDAYS_9_TO_5,
            "capacity": 2,
        },
    )
    assert response.status == 200, await response.text()

    # The mentee fills in a profile in the browser.
    page = mentee.page
    await mentee.goto("/profile")
    await expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    await page.get_by_label("a mentee, looking for a mentor").check()
    await page.get_by_label("Headline").fill("Mathematician learning to program")
    await page.get_by_label("Languages (e.g. en, pt-BR)").fill("en-GB, fr")
    await page.get_by_label("Topics (comma separated").fill("Python, compilers")
    await page.get_by_label("Values that matter").fill("Curiosity")
    await page.get_by_role("button", name="Weekdays 09:00\u201317:00").click()
    await expect(page.locator("[data-hours-row]")).to_have_count(5)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status")).to_have_text("Your profile is saved.")

    # Discovery shows the mentor with reasons, overlap hours and the strip.
    await mentee.goto("/mentors")
    card = page.locator(f"[data-mentor='{grace['id']}']")
    await expect(card).to_be_visible()
    await expect(card.locator("[data-reason=language]")).to_contain_text("English")
    await expect(card.locator("[data-reason=topics]")).to_contain_text("2 of your 2 topics")
    await expect(card.locator("[data-overlap]")).to_contain_text("10 hours a week")
    await expect(card.locator("[data-strip-summary]")).to_have_text(
        re.compile(r"Shared on \w+ \d+ \w+: 15:00\u201317:00 \(your time\)\.")
    )
    await expect(card.locator(".strip-row.both .strip-cell.on")).to_have_count(8)
    # The card keeps its padding in the result list: its text does not touch its edge.
    card_box = await card.bounding_box()
    name_box = await card.get_by_role("link", name="Grace Hopper", exact=True).bounding_box()
    assert card_box and name_box and name_box["x"] - card_box["x"] >= 16
    await assert_accessible(page)
    await shoot(page, "mentors")

    # The request, with goals.
    await card.get_by_role("link", name="Ask Grace Hopper for mentoring").click()
    await expect(page.get_by_role("heading", name="Ask Grace Hopper for mentoring")).to_be_visible()
    await page.get_by_label("Your goals (one per line)").fill(
        "Ship my first open-source library\nGive a conference talk"
    )
    await page.get_by_label("Message").fill("I loved your talk on compilers.")
    await page.get_by_role("button", name="Send request").click()
    await expect(page).to_have_url(re.compile(r"/mentorships/[\w-]+$"))
    mentorship_path = page.url.removeprefix(mentee.base_url)
    await expect(page.locator("[data-lifecycle] [data-state]")).to_have_text("Requested")

    # The mentor hears of it and accepts.
    mpage = mentor.page
    await mentor.goto("/notifications")
    await mpage.get_by_role("link", name="Ada Lovelace asks you to be their mentor").click()
    await expect(mpage).to_have_url(mentor.base_url + mentorship_path)
    await expect(mpage.locator("[data-message]")).to_have_text("I loved your talk on compilers.")
    await mpage.get_by_role("button", name="Accept").click()
    await expect(mpage.locator("[data-lifecycle] [data-state]")).to_have_text("Active")
    # The mentee's open page hears of it without a reload.
    await expect(page.locator("[data-lifecycle] [data-state]")).to_have_text("Active")

    # The mentor proposes an agreement; the mentee confirms it.
    await mpage.get_by_text("Propose an agreement").click()
    await mpage.get_by_label("Session length (minutes)").fill("60")
    await mpage.get_by_label("Cadence").select_option("weekly")
    await mpage.get_by_role("button", name="Propose version 1").click()
    await expect(mpage.locator("[data-confirmed]")).to_have_text("Confirmed by: You")

    await page.get_by_role("button", name="Confirm version 1").click()
    await expect(page.locator("[data-in-force]")).to_have_text("Version 1 is in force")
    await expect(page.locator("[data-confirmed]")).to_have_text("Confirmed by: Grace Hopper, You")
    await expect(mpage.locator("[data-in-force]")).to_have_text("Version 1 is in force")
    await expect(mpage.locator("[data-agreement]")).to_contain_text("60 minutes")

    # The mentee adds an action item; the mentor ticks it off.
    await page.get_by_label("New action item").fill("Draft the README")
    due = (today(mentee.now, "Europe/Berlin") + timedelta(days=9)).isoformat()
    await page.get_by_label("Due date").fill(due)
    await page.get_by_role("button", name="Add action item").click()
    await expect(page.locator("[data-items] li")).to_have_count(1)
    await expect(page.locator("[data-items]")).to_contain_text("Draft the README")
    await mpage.reload()
    item = mpage.locator("[data-items] li", has_text="Draft the README")
    await expect(item).to_contain_text(f"Ada Lovelace · due {due}")
    await item.get_by_role("checkbox").check()
    await expect(mpage.locator("[data-items] li.item-done")).to_have_count(1)
    await page.reload()
    await expect(page.locator("[data-items] li").get_by_role("checkbox")).to_be_checked()
    await assert_accessible(mpage)
    await shoot(mpage, "mentorship")

    # From the mentorship page both people reach its thread and its booking page.
    links = page.locator("[data-links]")
    await expect(links.get_by_role("link", name="Book a session")).to_have_attribute(
        "href", mentorship_path + "/book"
    )
    await links.get_by_role("link", name="Messages").click()
    await expect(page).to_have_url(mentee.base_url + mentorship_path + "/thread")

    # The mentee's other pages: the list, the answer, and the mentor's public profile.
    await mentee.goto("/mentorships")
    listed = page.locator("[data-mentorship]")
    await expect(listed).to_contain_text("Your mentor is Grace Hopper")
    await expect(listed.locator("[data-state]")).to_have_text("Active")
    await mentee.goto("/notifications")
    await expect(page.locator("[data-kind='mentorship.active']")).to_contain_text(
        "Grace Hopper accepted your request"
    )
    await expect(page.locator("[data-kind='agreement.in_force']")).to_be_visible()
    await mentee.goto(f"/people/{grace['id']}")
    await expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Compilers and careers")
    await expect(page.locator("main")).to_contain_text("1 of 2 free")

    mentor.assert_no_errors()
    mentee.assert_no_errors()
