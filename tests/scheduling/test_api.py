"""Availability, slots, bookings, series, changes and session content over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.clock import FrozenClock
from server.core.keys import DB
from server.notifications.models import Notification
from server.scheduling.models import Booking
from tests.dates import (
    BERLIN,
    NEW_YORK,
    berlin,
    iso,
    local_iso,
    next_monday,
    stands_on,
    today,
    utc_day,
)
from tests.factories import OPEN, Pair, make_pair, ok, sign_up

HOUR = timedelta(hours=1)


async def book(person: Any, pair: Pair, start: str, **extra: Any) -> Any:
    return await person.client.post(
        "/api/bookings",
        json={"mentorship_id": pair.mentorship_id, "start": start, "duration_minutes": 60, **extra},
    )


async def slot_starts(person: Any, mentor_id: str, start: str, end: str, **q: str) -> list[str]:
    params = {"start": start, "end": end, "duration": "60", **q}
    body = await ok(await person.client.get(f"/api/mentors/{mentor_id}/slots", params=params))
    return [s["start"] for s in body["items"]]


@pytest.mark.anyday
async def test_availability_defaults_to_profile_hours_then_saves(
    client: TestClient[Any, Any], another_client: Any, now: datetime
) -> None:
    christmas_eve, saturday = today(now, BERLIN) + timedelta(days=29), next_monday(now, BERLIN)
    saturday -= timedelta(days=2)
    mentor = await sign_up(client, name="Greta", timezone="Europe/Berlin")
    await ok(
        await client.put(
            "/api/me/profile",
            json={
                "roles": ["mentor"],
                "working_hours": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
                "capacity": 1,
            },
        )
    )
    got = await ok(await client.get("/api/me/availability"))
    assert got["source"] == "profile"
    assert got["weekly"] == [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    assert got["timezone"] == "Europe/Berlin"
    saved = await ok(
        await client.put(
            "/api/me/availability",
            json={
                "weekly": [
                    {"weekday": 1, "start": "09:00", "end": "12:00"},
                    {"weekday": 1, "start": "11:00", "end": "13:00"},
                ],
                "overrides": [
                    {"date": christmas_eve.isoformat(), "windows": []},
                    {"date": saturday.isoformat(), "windows": [{"start": "10:00", "end": "11:00"}]},
                ],
                "buffer_before_minutes": 10,
                "buffer_after_minutes": 5,
                "notice_minutes": 120,
                "horizon_days": 30,
                "slot_step_minutes": 15,
                "max_per_day": 2,
                "max_per_week": 5,
            },
        )
    )
    assert saved["source"] == "saved"
    assert saved["weekly"] == [{"weekday": 1, "start": "09:00", "end": "13:00"}]
    assert [o["date"] for o in saved["overrides"]] == sorted(
        [christmas_eve.isoformat(), saturday.isoformat()]
    )
    assert datetime.fromisoformat(saved["horizon_end"]) == now + timedelta(days=30)
    assert (await ok(await client.get("/api/me/availability"))) == saved
    # Someone without a mentorship with her learns nothing.
    stranger = await sign_up(await another_client(), name="Sam", timezone="Asia/Kolkata")
    resp = await stranger.client.get(f"/api/mentors/{mentor.id}/availability")
    assert resp.status == 404


@pytest.mark.anyday
async def test_mentee_sees_slots_in_own_zone_with_mentor_time_and_comfort(
    pair: Pair, now: datetime
) -> None:
    nine, four = berlin(now, "09:00"), berlin(now, "16:00")
    start, end = utc_day(nine)
    body = await ok(
        await pair.mentee.client.get(
            f"/api/mentors/{pair.mentor.id}/slots",
            params={"start": start, "end": end, "duration": "60"},
        )
    )
    assert body["timezone"] == "Europe/Berlin"
    assert body["viewer_timezone"] == "America/New_York"
    first, last = body["items"][0], body["items"][-1]
    assert first["start"] == iso(nine)
    assert first["host_local"] == local_iso(nine, BERLIN)
    assert first["viewer_local"] == local_iso(nine, NEW_YORK)  # 03:00 or 04:00
    assert first["comfort"] == {"host": "inside", "viewer": "early"}
    assert last["host_local"] == local_iso(four, BERLIN)
    assert last["comfort"] == {"host": "inside", "viewer": "inside"}  # 10:00 or 11:00 there
    assert len(body["items"]) == 15  # 09:00 to 16:00 every half hour
    other = await ok(
        await pair.mentee.client.get(
            f"/api/mentors/{pair.mentor.id}/slots",
            params={"start": start, "end": end, "duration": "60", "tz": "Asia/Kolkata"},
        )
    )
    assert other["items"][0]["viewer_local"] == local_iso(nine, "Asia/Kolkata")


@pytest.mark.anyday
async def test_booking_takes_the_slot_for_both_and_lists_for_both(
    pair: Pair, now: datetime
) -> None:
    ten = berlin(now, "10:00")
    created = await ok(await book(pair.mentee, pair, iso(ten)), 201)
    booking = created["booking"]
    assert booking["status"] == "confirmed" and booking["sequence"] == 0
    assert booking["mentor_local"] == local_iso(ten, BERLIN)
    assert booking["mentee_local"] == local_iso(ten, NEW_YORK)
    starts = await slot_starts(pair.mentee, pair.mentor.id, *utc_day(ten))
    assert iso(ten) not in starts
    assert iso(ten - HOUR / 2) not in starts and iso(ten + HOUR / 2) not in starts
    assert iso(ten + HOUR) in starts
    for person in (pair.mentor, pair.mentee):
        listed = await ok(await person.client.get("/api/bookings"))
        assert [b["id"] for b in listed["items"]] == [booking["id"]]
        one = await ok(await person.client.get(f"/api/bookings/{booking['id']}"))
        assert one["start"] == iso(ten)
    async with pair.mentor.client.app[DB].read() as s:  # type: ignore[index]
        kinds = sorted(
            (n.user_id == pair.mentor.id, n.kind) for n in await s.scalars(select(Notification))
        )
    assert (True, "booking.created") in kinds and (False, "booking.created") in kinds


async def test_second_booking_of_the_same_time_gets_409_with_nearest_slots(
    pair: Pair, now: datetime
) -> None:
    ten = berlin(now, "10:00")
    await ok(await book(pair.mentee, pair, iso(ten)), 201)
    resp = await book(pair.mentor, pair, iso(ten + HOUR / 2))
    problem = await ok(resp, 409)
    assert resp.content_type == "application/problem+json"
    assert problem["conflicts"][0]["conflicting"] == [{"start": iso(ten), "end": iso(ten + HOUR)}]
    nearest = [n["start"] for n in problem["nearest"]]
    assert nearest and iso(ten + HOUR) in nearest
    async with pair.mentor.client.app[DB].read() as s:  # type: ignore[index]
        assert len(list(await s.scalars(select(Booking)))) == 1


async def test_a_mentees_other_session_blocks_the_slot(
    client: TestClient[Any, Any], another_client: Any, now: datetime
) -> None:
    ten = berlin(now, "10:00")
    first = await make_pair(client, await another_client())
    second_mentor = await another_client()
    second = await make_pair(second_mentor, await another_client())
    # The same mentee in both mentorships: ask the second mentor as the first mentee.
    asked = await ok(
        await first.mentee.client.post(
            "/api/mentorships", json={"mentor_id": second.mentor.id, "goals": ["More"]}
        ),
        201,
    )
    await ok(await second.mentor.client.post(f"/api/mentorships/{asked['id']}/accept", json={}))
    await ok(await book(first.mentee, first, iso(ten)), 201)
    starts = await slot_starts(first.mentee, second.mentor.id, *utc_day(ten))
    assert iso(ten) not in starts and iso(ten + HOUR) in starts
    # The second mentor's own view (no mentee) still shows it free.
    own = await slot_starts(second.mentor, second.mentor.id, *utc_day(ten))
    assert iso(ten) in own
    resp = await first.mentee.client.post(
        "/api/bookings",
        json={"mentorship_id": asked["id"], "start": iso(ten), "duration_minutes": 30},
    )
    assert resp.status == 409


@pytest.mark.anyday
async def test_weekly_series_conflicts_listed_or_skipped(pair: Pair, now: datetime) -> None:
    # A single session on the third Monday collides with a weekly series.
    await ok(await book(pair.mentor, pair, iso(berlin(now, "10:00", week=2))), 201)
    weekly = {"frequency": "weekly", "count": 5}
    resp = await book(pair.mentee, pair, iso(berlin(now, "10:00")), recurrence=weekly)
    problem = await ok(resp, 409)
    assert [c["index"] for c in problem["conflicts"]] == [2]
    assert await _bookings(pair) == 1
    created = await ok(
        await book(
            pair.mentee, pair, iso(berlin(now, "10:00")), recurrence=weekly, skip_conflicts=True
        ),
        201,
    )
    assert [b["occurrence_index"] for b in created["items"]] == [0, 1, 3, 4]
    assert [s["index"] for s in created["skipped"]] == [2]
    assert len({b["series_id"] for b in created["items"]}) == 1
    assert await _bookings(pair) == 5


async def _bookings(pair: Pair) -> int:
    async with pair.mentor.client.app[DB].read() as s:  # type: ignore[index]
        return len(list(await s.scalars(select(Booking).where(Booking.status == "confirmed"))))


@pytest.mark.anyday
async def test_reschedule_and_cancel_with_scopes_bump_sequence(pair: Pair, now: datetime) -> None:
    created = await ok(
        await book(
            pair.mentee,
            pair,
            iso(berlin(now, "10:00")),
            recurrence={"frequency": "weekly", "count": 6},
        ),
        201,
    )
    ids = [b["id"] for b in created["items"]]
    # Cancel the second occurrence only.
    cancelled = await ok(
        await pair.mentee.client.post(
            f"/api/bookings/{ids[1]}/cancel", json={"reason": "travel", "scope": "this"}
        )
    )
    assert [(b["id"], b["status"], b["sequence"]) for b in cancelled["items"]] == [
        (ids[1], "cancelled", 1)
    ]
    # Move the third and all following to Tuesdays 14:00 Berlin.
    moved = await ok(
        await pair.mentee.client.post(
            f"/api/bookings/{ids[2]}/reschedule",
            json={"start": iso(berlin(now, "14:00", week=2, day=1)), "scope": "following"},
        )
    )
    assert [b["mentor_local"] for b in moved["items"]] == [
        local_iso(berlin(now, "14:00", week=week, day=1), BERLIN) for week in range(2, 6)
    ]
    assert {b["sequence"] for b in moved["items"]} == {1}
    assert len({b["series_id"] for b in moved["items"]}) == 1
    assert moved["items"][0]["series_id"] != created["series_id"]
    # Move one occurrence on its own: it remembers where it was.
    alone = await ok(
        await pair.mentor.client.post(
            f"/api/bookings/{ids[3]}/reschedule",
            json={"start": iso(berlin(now, "11:00", week=3, day=2)), "scope": "this"},
        )
    )
    assert alone["items"][0]["sequence"] == 2
    assert alone["items"][0]["original_start"] == iso(berlin(now, "14:00", week=3, day=1))
    # Cancel everything upcoming in the new series.
    gone = await ok(
        await pair.mentor.client.post(f"/api/bookings/{ids[3]}/cancel", json={"scope": "all"})
    )
    assert {b["status"] for b in gone["items"]} == {"cancelled"}
    assert len(gone["items"]) == 4
    listed = await ok(await pair.mentee.client.get("/api/bookings"))
    assert [b["id"] for b in listed["items"]] == [ids[0]]
    listed = await ok(
        await pair.mentee.client.get("/api/bookings", params={"include_cancelled": "true"})
    )
    assert len(listed["items"]) == 6
    # A cancelled session cannot be changed again.
    resp = await pair.mentee.client.post(f"/api/bookings/{ids[1]}/cancel", json={})
    assert resp.status == 409
    kinds = {
        n["kind"] for n in (await ok(await pair.mentee.client.get("/api/notifications")))["items"]
    }
    assert {"booking.created", "booking.cancelled", "booking.moved"} <= kinds


async def test_reschedule_onto_a_taken_time_is_409_and_changes_nothing(
    pair: Pair, now: datetime
) -> None:
    a = (await ok(await book(pair.mentee, pair, iso(berlin(now, "10:00"))), 201))["booking"]
    b = (await ok(await book(pair.mentee, pair, iso(berlin(now, "13:00"))), 201))["booking"]
    resp = await pair.mentee.client.post(
        f"/api/bookings/{b['id']}/reschedule", json={"start": iso(berlin(now, "10:30"))}
    )
    problem = await ok(resp, 409)
    assert problem["conflicts"][0]["conflicting"][0]["start"] == a["start"]
    again = await ok(await pair.mentee.client.get(f"/api/bookings/{b['id']}"))
    assert again["start"] == b["start"] and again["sequence"] == 0


async def test_agenda_notes_and_one_feedback_per_side(pair: Pair, clock: FrozenClock) -> None:
    ten = berlin(clock.now(), "10:00")
    b = (await ok(await book(pair.mentee, pair, iso(ten)), 201))["booking"]
    url = f"/api/bookings/{b['id']}"
    got = await ok(
        await pair.mentee.client.put(
            url + "/agenda", json={"items": [{"text": "Review my CV"}, {"text": "Salary talk"}]}
        )
    )
    assert [i["text"] for i in got["agenda"]] == ["Review my CV", "Salary talk"]
    got = await ok(await pair.mentor.client.put(url + "/notes", json={"text": "Bring numbers"}))
    assert got["notes"] == "Bring numbers"
    early = await pair.mentee.client.post(url + "/feedback", json={"rating": 5})
    assert early.status == 409
    clock.set(ten + HOUR + timedelta(minutes=1))  # the session is over
    got = await ok(
        await pair.mentee.client.post(url + "/feedback", json={"rating": 5, "comment": "Great"}),
        201,
    )
    got = await ok(await pair.mentor.client.post(url + "/feedback", json={"rating": 4}), 201)
    assert sorted(f["rating"] for f in got["feedback"]) == [4, 5]
    again = await pair.mentor.client.post(url + "/feedback", json={"rating": 1})
    assert again.status == 409


async def test_outsiders_and_inactive_mentorships(
    pair: Pair, another_client: Any, now: datetime
) -> None:
    ten = berlin(now, "10:00")
    start, end = utc_day(ten)
    b = (await ok(await book(pair.mentee, pair, iso(ten)), 201))["booking"]
    stranger = await sign_up(await another_client(), name="Eve", timezone="UTC")
    for method, path, body in [
        ("GET", f"/api/bookings/{b['id']}", None),
        ("POST", f"/api/bookings/{b['id']}/cancel", {}),
        ("PUT", f"/api/bookings/{b['id']}/notes", {"text": "x"}),
        (
            "GET",
            f"/api/mentors/{pair.mentor.id}/slots?start={start}&end={end}&duration=60",
            None,
        ),
    ]:
        resp = await stranger.client.request(method, path, json=body)
        assert resp.status == 404, (method, path)
    resp = await stranger.client.post(
        "/api/bookings",
        json={
            "mentorship_id": pair.mentorship_id,
            "start": iso(ten),
            "duration_minutes": 60,
        },
    )
    assert resp.status == 404
    await ok(await pair.mentee.client.post(f"/api/mentorships/{pair.mentorship_id}/pause", json={}))
    resp = await book(pair.mentee, pair, iso(berlin(now, "10:00", day=1)))
    assert resp.status == 409
    assert "active" in (await resp.json())["detail"]


# The US springs forward on 2027-03-14, the EU two weeks later on 2027-03-28.
SPRING_2027 = datetime.fromisoformat("2027-03-01T17:00:00Z")  # Monday 18:00 in Berlin


@stands_on(SPRING_2027 - timedelta(days=28))
async def test_berlin_evening_series_tells_the_new_york_mentee_ahead(
    client: TestClient[Any, Any], another_client: Any
) -> None:
    evenings = {
        **OPEN,
        "weekly": [{"weekday": 0, "start": "17:00", "end": "20:00"}],
    }
    pair = await make_pair(client, await another_client(), availability=evenings)
    created = await ok(
        await book(
            pair.mentee,
            pair,
            "2027-03-01T17:00:00Z",
            recurrence={"frequency": "weekly", "count": 6},
        ),
        201,
    )
    assert {b["mentor_local"][11:19] for b in created["items"]} == {"18:00:00"}
    assert [b["mentee_local"][11:16] for b in created["items"]] == [
        "12:00", "12:00", "13:00", "13:00", "12:00", "12:00"
    ]  # fmt: skip
    assert [(s["index"], s["local"], s["cause"]) for s in created["shifts"]] == [
        (2, "13:00", "guest"),
        (4, "12:00", "host"),
    ]
    notes = (await ok(await pair.mentee.client.get("/api/notifications")))["items"]
    shift = [n for n in notes if n["kind"] == "booking.dst-shift"]
    assert len(shift) == 1 and "13:00 instead of 12:00" in shift[0]["body"]
    mentor_notes = (await ok(await pair.mentor.client.get("/api/notifications")))["items"]
    assert not [n for n in mentor_notes if n["kind"] == "booking.dst-shift"]
    listed = await ok(
        await pair.mentee.client.get(
            "/api/bookings", params={"start": "2027-03-01T00:00:00Z", "end": "2027-04-30T00:00:00Z"}
        )
    )
    assert [b["shift"]["local"] if b["shift"] else None for b in listed["items"]] == [
        None, None, "13:00", None, "12:00", None
    ]  # fmt: skip
    preview = await ok(
        await pair.mentee.client.post(
            "/api/bookings/preview",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": "2027-03-01T17:00:00Z",
                "duration_minutes": 60,
                "recurrence": {"frequency": "weekly", "count": 6},
            },
        )
    )
    assert {i["problem"] for i in preview["items"]} == {"busy"}
    assert len(preview["shifts"]) == 2


@pytest.mark.anyday
async def test_moving_a_whole_upcoming_series_keeps_it_one_series(
    pair: Pair, now: datetime
) -> None:
    created = await ok(
        await book(
            pair.mentee,
            pair,
            iso(berlin(now, "10:00")),
            recurrence={"frequency": "weekly", "count": 3},
        ),
        201,
    )
    ids = [b["id"] for b in created["items"]]
    moved = await ok(
        await pair.mentor.client.post(
            f"/api/bookings/{ids[1]}/reschedule",
            json={"start": iso(berlin(now, "11:00", week=1, day=1)), "scope": "all"},
        )
    )
    assert [b["mentor_local"] for b in moved["items"]] == [
        local_iso(berlin(now, "11:00", week=week, day=1), BERLIN) for week in range(3)
    ]
    assert {b["series_id"] for b in moved["items"]} == {created["series_id"]}
    assert [b["occurrence_index"] for b in moved["items"]] == [0, 1, 2]
    assert {b["original_start"] for b in moved["items"]} == {None}
    assert {b["sequence"] for b in moved["items"]} == {1}
