"""Imported busy time keeps those hours out of the slots the slot engine offers."""

from __future__ import annotations

from typing import Any

from tests.ical.ics import calendar, vevent
from tests.scheduling.conftest import Pair, ok, pair  # noqa: F401  (the fixture)

DAY = {"start": "2026-11-30T00:00:00Z", "end": "2026-12-01T00:00:00Z", "duration": "60"}
# 10:00-12:00 in Berlin on Monday 30 November, as another calendar app writes it.
DENTIST = calendar(
    vevent(
        "dentist",
        "SUMMARY:Dentist",
        "DTSTART;TZID=Europe/Berlin:20261130T100000",
        "DTEND;TZID=Europe/Berlin:20261130T120000",
    )
)


async def starts(person: Any, mentor_id: str) -> list[str]:
    body = await ok(await person.client.get(f"/api/mentors/{mentor_id}/slots", params=DAY))
    return [s["start"] for s in body["items"]]


async def test_an_imported_busy_event_removes_slots_and_removing_it_restores_them(
    pair: Pair,  # noqa: F811
) -> None:
    before = await starts(pair.mentee, pair.mentor.id)
    assert "2026-11-30T09:00:00Z" in before and "2026-11-30T10:30:00Z" in before

    resp = await pair.mentor.client.post(
        "/api/me/busy-calendars?name=Private",
        data=DENTIST,
        headers={"Content-Type": "text/calendar"},
    )
    imported = await ok(resp, 201)
    after = await starts(pair.mentee, pair.mentor.id)
    blocked = {"2026-11-30T08:30:00Z", "2026-11-30T09:00:00Z", "2026-11-30T10:30:00Z"}
    assert not blocked & set(after)
    assert "2026-11-30T08:00:00Z" in after and "2026-11-30T11:00:00Z" in after

    resp = await pair.mentor.client.delete(f"/api/me/busy-calendars/{imported['id']}")
    assert resp.status == 204
    assert await starts(pair.mentee, pair.mentor.id) == before
