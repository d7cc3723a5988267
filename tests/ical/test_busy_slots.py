"""Imported busy time keeps those hours out of the slots the slot engine offers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.dates import BERLIN, berlin, iso, next_monday, utc_day
from tests.factories import Pair, ok
from tests.ical.ics import calendar, vevent
from tests.scheduling.conftest import pair  # noqa: F401  (the fixture)


def dentist(now: datetime) -> bytes:
    """10:00-12:00 in Berlin next Monday, as another calendar app writes it."""
    day = next_monday(now, BERLIN).strftime("%Y%m%d")
    return calendar(
        vevent(
            "dentist",
            "SUMMARY:Dentist",
            f"DTSTART;TZID=Europe/Berlin:{day}T100000",
            f"DTEND;TZID=Europe/Berlin:{day}T120000",
        )
    )


async def starts(person: Any, mentor_id: str, now: datetime) -> list[str]:
    start, end = utc_day(berlin(now, "12:00"))
    params = {"start": start, "end": end, "duration": "60"}
    body = await ok(await person.client.get(f"/api/mentors/{mentor_id}/slots", params=params))
    return [s["start"] for s in body["items"]]


async def test_an_imported_busy_event_removes_slots_and_removing_it_restores_them(
    pair: Pair,  # noqa: F811
    now: datetime,
) -> None:
    ten = berlin(now, "10:00")
    before = await starts(pair.mentee, pair.mentor.id, now)
    assert iso(ten) in before and iso(ten + timedelta(minutes=90)) in before

    resp = await pair.mentor.client.post(
        "/api/me/busy-calendars?name=Private",
        data=dentist(now),
        headers={"Content-Type": "text/calendar"},
    )
    imported = await ok(resp, 201)
    after = await starts(pair.mentee, pair.mentor.id, now)
    blocked = {iso(ten + timedelta(minutes=m)) for m in (-30, 0, 90)}
    assert not blocked & set(after)
    assert iso(ten - timedelta(hours=1)) in after and iso(ten + timedelta(hours=2)) in after

    resp = await pair.mentor.client.delete(f"/api/me/busy-calendars/{imported['id']}")
    assert resp.status == 204
    assert await starts(pair.mentee, pair.mentor.id, now) == before
