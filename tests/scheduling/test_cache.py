"""Slot answers are reused only while nothing they depend on has changed — also when the
change happened in another process (announced through Redis)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.dates import berlin, iso, utc_day
from tests.factories import OPEN, PASSWORD, Pair, ok
from tests.waiting import eventually

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url=redis_url)


async def starts(client: TestClient[Any, Any], mentor_id: str, now: datetime) -> list[str]:
    """The slots of next Monday."""
    start, end = utc_day(berlin(now, "12:00"))
    params = {"start": start, "end": end, "duration": "60"}
    body = await ok(await client.get(f"/api/mentors/{mentor_id}/slots", params=params))
    return [s["start"] for s in body["items"]]


async def test_changes_in_another_process_reach_cached_answers(
    pair: Pair,
    settings: Settings,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    # The mentee also uses a second process on the same database and Redis.
    other: TestClient[Any, Any] = await aiohttp_client(create_app(settings, clock=clock))
    await ok(
        await other.post("/api/auth/login", json={"email": pair.mentee.email, "password": PASSWORD})
    )
    now = clock.now()
    ten = iso(berlin(now, "10:00"))
    here = await starts(pair.mentee.client, pair.mentor.id, now)
    there = await starts(other, pair.mentor.id, now)
    assert here == there and ten in there

    # Booked through the first process: the second stops offering it at once.
    await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": ten,
                "duration_minutes": 60,
            },
        ),
        201,
    )
    await eventually(
        lambda: starts(other, pair.mentor.id, now),
        lambda found: ten not in found,
        what="the other process dropping the booked slot",
    )
    assert ten not in await starts(pair.mentee.client, pair.mentor.id, now)

    # The mentor narrows her hours: both processes follow.
    await ok(
        await pair.mentor.client.put(
            "/api/me/availability",
            json={**OPEN, "weekly": [{"weekday": 0, "start": "12:00", "end": "14:00"}]},
        )
    )
    narrowed = [iso(berlin(now, clock)) for clock in ("12:00", "12:30", "13:00")]
    await eventually(
        lambda: starts(other, pair.mentor.id, now),
        lambda found: found == narrowed,
        what="the other process following the new hours",
    )
    assert await starts(pair.mentee.client, pair.mentor.id, now) == narrowed


async def test_a_new_minute_is_a_new_answer(pair: Pair, clock: FrozenClock) -> None:
    await ok(
        await pair.mentor.client.put("/api/me/availability", json={**OPEN, "notice_minutes": 60})
    )
    now = clock.now()
    clock.set(berlin(now, "09:00"))  # Monday morning: the first hour is too short notice
    first = await starts(pair.mentee.client, pair.mentor.id, now)
    assert first[0] == iso(berlin(now, "10:00"))
    clock.set(berlin(now, "09:01"))
    later = await starts(pair.mentee.client, pair.mentor.id, now)
    assert later[0] == iso(berlin(now, "10:30"))
