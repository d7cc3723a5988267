"""Bad scheduling input gets a clear problem+json 4xx and stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.notifications.models import OutboxItem
from server.scheduling.models import Availability, Booking, BookingParticipant, BookingSeries
from tests.dates import berlin, iso, today
from tests.factories import OPEN, Pair, count, ok

Soon = Callable[[datetime], Any]  # a value computed from the test's now


def days(n: int) -> Soon:
    """The instant `n` days after now."""
    return lambda now: iso(now + timedelta(days=n))


def date_in(n: int) -> Soon:
    """The date `n` days after today in Berlin."""
    return lambda now: (today(now, "Europe/Berlin") + timedelta(days=n)).isoformat()


def monday(clock: str, **when: int) -> Soon:
    """`clock` in Berlin next Monday (or another day, see `berlin`)."""
    return lambda now: iso(berlin(now, clock, **when))


def resolved(value: Any, now: datetime) -> Any:
    """`value` with every computed part worked out at `now`."""
    if callable(value):
        return value(now)
    if isinstance(value, dict):
        return {k: resolved(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, now) for v in value]
    return value


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
    for model in (Booking, BookingSeries, BookingParticipant, OutboxItem):
        assert await count(client, model) == 0, model.__name__


def slots_url(pair: Pair) -> str:
    return f"/api/mentors/{pair.mentor.id}/slots"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"tz": "Mars/Olympus"}, "tz", ("IANA",)),
        ({"start": days(3), "end": days(2)}, "(body)", ("after",)),
        ({"start": "2026-12-01T00:00:00"}, "start", ()),
        ({"start": "tomorrow"}, "start", ()),
        ({"duration": "0"}, "duration", ()),
        ({"duration": "sixty"}, "duration", ()),
        ({"start": days(1), "end": days(152)}, "(body)", ("100",)),
        ({"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start", ("1971",)),
        ({"start": "9999-12-30T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, "start", ("1971",)),
    ],
)
async def test_bad_slot_queries_are_422(
    pair: Pair, params: dict[str, Any], field: str, words: tuple[str, ...], now: datetime
) -> None:
    query = {"start": days(1), "end": days(2), "duration": "60", **params}
    query = resolved(query, now)
    body = await problem(await pair.mentee.client.get(slots_url(pair), params=query), 422, *words)
    assert body["errors"][0]["field"] == field


async def test_range_beyond_the_horizon_is_422(pair: Pair, now: datetime) -> None:
    await ok(
        await pair.mentor.client.put("/api/me/availability", json={**OPEN, "horizon_days": 30})
    )
    resp = await pair.mentee.client.get(
        slots_url(pair),
        params=resolved({"start": days(25), "end": days(46), "duration": "60"}, now),
    )
    body = await problem(resp, 422, "30 days ahead")
    assert datetime.fromisoformat(body["horizon_end"]) == now + timedelta(days=30)


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"start": monday("10:00", week=-2)}, "start", 422),  # in the past
        ({"start": monday("04:00")}, "start", 422),  # outside hours
        ({"start": monday("10:00", day=6)}, "start", 422),  # a Sunday
        ({"start": monday("10:10")}, "start", 422),  # off the half-hour grid
        ({"start": lambda now: iso(berlin(now, "10:00") + timedelta(seconds=30))}, "start", 422),
        ({"start": lambda now: iso(berlin(now, "10:00")).removesuffix("Z")}, "start", 422),
        ({"duration_minutes": 7}, "duration_minutes", 422),
        ({"duration_minutes": 600}, "duration_minutes", 422),
        ({"recurrence": {"frequency": "weekly", "count": 10_000}}, "recurrence.count", 422),
        ({"recurrence": {"frequency": "daily", "count": 3}}, "recurrence.frequency", 422),
        ({"recurrence": {"frequency": "weekly"}}, "recurrence", 422),
        (
            {"recurrence": {"frequency": "weekly", "count": 3, "until": date_in(40)}},
            "recurrence",
            422,
        ),
        (
            {"recurrence": {"frequency": "weekly", "interval": 0, "count": 3}},
            "recurrence.interval",
            422,
        ),
        ({"recurrence": {"frequency": "weekly", "until": date_in(-30)}}, "recurrence.until", 422),
        # More than 200 weekly sessions in five years:
        (
            {"recurrence": {"frequency": "weekly", "until": date_in(5 * 365)}},
            "recurrence.until",
            422,
        ),
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
    pair: Pair, change: dict[str, Any], field: str, status: int, now: datetime
) -> None:
    body = {
        "mentorship_id": pair.mentorship_id,
        "start": iso(berlin(now, "10:00")),
        "duration_minutes": 60,
        **resolved(change, now),
    }
    found = await problem(await pair.mentee.client.post("/api/bookings", json=body), status)
    assert found["errors"][0]["field"] == field, found
    await nothing_booked(pair)


async def test_series_of_ten_thousand_says_the_cap(pair: Pair, now: datetime) -> None:
    body = {
        "mentorship_id": pair.mentorship_id,
        "start": iso(berlin(now, "10:00")),
        "duration_minutes": 60,
        "recurrence": {"frequency": "weekly", "count": 10_000},
    }
    await problem(await pair.mentee.client.post("/api/bookings", json=body), 422, "200")
    await nothing_booked(pair)


async def test_malformed_json_and_unknown_mentorship(pair: Pair, now: datetime) -> None:
    resp = await pair.mentee.client.post(
        "/api/bookings", data=b'{"start": ', headers={"Content-Type": "application/json"}
    )
    await problem(resp, 400, "JSON")
    resp = await pair.mentee.client.post(
        "/api/bookings",
        json={"mentorship_id": "nope", "start": iso(berlin(now, "10:00")), "duration_minutes": 60},
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
                    {"date": date_in(6), "windows": []},
                    {"date": date_in(6), "windows": []},
                ]
            },
            "(body)",
        ),
        ({"overrides": [{"date": "2026-13-01", "windows": []}]}, "overrides.0.date"),
    ],
)
async def test_bad_availability_changes_nothing(
    pair: Pair, change: dict[str, Any], field: str, now: datetime
) -> None:
    before = await ok(await pair.mentor.client.get("/api/me/availability"))
    changed = resolved({**OPEN, **change}, now)
    resp = await pair.mentor.client.put("/api/me/availability", json=changed)
    found = await problem(resp, 422)
    assert found["errors"][0]["field"] == field
    assert await ok(await pair.mentor.client.get("/api/me/availability")) == before
    assert await count(pair.mentor.client, Availability) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("reschedule", {"start": monday("10:00", day=1), "scope": "everything"}, "scope"),
        ("reschedule", {"start": monday("10:00", week=-4)}, "start"),  # in the past
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
    pair: Pair, path: str, body: dict[str, Any], field: str, now: datetime
) -> None:
    start = iso(berlin(now, "10:00"))
    created = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={"mentorship_id": pair.mentorship_id, "start": start, "duration_minutes": 60},
        ),
        201,
    )
    booking = created["booking"]
    url = f"/api/bookings/{booking['id']}/{path}"
    method = "PUT" if path == "agenda" else "POST"
    found = await problem(
        await pair.mentee.client.request(method, url, json=resolved(body, now)), 422
    )
    assert found["errors"][0]["field"] == field
    after = await ok(await pair.mentee.client.get(f"/api/bookings/{booking['id']}"))
    assert after == booking
