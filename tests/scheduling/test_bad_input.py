"""Bad scheduling input gets a clear problem+json 4xx and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from server.db.models import (
    Availability,
    Booking,
    BookingParticipant,
    BookingReminder,
    BookingSeries,
)
from tests.scheduling.conftest import OPEN, Pair, count, ok

START = "2026-11-30T09:00:00Z"


async def problem(resp: Any, status: int, *words: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    for word in words:
        assert word in body["detail"], body
    return body


async def nothing_booked(pair: Pair) -> None:
    client = pair.mentor.client
    for model in (Booking, BookingSeries, BookingParticipant, BookingReminder):
        assert await count(client, model) == 0, model.__name__


def slots_url(pair: Pair) -> str:
    return f"/api/mentors/{pair.mentor.id}/slots"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"tz": "Mars/Olympus"}, "tz", ("IANA",)),
        ({"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "(body)", ("after",)),
        ({"start": "2026-12-01T00:00:00"}, "start", ()),
        ({"start": "tomorrow"}, "start", ()),
        ({"duration": "0"}, "duration", ()),
        ({"duration": "sixty"}, "duration", ()),
        ({"end": "2027-06-01T00:00:00Z", "start": "2027-01-01T00:00:00Z"}, "(body)", ("100",)),
        ({"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start", ("1971",)),
        ({"start": "9999-12-30T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, "start", ("1971",)),
    ],
)
async def test_bad_slot_queries_are_422(
    pair: Pair, params: dict[str, str], field: str, words: tuple[str, ...]
) -> None:
    query = {
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-02T00:00:00Z",
        "duration": "60",
        **params,
    }
    body = await problem(await pair.mentee.client.get(slots_url(pair), params=query), 422, *words)
    assert body["errors"][0]["field"] == field


async def test_range_beyond_the_horizon_is_422(pair: Pair) -> None:
    await ok(
        await pair.mentor.client.put("/api/me/availability", json={**OPEN, "horizon_days": 30})
    )
    resp = await pair.mentee.client.get(
        slots_url(pair),
        params={"start": "2026-12-20T00:00:00Z", "end": "2027-01-10T00:00:00Z", "duration": "60"},
    )
    body = await problem(resp, 422, "30 days ahead")
    assert body["horizon_end"].startswith("2026-12-25T12:00:00")


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"start": "2026-11-20T09:00:00Z"}, "start", 422),  # in the past
        ({"start": "2026-11-30T03:00:00Z"}, "start", 422),  # 04:00 in Berlin: outside hours
        ({"start": "2026-11-29T09:00:00Z"}, "start", 422),  # a Sunday
        ({"start": "2026-11-30T09:10:00Z"}, "start", 422),  # off the half-hour grid
        ({"start": "2026-11-30T09:00:30Z"}, "start", 422),  # not a whole minute
        ({"start": "2026-11-30T09:00:00"}, "start", 422),  # no offset
        ({"duration_minutes": 7}, "duration_minutes", 422),
        ({"duration_minutes": 600}, "duration_minutes", 422),
        ({"recurrence": {"frequency": "weekly", "count": 10_000}}, "recurrence.count", 422),
        ({"recurrence": {"frequency": "daily", "count": 3}}, "recurrence.frequency", 422),
        ({"recurrence": {"frequency": "weekly"}}, "recurrence", 422),
        (
            {"recurrence": {"frequency": "weekly", "count": 3, "until": "2027-01-01"}},
            "recurrence",
            422,
        ),
        (
            {"recurrence": {"frequency": "weekly", "interval": 0, "count": 3}},
            "recurrence.interval",
            422,
        ),
        ({"recurrence": {"frequency": "weekly", "until": "2026-01-01"}}, "recurrence.until", 422),
        ({"recurrence": {"frequency": "weekly", "until": "2040-01-01"}}, "recurrence.until", 422),
        ({"recurrence": {"frequency": "weekly", "until": "soon"}}, "recurrence.until", 422),
        ({"start": "9999-12-31T09:00:00Z"}, "start", 422),
        (
            {"start": "9999-12-31T09:00:00Z", "recurrence": {"frequency": "weekly", "count": 2}},
            "start",
            422,
        ),
        ({"recurrence": {"frequency": "monthly", "until": "9999-12-31"}}, "recurrence.until", 422),
        ({"recurrence": "weekly"}, "recurrence", 422),
        ({"surprise": True}, "surprise", 422),
    ],
)
async def test_bad_bookings_store_nothing(
    pair: Pair, change: dict[str, Any], field: str, status: int
) -> None:
    body = {
        "mentorship_id": pair.mentorship_id,
        "start": START,
        "duration_minutes": 60,
        **change,
    }
    found = await problem(await pair.mentee.client.post("/api/bookings", json=body), status)
    assert found["errors"][0]["field"] == field, found
    await nothing_booked(pair)


async def test_series_of_ten_thousand_says_the_cap(pair: Pair) -> None:
    body = {
        "mentorship_id": pair.mentorship_id,
        "start": START,
        "duration_minutes": 60,
        "recurrence": {"frequency": "weekly", "count": 10_000},
    }
    await problem(await pair.mentee.client.post("/api/bookings", json=body), 422, "200")
    await nothing_booked(pair)


async def test_malformed_json_and_unknown_mentorship(pair: Pair) -> None:
    resp = await pair.mentee.client.post(
        "/api/bookings", data=b'{"start": ', headers={"Content-Type": "application/json"}
    )
    await problem(resp, 400, "JSON")
    resp = await pair.mentee.client.post(
        "/api/bookings",
        json={"mentorship_id": "nope", "start": START, "duration_minutes": 60},
    )
    await problem(resp, 404)
    await nothing_booked(pair)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weekly": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "weekly.0.weekday"),
        ({"weekly": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}, "weekly.0"),
        ({"weekly": [{"weekday": 1, "start": "25:00", "end": "26:00"}]}, "weekly.0.start"),
        ({"slot_step_minutes": 25}, "slot_step_minutes"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"buffer_before_minutes": -5}, "buffer_before_minutes"),
        ({"max_per_day": 0}, "max_per_day"),
        (
            {
                "overrides": [
                    {"date": "2026-12-01", "windows": []},
                    {"date": "2026-12-01", "windows": []},
                ]
            },
            "(body)",
        ),
        ({"overrides": [{"date": "2026-13-01", "windows": []}]}, "overrides.0.date"),
    ],
)
async def test_bad_availability_changes_nothing(
    pair: Pair, change: dict[str, Any], field: str
) -> None:
    before = await ok(await pair.mentor.client.get("/api/me/availability"))
    resp = await pair.mentor.client.put("/api/me/availability", json={**OPEN, **change})
    found = await problem(resp, 422)
    assert found["errors"][0]["field"] == field
    assert await ok(await pair.mentor.client.get("/api/me/availability")) == before
    assert await count(pair.mentor.client, Availability) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("reschedule", {"start": "2026-12-01T09:00:00Z", "scope": "everything"}, "scope"),
        ("reschedule", {"start": "2026-11-01T09:00:00Z"}, "start"),
        ("reschedule", {"start": "9999-12-31T09:00:00Z"}, "start"),
        ("cancel", {"scope": "some"}, "scope"),
        ("cancel", {"reason": "x" * 1001}, "reason"),
        ("agenda", {"items": [{"text": ""}]}, "items.0.text"),
        ("agenda", {"items": [{"text": "x"}] * 51}, "items"),
        ("feedback", {"rating": 6}, "rating"),
        ("feedback", {"rating": 0, "comment": "bad"}, "rating"),
    ],
)
async def test_bad_changes_leave_the_booking_alone(
    pair: Pair, path: str, body: dict[str, Any], field: str
) -> None:
    created = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={"mentorship_id": pair.mentorship_id, "start": START, "duration_minutes": 60},
        ),
        201,
    )
    booking = created["booking"]
    url = f"/api/bookings/{booking['id']}/{path}"
    method = "PUT" if path == "agenda" else "POST"
    found = await problem(await pair.mentee.client.request(method, url, json=body), 422)
    assert found["errors"][0]["field"] == field
    after = await ok(await pair.mentee.client.get(f"/api/bookings/{booking['id']}"))
    assert after == booking
