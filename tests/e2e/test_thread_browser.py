"""A mentee records a video message; the mentor's open thread shows it live and plays it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage, Watched
from tests.e2e.shots import shoot
from tests.factories import PASSWORD, Person, make_mentorship, unique_email
from tests.waiting import eventually

SECONDS_2_OR_MORE = re.compile(r"^(0:0[2-9]|0:[1-5][0-9]|[1-9][0-9]*:[0-5][0-9])$")

pytestmark = pytest.mark.browser


async def sign_up_in(watched: Watched, *, name: str, timezone: str) -> Person:
    email = unique_email(name.split()[0].lower())
    response = await watched.page.context.request.post(
        watched.base_url + "/api/auth/signup",
        data={"email": email, "password": PASSWORD, "name": name, "timezone": timezone},
    )
    assert response.status == 201, await response.text()
    user = (await response.json())["user"]
    return Person(client=None, user=user, email=email)  # type: ignore[arg-type]


async def two_people(
    open_page: OpenPage,
    app: web.Application,
    mentee: tuple[str, str] = ("Paulo Santos", "America/Sao_Paulo"),
) -> tuple[Watched, Watched, Person, Person, str]:
    """A mentor in Berlin and a mentee (name, zone) in their own browsers, with an active
    mentorship: (mentor's view, mentee's view, mentor, mentee, mentorship id)."""
    mentor_view = await open_page(timezone_id="Europe/Berlin")
    mentee_view = await open_page(timezone_id=mentee[1])
    mentor = await sign_up_in(mentor_view, name="Greta Berlin", timezone="Europe/Berlin")
    person = await sign_up_in(mentee_view, name=mentee[0], timezone=mentee[1])
    return mentor_view, mentee_view, mentor, person, await make_mentorship(app, mentor, person)


async def test_mentee_records_video_mentor_watches_it_live_and_it_is_seen(
    open_page: OpenPage, app: web.Application
) -> None:
    mentor_view, mentee_view, _, _, mentorship_id = await two_people(open_page, app)
    thread = f"/mentorships/{mentorship_id}/thread"

    # The mentor has the thread open and waits.
    await mentor_view.goto(thread)
    mentor_page = mentor_view.page
    ranges: list[int] = []
    mentor_page.on(
        "response",
        lambda response: ranges.append(response.status) if "/api/media/" in response.url else None,
    )
    await expect(
        mentor_page.get_by_role("heading", name="Messages with Paulo Santos")
    ).to_be_visible()
    await expect(mentor_page.locator("thread-page[data-live=yes]")).to_be_attached()
    await expect(mentor_page.get_by_text("No messages yet")).to_be_visible()
    await assert_accessible(mentor_page)

    # The mentee records with the fake camera; bytes go up while the recording runs.
    await mentee_view.goto(thread)
    mentee_page = mentee_view.page
    await expect(mentee_page.locator("thread-page[data-live=yes]")).to_be_attached()
    patches: list[int] = []
    mentee_page.on(
        "request",
        lambda request: (
            patches.append(1)
            if request.method == "PATCH" and "/api/uploads/" in request.url
            else None
        ),
    )
    await mentee_page.get_by_role("button", name="Record video").click()
    recorder = mentee_page.locator("message-recorder[data-state=recording]")
    await expect(recorder).to_be_attached()
    await expect(mentee_page.get_by_role("button", name="Stop and send")).to_be_enabled()
    # Uploaded while recording: the server acknowledges bytes before stop is pressed.
    await expect(recorder).to_have_attribute("data-sent", re.compile(r"^[1-9][0-9]*$"))
    # Two seconds on the recorder's own clock, and a second chunk sent meanwhile.
    await expect(recorder.locator("[data-elapsed]")).to_have_text(SECONDS_2_OR_MORE)

    async def sent() -> int:
        return len(patches)

    await eventually(sent, lambda n: n >= 2, what="a second chunk sent while recording")
    await mentee_page.get_by_role("button", name="Stop and send").click()
    await expect(mentee_page.locator("li.kind-video video")).to_be_attached(timeout=15_000)
    # "Sent", and soon "Seen": the mentor's page is open and shows it at once.
    await expect(mentee_page.locator("li.kind-video .thread-seen")).to_have_text(
        re.compile("^(Sent|Seen)$")
    )

    # The mentor's page shows it without a reload, with its poster, and plays it.
    video = mentor_page.locator("li.kind-video video")
    await expect(video).to_be_attached(timeout=10_000)
    poster = await video.get_attribute("poster")
    assert poster and poster.endswith("/poster.jpg")
    poster_response = await mentor_page.context.request.get(mentor_view.base_url + poster)
    assert poster_response.status == 200
    assert poster_response.headers["content-type"] == "image/jpeg"
    played = await video.evaluate(
        """async (v) => {
            v.muted = true;
            await v.play();
            await new Promise((resolve) => {
              const check = () => (v.currentTime > 0.5 ? resolve() : setTimeout(check, 50));
              check();
            });
            v.pause();
            return v.currentTime;
        }"""
    )
    assert played > 0.5
    seeked = await video.evaluate(
        """async (v) => {
            const done = new Promise((resolve) => {
              v.addEventListener("seeked", resolve, { once: true });
            });
            v.currentTime = 0.25;
            await done;
            return v.currentTime;
        }"""
    )
    assert abs(seeked - 0.25) < 0.1
    assert 206 in ranges  # the browser fetched the recording by byte ranges

    # Having it on screen marks it seen; the mentee's page says so, live.
    await expect(mentee_page.locator("li.kind-video .thread-seen")).to_have_text(
        "Seen", timeout=10_000
    )
    await assert_accessible(mentee_page)
    await shoot(mentee_page, "thread-video-seen")
    mentor_view.assert_no_errors()
    mentee_view.assert_no_errors()


async def test_voice_message_shows_a_waveform_that_seeks(
    open_page: OpenPage, app: web.Application
) -> None:
    mentor_view = await open_page()
    mentee_view = await open_page()
    mentor = await sign_up_in(mentor_view, name="Greta Berlin", timezone="Europe/Berlin")
    mentee = await sign_up_in(mentee_view, name="Paulo Santos", timezone="America/Sao_Paulo")
    mentorship_id = await make_mentorship(app, mentor, mentee)
    await mentor_view.goto(f"/mentorships/{mentorship_id}/thread")
    page = mentor_view.page
    await expect(page.locator("thread-page[data-live=yes]")).to_be_attached()
    await page.get_by_role("button", name="Record voice").click()
    await expect(page.get_by_role("button", name="Stop and send")).to_be_enabled()
    await expect(page.locator("message-recorder [data-elapsed]")).to_have_text(SECONDS_2_OR_MORE)
    await page.get_by_role("button", name="Stop and send").click()
    waveform = page.locator("li.kind-audio svg[data-waveform]")
    await expect(waveform).to_be_visible(timeout=15_000)
    bars = await waveform.locator("rect").count()
    assert bars == 101  # 100 peaks and the played-part overlay
    audio = page.locator("li.kind-audio audio")
    await audio.evaluate(
        "(a) => new Promise((r) => "
        "a.readyState >= 1 ? r() : a.addEventListener('loadedmetadata', r))"
    )
    box: Any = await waveform.bounding_box()
    await page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    position = await audio.evaluate("(a) => a.currentTime")
    assert position > 0.3
    # Text too, with a reply, arrives on the other side.
    await page.get_by_role("textbox", name="Message").fill("And in writing: see you Thursday.")
    await page.get_by_role("button", name="Send").click()
    await mentee_view.goto(f"/mentorships/{mentorship_id}/thread")
    await expect(mentee_view.page.get_by_text("And in writing: see you Thursday.")).to_be_visible()
    await assert_accessible(mentee_view.page)
    await shoot(mentee_view.page, "thread-voice-and-text")
    mentor_view.assert_no_errors()
    mentee_view.assert_no_errors()


async def test_recorder_resumes_from_the_servers_offset_after_a_dropped_connection(
    open_page: OpenPage, app: web.Application
) -> None:
    mentor_view = await open_page()
    mentee_view = await open_page()
    mentor = await sign_up_in(mentor_view, name="Greta Berlin", timezone="Europe/Berlin")
    mentee = await sign_up_in(mentee_view, name="Paulo Santos", timezone="America/Sao_Paulo")
    mentorship_id = await make_mentorship(app, mentor, mentee)
    page = mentee_view.page
    patches = 0
    dropped: list[str] = []

    async def drop_second_answer(route: Any) -> None:
        # The server stores the second chunk, but its answer never reaches the browser.
        nonlocal patches
        if route.request.method != "PATCH":
            await route.continue_()
            return
        patches += 1
        if patches == 2:
            response = await route.fetch()
            dropped.append(response.headers.get("upload-offset", ""))
            await route.abort("connectionreset")
            return
        await route.continue_()

    await page.route("**/api/uploads/*", drop_second_answer)
    await mentee_view.goto(f"/mentorships/{mentorship_id}/thread")
    await expect(page.locator("thread-page[data-live=yes]")).to_be_attached()
    await page.get_by_role("button", name="Record video").click()
    await expect(page.get_by_role("button", name="Stop and send")).to_be_enabled()

    async def resumed() -> int:
        return patches

    # The second answer is dropped; the recorder asks the server and goes on from there.
    await eventually(resumed, lambda n: n >= 3, what="a chunk sent after the dropped answer")
    assert dropped and int(dropped[0]) > 0
    await page.get_by_role("button", name="Stop and send").click()
    message = page.locator("li.kind-video")
    await expect(message.locator("video")).to_be_attached(timeout=15_000)
    recorder = page.locator("message-recorder")
    total = int(await recorder.get_attribute("data-total") or 0)
    assert total > 0 and await recorder.get_attribute("data-sent") == str(total)
    # Every recorded byte arrived once: the stored file has the recording's length,
    # and PyAV read it to the end (a duplicated or missing piece would be refused).
    listing = await page.context.request.get(
        mentee_view.base_url + f"/api/mentorships/{mentorship_id}/messages"
    )
    media = (await listing.json())["items"][0]["media"]
    assert media["size"] == total
    assert media["duration_seconds"] > 2
    # Chromium logs the aborted request; that is the point of the test.
    mentee_view.errors = [e for e in mentee_view.errors if "ERR_CONNECTION_RESET" not in e]
    mentee_view.assert_no_errors()
