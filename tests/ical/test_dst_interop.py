"""Series across a spring-forward gap and a fall-back fold, read by other calendar apps.

A series anchored at a wall time that does not exist on the spring-forward day skips
that day, and one at a wall time that happens twice on the fall-back day is booked at
its first occurrence. The feed and the invitation must make every parser see exactly
the sessions that are booked, at the same instants and with the same length: Python's
icalendar with recurring-ical-events, and Mozilla's ical.js (Thunderbird).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.core.keys import DB
from server.scheduling.models import Booking
from tests.factories import sign_up
from tests.ical.helpers import book, book_series, eventually
from tests.ical.parsers import Span, icaljs_spans, install_icaljs, python_spans

Client = Any
WINDOW = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))

# (zone, wall time that the spring-forward day skips, its first Sunday;
#  wall time that the fall-back day repeats, its first Sunday): four weekly sessions
# each, the third on the day of the change.
CASES = {
    "Europe/Berlin": ((2027, 3, 14, 2, 30), (2027, 10, 17, 2, 30)),
    "America/New_York": ((2027, 2, 28, 2, 30), (2027, 10, 24, 1, 30)),
    "Australia/Sydney": ((2027, 9, 19, 2, 30), (2027, 3, 21, 2, 30)),
}


@pytest.fixture(scope="session")
def icaljs() -> Path:
    return install_icaljs()


def first(zone: str, parts: tuple[int, ...]) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


async def booked(client: Client, series_id: str | None, booking_id: str) -> set[Span]:
    """The server's own record: the confirmed sessions, as instants."""
    async with client.app[DB].read() as s:
        where = Booking.series_id == series_id if series_id else Booking.id == booking_id
        rows = (await s.scalars(select(Booking).where(where))).all()
    return {(r.id, r.start_at.astimezone(UTC), r.end_at.astimezone(UTC)) for r in rows}


def times(spans: set[Span], uid: str | None = None) -> set[tuple[datetime, datetime]]:
    return {(a, b) for u, a, b in spans if uid is None or u == uid}


@pytest.mark.parametrize("zone", list(CASES))
async def test_every_parser_reads_the_booked_sessions_across_both_changes(
    client: Client, zone: str, icaljs: Path, tmp_path: Path
) -> None:
    mentor = await sign_up(client, name="Maria Mentor", timezone=zone)
    mentee = await sign_up(client, name="Sam Mentee", timezone="Asia/Tokyo")
    gap, fold = CASES[zone]
    app = client.app
    expected: dict[str, set[tuple[datetime, datetime]]] = {}
    invites: dict[str, bytes] = {}
    for parts in (gap, fold):
        series_id, ids = await book_series(
            app, mentor.id, mentee.id, first(zone, parts), zone=zone, count=4
        )
        uid = f"series-{series_id}@127.0.0.1"
        expected[uid] = times(await booked(client, series_id, ids[0]))
        resp = await mentee.client.get(f"/api/bookings/{ids[0]}/invite.ics")
        assert resp.status == 200
        invites[uid] = await resp.read()
    # The gap series has three sessions, the fold series four, one of them on the change.
    assert sorted(len(v) for v in expected.values()) == [3, 4]
    # A single session at the repeated wall time, its first occurrence.
    fold_day = first(zone, fold) + timedelta(weeks=2)
    single = await book(app, mentor.id, mentee.id, fold_day, minutes=60)
    single_uid = f"booking-{single}@127.0.0.1"
    expected[single_uid] = times(await booked(client, None, single))
    resp = await mentee.client.get(f"/api/bookings/{single}/invite.ics")
    invites[single_uid] = await resp.read()

    made = await (await mentee.client.post("/api/me/calendar-feeds")).json()
    path = "/calendars/" + made["url"].rsplit("/calendars/", 1)[1]

    async def feed_has_everything() -> bool:
        resp = await mentee.client.get(path)
        body = await resp.read()
        return resp.status == 200 and all(uid.encode() in body for uid in expected)

    await eventually(feed_has_everything)
    feed = await (await mentee.client.get(path)).read()

    for name, parse in (
        ("recurring-ical-events", lambda d: python_spans(d, *WINDOW)),
        ("ical.js", lambda d: icaljs_spans(d, *WINDOW, icaljs)),
    ):
        read_feed = parse(feed)
        for uid, sessions in expected.items():
            assert times(read_feed, uid) == sessions, f"{name} reads the feed's {uid} wrong"
            assert times(parse(invites[uid]), uid) == sessions, (
                f"{name} reads the invitation of {uid} wrong"
            )
