"""Calendar feeds over HTTP: secret tokens, materialized files, caching headers, 304s,
revocation, rotation, invitations, and the token kept out of every log line."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.core.bus import MemoryBus
from server.core.keys import CLOCK, DB, SETTINGS
from server.core.logs import RedactingAccessLogger
from server.ical.feeds import Feeds
from server.ical.models import CalendarFeed
from tests.dates import berlin, stands_on
from tests.factories import Person, sign_up
from tests.ical.helpers import book, book_series, change, eventually

Client = Any
# The US springs forward on 2027-03-14 and the EU on 2027-03-28, between these sessions.
SPRING_2027 = datetime(2027, 3, 11, 17, 0, tzinfo=UTC)  # 18:00 Berlin


@pytest.fixture
def start(now: datetime) -> datetime:
    """A session on the coming Thursday at 18:00 in Berlin."""
    return berlin(now, "18:00", day=3)


BERLIN = ZoneInfo("Europe/Berlin")


async def people(client: Client, another_client: Callable[[], Any]) -> tuple[Person, Person]:
    mentor = await sign_up(client, name="Maria Mentor", timezone="Europe/Berlin")
    mentee = await sign_up(await another_client(), name="Sam Mentee", timezone="America/New_York")
    return mentor, mentee


async def new_feed(person: Person) -> dict[str, Any]:
    resp = await person.client.post("/api/me/calendar-feeds")
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def path_of(feed: dict[str, Any]) -> str:
    return "/calendars/" + feed["url"].rsplit("/calendars/", 1)[1]


def token_of(feed: dict[str, Any]) -> str:
    return path_of(feed).removeprefix("/calendars/").removesuffix(".ics")


async def fetch(client: Client, feed: dict[str, Any], **headers: str) -> Any:
    return await client.get(path_of(feed), headers=headers)


async def events_in(client: Client, feed: dict[str, Any]) -> list[icalendar.Event]:
    resp = await fetch(client, feed)
    assert resp.status == 200
    return list(icalendar.Calendar.from_ical(await resp.read()).walk("VEVENT"))


async def test_a_feed_token_is_shown_once_and_stored_only_as_a_hash(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor, _ = await people(client, another_client)
    feed = await new_feed(mentor)
    token = token_of(feed)
    assert len(token) >= 43  # 32 random bytes, base64url
    assert feed["url"].startswith("http://127.0.0.1:8080/calendars/")
    assert feed["webcal_url"] == "webcal://" + feed["url"].split("://", 1)[1]
    listed = await (await mentor.client.get("/api/me/calendar-feeds")).json()
    assert [f["id"] for f in listed["items"]] == [feed["id"]]
    assert token not in str(listed)
    async with client.app[DB].read() as s:
        rows = list(await s.scalars(select(CalendarFeed)))
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in str(vars(r)) for r in rows)
    files = sorted(p.name for p in client.app[SETTINGS].calendars_dir.iterdir())
    assert files == [rows[0].token_hash + ".ics"]


async def test_feed_is_served_with_strong_etag_and_private_headers(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor, _ = await people(client, another_client)
    feed = await new_feed(mentor)
    resp = await client.get(path_of(feed))  # no cookie needed: a fresh request
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert resp.headers["Cache-Control"] == "private"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Last-Modified"].endswith("GMT")
    cal = icalendar.Calendar.from_ical(await resp.read())
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Meridian: Maria Mentor"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"


async def test_304_on_a_matching_etag_or_date_and_200_after_a_change(
    client: Client, another_client: Callable[[], Any], start: datetime
) -> None:
    mentor, mentee = await people(client, another_client)
    feed = await new_feed(mentor)
    first = await fetch(client, feed)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = await fetch(client, feed, **{"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    assert await again.read() == b""
    assert (await fetch(client, feed, **{"If-Modified-Since": modified})).status == 304
    assert (await fetch(client, feed, **{"If-None-Match": '"other"'})).status == 200

    await book(client.app, mentor.id, mentee.id, start)

    async def changed() -> bool:
        return (await fetch(client, feed, **{"If-None-Match": etag})).status == 200

    await eventually(changed)
    fresh = await fetch(client, feed)
    assert fresh.headers["ETag"] != etag
    assert (await fetch(client, feed, **{"If-None-Match": fresh.headers["ETag"]})).status == 304


@pytest.mark.anyday
async def test_bookings_enter_and_cancelled_singles_leave_both_feeds(
    client: Client, another_client: Callable[[], Any], start: datetime
) -> None:
    mentor, mentee = await people(client, another_client)
    mine, theirs = await new_feed(mentor), await new_feed(mentee)
    booking = await book(
        client.app, mentor.id, mentee.id, start, agenda=["Career goals; next steps"]
    )

    async def listed() -> bool:
        return len(await events_in(client, mine)) == 1 and len(await events_in(client, theirs)) == 1

    await eventually(listed)
    (event,) = await events_in(client, theirs)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTSTART"].dt.astimezone(UTC) == start
    assert "Career goals; next steps" in str(event["DESCRIPTION"])
    assert str(event["URL"]).endswith(f"/sessions/{booking}/call")
    uid = str(event["UID"])

    await change(
        client.app, booking, start_at=start + timedelta(hours=1), end_at=start + timedelta(hours=2)
    )

    async def moved() -> bool:
        found = await events_in(client, mine)
        return bool(found) and int(found[0]["SEQUENCE"]) == 1

    await eventually(moved)
    (event,) = await events_in(client, mine)
    assert str(event["UID"]) == uid
    assert event["DTSTART"].dt.astimezone(UTC) == start + timedelta(hours=1)

    await change(client.app, booking, status="cancelled")

    async def gone() -> bool:
        return await events_in(client, mine) == [] and await events_in(client, theirs) == []

    await eventually(gone)


@stands_on(SPRING_2027 - timedelta(days=30))
async def test_a_series_is_one_event_with_exdate_and_override(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor, mentee = await people(client, another_client)
    feed = await new_feed(mentee)
    first = SPRING_2027
    _, ids = await book_series(
        client.app, mentor.id, mentee.id, first, zone="Europe/Berlin", count=6
    )
    await change(client.app, ids[2], status="cancelled")
    moved = datetime(2027, 4, 2, 17, 30, tzinfo=UTC)
    await change(client.app, ids[3], start_at=moved, end_at=moved + timedelta(hours=1))

    async def settled() -> bool:
        found = await events_in(client, feed)
        return len(found) == 2 and "EXDATE" in found[0]

    await eventually(settled)
    import recurring_ical_events

    resp = await fetch(client, feed)
    cal = icalendar.Calendar.from_ical(await resp.read())
    found = recurring_ical_events.of(cal).between(first, first + timedelta(days=60))
    berlin = [
        e["DTSTART"].dt.astimezone(BERLIN).strftime("%m-%d %H:%M")
        for e in sorted(found, key=lambda e: e["DTSTART"].dt)
    ]
    assert berlin == ["03-11 18:00", "03-18 18:00", "04-02 19:30", "04-08 18:00", "04-15 18:00"]


async def test_revoked_feed_answers_404_at_once_and_rotation_replaces_the_address(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor, _ = await people(client, another_client)
    feed = await new_feed(mentor)
    assert (await fetch(client, feed)).status == 200

    resp = await mentor.client.post(f"/api/me/calendar-feeds/{feed['id']}/rotate")
    assert resp.status == 200
    rotated = await resp.json()
    assert rotated["id"] == feed["id"] and rotated["url"] != feed["url"]
    assert (await fetch(client, feed)).status == 404
    assert (await fetch(client, rotated)).status == 200

    assert (await mentor.client.delete(f"/api/me/calendar-feeds/{feed['id']}")).status == 204
    gone = await fetch(client, rotated)
    assert gone.status == 404
    assert gone.content_type == "application/problem+json"
    assert list(client.app[SETTINGS].calendars_dir.glob("*.ics")) == []
    assert (await mentor.client.delete(f"/api/me/calendar-feeds/{feed['id']}")).status == 404


@pytest.mark.parametrize("ending", ["rotate", "revoke"])
async def test_a_feed_write_under_way_cannot_bring_back_an_ended_address(
    client: Client,
    another_client: Callable[[], Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ending: str,
) -> None:
    """A rewrite that read the feeds just before a rotation (as the listener's may, on a
    busy machine) finishes before the old file is removed, so it cannot write it back."""
    mentor, _ = await people(client, another_client)
    app = client.app
    now = app[CLOCK].now()
    # Feeds of their own (own folder, own bus): only this test writes their files.
    feeds = Feeds(app[DB], MemoryBus(), app[SETTINGS].replace(calendars_dir=tmp_path))
    created = await feeds.create(user_id=mentor.id, now=now)
    old = created.feed.token_hash
    assert feeds.files.path(old).exists()

    async def ended() -> bool:
        return old not in await feeds.hashes(mentor.id)

    build, started = feeds.build, asyncio.Event()

    async def build_once_it_ended(user_id: str, at: datetime) -> bytes | None:
        started.set()
        await eventually(ended)  # read the old token, then the rotation commits
        return await build(user_id, at)

    monkeypatch.setattr(feeds, "build", build_once_it_ended)
    writer = asyncio.create_task(feeds.write_files(mentor.id, now, recheck=False))
    await started.wait()
    if ending == "rotate":
        rotated = await feeds.rotate(user_id=mentor.id, feed_id=created.feed.id, now=now)
        assert feeds.files.path(rotated.feed.token_hash).exists()
    else:
        await feeds.revoke(user_id=mentor.id, feed_id=created.feed.id)
    await writer
    assert not feeds.files.path(old).exists()


async def test_outsiders_cannot_touch_a_feed_or_read_an_invitation(
    client: Client, another_client: Callable[[], Any], start: datetime
) -> None:
    mentor, mentee = await people(client, another_client)
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    feed = await new_feed(mentor)
    booking = await book(client.app, mentor.id, mentee.id, start)
    resp = await stranger.client.delete(f"/api/me/calendar-feeds/{feed['id']}")
    assert resp.status == 404
    resp = await stranger.client.post(f"/api/me/calendar-feeds/{feed['id']}/rotate")
    assert resp.status == 404
    assert (await fetch(client, feed)).status == 200
    assert (await stranger.client.get(f"/api/bookings/{booking}/invite.ics")).status == 404
    assert (await client.get("/api/me/calendar-feeds")).status in (200, 401)
    anonymous = await another_client()
    assert (await anonymous.post("/api/me/calendar-feeds")).status == 401


@pytest.mark.parametrize("path", ["/calendars/short.ics", "/calendars/" + "a" * 43 + ".ics"])
async def test_unknown_feed_addresses_are_404(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404


async def test_invitation_is_a_request_then_a_cancel(
    client: Client, another_client: Callable[[], Any], start: datetime
) -> None:
    mentor, mentee = await people(client, another_client)
    booking = await book(client.app, mentor.id, mentee.id, start, agenda=["Portfolio review"])
    resp = await mentee.client.get(f"/api/bookings/{booking}/invite.ics")
    assert resp.status == 200 and resp.content_type == "text/calendar"
    cal = icalendar.Calendar.from_ical(await resp.read())
    (event,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["ORGANIZER"]) == f"mailto:{mentor.email}"
    assert [str(a) for a in event["ATTENDEE"]] == [
        f"mailto:{mentor.email}",
        f"mailto:{mentee.email}",
    ]
    assert "Portfolio review" in str(event["DESCRIPTION"])
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {"Europe/Berlin"}

    await change(client.app, booking, status="cancelled")
    cal = icalendar.Calendar.from_ical(
        await (await mentor.client.get(f"/api/bookings/{booking}/invite.ics")).read()
    )
    (cancelled,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(cancelled["UID"]) == str(event["UID"])
    assert int(cancelled["SEQUENCE"]) == 1


@stands_on(SPRING_2027 - timedelta(days=30))
async def test_cancelling_one_occurrence_cancels_only_that_occurrence(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor, mentee = await people(client, another_client)
    first = SPRING_2027
    _, ids = await book_series(
        client.app, mentor.id, mentee.id, first, zone="Europe/Berlin", count=4
    )
    await change(client.app, ids[1], status="cancelled")
    cal = icalendar.Calendar.from_ical(
        await (await mentee.client.get(f"/api/bookings/{ids[1]}/invite.ics")).read()
    )
    (event,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL"
    assert event["RECURRENCE-ID"].dt.astimezone(UTC) == first + timedelta(days=7)
    whole = icalendar.Calendar.from_ical(
        await (await mentee.client.get(f"/api/bookings/{ids[0]}/invite.ics")).read()
    )
    (master,) = whole.walk("VEVENT")
    assert str(whole["METHOD"]) == "REQUEST" and "RRULE" in master
    assert [d.dt.astimezone(UTC) for d in master["EXDATE"].dts] == [first + timedelta(days=7)]


async def test_the_token_never_reaches_a_log_line(
    app: web.Application,
    aiohttp_client: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # before any connection: aiohttp decides per connection
    server = TestServer(app)
    await server.start_server(access_log_class=RedactingAccessLogger)
    client = await aiohttp_client(server)
    person = await sign_up(client)
    feed = await new_feed(person)
    token = token_of(feed)
    assert (await fetch(client, feed)).status == 200
    etag = (await fetch(client, feed)).headers["ETag"]
    assert (await fetch(client, feed, **{"If-None-Match": etag})).status == 304
    await person.client.delete(f"/api/me/calendar-feeds/{feed['id']}")
    assert (await fetch(client, feed)).status == 404
    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) >= 4
    feed_lines = [r.getMessage() for r in access if "/calendars/" in r.getMessage()]
    assert len(feed_lines) == 4 and all("redacted" in line for line in feed_lines)
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in str(record.args)


async def test_name_and_agenda_changes_reach_the_feeds(
    client: Client, another_client: Callable[[], Any], start: datetime
) -> None:
    mentor, mentee = await people(client, another_client)
    feed = await new_feed(mentee)
    booking = await book(client.app, mentor.id, mentee.id, start)

    async def listed() -> bool:
        return len(await events_in(client, feed)) == 1

    await eventually(listed)
    resp = await mentor.client.patch("/api/me", json={"name": "Maria Mentora"})
    assert resp.status == 200

    async def renamed() -> bool:
        (event,) = await events_in(client, feed)
        return bool(event["ORGANIZER"].params["CN"] == "Maria Mentora")

    await eventually(renamed)
    resp = await mentee.client.put(
        f"/api/bookings/{booking}/agenda", json={"items": [{"text": "Salary negotiation"}]}
    )
    assert resp.status == 200, await resp.text()

    async def agenda() -> bool:
        (event,) = await events_in(client, feed)
        return "Salary negotiation" in str(event["DESCRIPTION"])

    await eventually(agenda)
