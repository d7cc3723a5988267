"""The "bookings changed" event: changes made through the services, not only through
the HTTP handlers, drop the slot answers they make stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.accounts.models import User
from server.core.keys import BUS, CLOCK, DB
from server.scheduling import booking
from server.scheduling.keys import BOOKINGS_CHANGED, BUSY_SOURCES, SLOT_CACHE
from server.scheduling.schemas import BookingIn
from server.scheduling.service import Context
from tests.dates import berlin, iso, utc_day
from tests.factories import Pair, ok
from tests.waiting import eventually


async def starts(client: TestClient[Any, Any], mentor_id: str, now: datetime) -> list[str]:
    """The slots of next Monday."""
    start, end = utc_day(berlin(now, "12:00"))
    params = {"start": start, "end": end, "duration": "60"}
    body = await ok(await client.get(f"/api/mentors/{mentor_id}/slots", params=params))
    return [s["start"] for s in body["items"]]


async def _user(app: Any, user_id: str) -> User:
    async with app[DB].read() as s:
        found: User | None = await s.get(User, user_id)
    assert found is not None
    return found


async def test_a_booking_made_through_the_service_drops_cached_slots_at_once(
    pair: Pair, now: datetime
) -> None:
    app = pair.mentor.client.app
    ten = iso(berlin(now, "10:00"))
    assert ten in await starts(pair.mentee.client, pair.mentor.id, now)
    assert app[SLOT_CACHE].answers  # the answer is kept for the minute
    ctx = Context(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        sources=app[BUSY_SOURCES],
        changed=app[BOOKINGS_CHANGED],
    )
    data = BookingIn.model_validate(
        {"mentorship_id": pair.mentorship_id, "start": ten, "duration_minutes": 60}
    )
    await booking.create_booking(ctx, await _user(app, pair.mentee.id), data)
    # Heard in this process before create_booking returned: no waiting.
    assert ten not in await starts(pair.mentee.client, pair.mentor.id, now)


async def test_sessions_cancelled_by_a_mentorship_ending_free_the_cached_slots(
    pair: Pair, now: datetime
) -> None:
    cache = pair.mentor.client.app[SLOT_CACHE]
    ten = iso(berlin(now, "10:00"))
    booked = {"mentorship_id": pair.mentorship_id, "start": ten, "duration_minutes": 60}
    await ok(await pair.mentee.client.post("/api/bookings", json=booked), 201)
    # The mentor's own view of her slots: taken, and now kept for the minute.
    assert ten not in await starts(pair.mentor.client, pair.mentor.id, now)
    before = cache.stamp([pair.mentor.id])
    await ok(await pair.mentor.client.post(f"/api/mentorships/{pair.mentorship_id}/end", json={}))

    # The mentorship service announces the cancelled sessions on the bus; waiting for
    # the cache to hear it, not for the answer's lifetime to end.
    async def stamp() -> tuple[int, ...]:
        return cache.stamp([pair.mentor.id])

    await eventually(stamp, lambda found: found != before, what="the cache hearing the event")
    assert ten in await starts(pair.mentor.client, pair.mentor.id, now)
