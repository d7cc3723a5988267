"""Slot answers are reused only while nothing they depend on has changed — also when the
change happened in another process (announced through Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.factories import PASSWORD
from tests.scheduling.conftest import OPEN, Pair, ok

pytestmark = pytest.mark.redis
DAY = {"start": "2026-11-30T00:00:00Z", "end": "2026-12-01T00:00:00Z", "duration": "60"}


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url=redis_url)


async def starts(client: TestClient[Any, Any], mentor_id: str) -> list[str]:
    body = await ok(await client.get(f"/api/mentors/{mentor_id}/slots", params=DAY))
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
    here = await starts(pair.mentee.client, pair.mentor.id)
    there = await starts(other, pair.mentor.id)
    assert here == there and "2026-11-30T09:00:00Z" in there

    # Booked through the first process: the second stops offering it at once.
    await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": "2026-11-30T09:00:00Z",
                "duration_minutes": 60,
            },
        ),
        201,
    )
    for _ in range(50):
        there = await starts(other, pair.mentor.id)
        if "2026-11-30T09:00:00Z" not in there:
            break
        await asyncio.sleep(0.02)
    assert "2026-11-30T09:00:00Z" not in there
    assert "2026-11-30T09:00:00Z" not in await starts(pair.mentee.client, pair.mentor.id)

    # The mentor narrows her hours: both processes follow.
    await ok(
        await pair.mentor.client.put(
            "/api/me/availability",
            json={**OPEN, "weekly": [{"weekday": 0, "start": "12:00", "end": "14:00"}]},
        )
    )
    for _ in range(50):
        there = await starts(other, pair.mentor.id)
        if len(there) == 3:
            break
        await asyncio.sleep(0.02)
    assert there == ["2026-11-30T11:00:00Z", "2026-11-30T11:30:00Z", "2026-11-30T12:00:00Z"]
    assert await starts(pair.mentee.client, pair.mentor.id) == there


async def test_a_new_minute_is_a_new_answer(pair: Pair, clock: FrozenClock) -> None:
    await ok(
        await pair.mentor.client.put("/api/me/availability", json={**OPEN, "notice_minutes": 60})
    )
    clock.set(clock.now().replace(year=2026, month=11, day=30, hour=8, minute=0))
    first = await starts(pair.mentee.client, pair.mentor.id)
    assert first[0] == "2026-11-30T09:00:00Z"
    clock.set(clock.now().replace(minute=1))
    later = await starts(pair.mentee.client, pair.mentor.id)
    assert later[0] == "2026-11-30T09:30:00Z"
