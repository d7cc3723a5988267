"""Two app instances sharing a database and a real Redis, each with its own disk: a
change made through one process rewrites the feed the other one serves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.dates import berlin
from tests.factories import sign_up
from tests.ical.helpers import book, change, eventually

pytestmark = pytest.mark.redis
Client = Any


@pytest.fixture
def start(now: datetime) -> datetime:
    """A session on the coming Thursday at 18:00 in Berlin."""
    return berlin(now, "18:00", day=3)


@pytest.fixture
async def two_processes(
    make_settings: Callable[..., Settings],
    database_url: str,
    redis_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    aiohttp_client: Callable[..., Any],
) -> tuple[Client, Client]:
    first = create_app(
        make_settings(database_url, redis_url=redis_url, calendars_dir=tmp_path / "a"),
        clock=clock,
    )
    second = create_app(
        make_settings(database_url, redis_url=redis_url, calendars_dir=tmp_path / "b"),
        clock=clock,
    )
    return await aiohttp_client(first), await aiohttp_client(second)


async def summaries(client: Client, path: str) -> list[str] | None:
    resp = await client.get(path)
    if resp.status != 200:
        return None
    cal = icalendar.Calendar.from_ical(await resp.read())
    return [e["DTSTART"].dt.astimezone(UTC).isoformat() for e in cal.walk("VEVENT")]


async def test_a_booking_change_in_one_process_changes_the_feed_of_the_other(
    two_processes: tuple[Client, Client], start: datetime
) -> None:
    a, b = two_processes
    mentor = await sign_up(a, name="Maria Mentor")
    mentee = await sign_up(b, name="Sam Mentee", timezone="America/New_York")
    feed = await (await mentee.client.post("/api/me/calendar-feeds")).json()
    path = "/calendars/" + feed["url"].rsplit("/calendars/", 1)[1]

    async def served_by_both() -> bool:
        return await summaries(a, path) == [] and await summaries(b, path) == []

    await eventually(served_by_both)  # B wrote its own copy when A announced the feed

    booking = await book(a.app, mentor.id, mentee.id, start)

    async def booked() -> bool:
        return await summaries(b, path) == [start.isoformat()]

    await eventually(booked)
    moved = start + timedelta(days=1)
    await change(a.app, booking, start_at=moved, end_at=moved + timedelta(hours=1))

    async def rescheduled() -> bool:
        return await summaries(b, path) == [moved.isoformat()] == await summaries(a, path)

    await eventually(rescheduled)
    etag_a = (await a.get(path)).headers["ETag"]
    etag_b = (await b.get(path)).headers["ETag"]
    assert etag_a == etag_b  # same bytes from both processes

    resp = await mentee.client.delete(f"/api/me/calendar-feeds/{feed['id']}")
    assert resp.status == 204

    async def revoked_everywhere() -> bool:
        return (await a.get(path)).status == 404 and (await b.get(path)).status == 404

    await eventually(revoked_everywhere, seconds=5)
