"""A thread opens where its reader left off: at the first message she has not seen, below
a "New messages" divider, and what comes on screen there is marked seen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import expect

from server.core.clock import FrozenClock
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage, Watched
from tests.e2e.shots import shoot
from tests.e2e.test_thread_browser import two_people
from tests.waiting import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def call(watched: Watched, method: str, path: str, **data: Any) -> Any:
    response = await watched.page.context.request.fetch(
        watched.base_url + path,
        method=method,
        headers={"Origin": watched.base_url},
        data=data or None,
    )
    assert response.ok, await response.text()
    return await response.json() if response.status != 204 else None


async def test_the_thread_opens_at_the_first_unread_message(
    open_page: OpenPage, app: web.Application, clock: FrozenClock
) -> None:
    mentor_view, mentee_view, _, _, mentorship_id = await two_people(
        open_page, app, mentee=("Yuki Tanaka", "Asia/Tokyo")
    )
    messages = f"/api/mentorships/{mentorship_id}/messages"

    async def post(view: Watched, body: str) -> Any:
        clock.advance(timedelta(minutes=1))  # one message a minute, so their order is known
        return await call(view, "POST", messages, kind="text", body=body)

    read = [await post(mentor_view, f"Old note {i}") for i in range(8)]
    for message in read:
        await call(mentee_view, "POST", f"/api/messages/{message['id']}/seen")
    await post(mentee_view, "Thanks, all read.")
    for i in range(6):
        await post(mentor_view, f"New thought {i}: " + "x " * 60)

    page = mentee_view.page
    await mentee_view.goto(f"/mentorships/{mentorship_id}/thread")
    divider = page.locator(".thread-new")
    await expect(divider).to_have_text("New messages")
    # The divider sits right above the first unseen message, and the page opened there.
    after = divider.locator("xpath=following-sibling::li[1]")
    await expect(after).to_contain_text("New thought 0")
    await expect(divider).to_be_in_viewport()
    await expect(page.get_by_text("Old note 0")).not_to_be_in_viewport()

    async def unread() -> int:
        body = await call(mentee_view, "GET", "/api/threads/unread")
        counts = [i["unread_count"] for i in body["items"] if i["mentorship_id"] == mentorship_id]
        return counts[0] if counts else 0

    # What the reader has on screen below the divider is marked seen.
    await eventually(unread, lambda n: n < 6, what="messages on screen marked seen")
    await shoot(page, "unread-divider")
    await assert_accessible(page)
    mentor_view.assert_no_errors()
    mentee_view.assert_no_errors()
