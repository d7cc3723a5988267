"""Changes that race a cancel, and the comfort marks on a 409's nearest slots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.accounts.models import User
from server.core.errors import Conflict
from server.core.keys import BUS, CLOCK, DB
from server.notifications.models import OutboxItem
from server.scheduling import moving
from server.scheduling.availability import weekly_from_wire
from server.scheduling.keys import BUSY_SOURCES
from server.scheduling.models import Booking, BookingParticipant
from server.scheduling.reminders import KIND as REMINDER
from server.scheduling.schemas import RescheduleIn
from server.scheduling.service import Context
from server.scheduling.slots import Person, comfort_of, to_minute
from tests.dates import berlin, iso
from tests.factories import NINE_TO_FIVE, Pair, ok


async def book(person: Any, pair: Pair, start: str, **extra: Any) -> Any:
    return await person.client.post(
        "/api/bookings",
        json={"mentorship_id": pair.mentorship_id, "start": start, "duration_minutes": 60, **extra},
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ctx(app: Any) -> Context:
    return Context(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        sources=app[BUSY_SOURCES],
    )


async def _user(app: Any, user_id: str) -> User:
    async with app[DB].read() as s:
        found: User | None = await s.get(User, user_id)
    assert found is not None
    return found


async def _holds(app: Any, booking_ids: list[str]) -> int:
    async with app[DB].read() as s:
        rows = await s.scalars(
            select(BookingParticipant).where(BookingParticipant.booking_id.in_(booking_ids))
        )
        return len(list(rows))


async def test_reschedule_after_a_cancel_is_409_and_holds_no_time(
    pair: Pair, now: datetime
) -> None:
    b = (await ok(await book(pair.mentee, pair, iso(berlin(now, "10:00"))), 201))["booking"]
    await ok(await pair.mentor.client.post(f"/api/bookings/{b['id']}/cancel", json={}))
    resp = await pair.mentee.client.post(
        f"/api/bookings/{b['id']}/reschedule", json={"start": iso(berlin(now, "13:00"))}
    )
    problem = await ok(resp, 409)
    assert "cancelled" in problem["detail"]
    again = await ok(await pair.mentee.client.get(f"/api/bookings/{b['id']}"))
    assert (again["status"], again["sequence"], again["start"]) == ("cancelled", 1, b["start"])
    assert await _holds(pair.mentor.client.app, [b["id"]]) == 0


async def test_a_cancel_committed_between_planning_and_writing_a_move_wins(
    pair: Pair, now: datetime
) -> None:
    app = pair.mentor.client.app
    ten, one = berlin(now, "10:00"), berlin(now, "13:00")
    created = await ok(
        await book(pair.mentee, pair, iso(ten), recurrence={"frequency": "weekly", "count": 3}),
        201,
    )
    ids = [x["id"] for x in created["items"]]
    mentee = await _user(app, pair.mentee.id)
    ctx = _ctx(app)
    # The move is read and worked out first...
    plan = await moving.plan_move(
        ctx,
        mentee,
        ids[0],
        RescheduleIn.model_validate({"start": iso(one), "scope": "all"}),
    )
    # ...then the other side cancels the whole series before the move is written.
    await ok(await pair.mentor.client.post(f"/api/bookings/{ids[0]}/cancel", json={"scope": "all"}))
    with pytest.raises(Conflict) as raised:
        await moving.apply_move(ctx, plan)
    assert "cancelled" in raised.value.detail
    assert sorted(raised.value.extra["booking_ids"]) == sorted(ids)
    async with app[DB].read() as s:
        rows = list(await s.scalars(select(Booking).where(Booking.id.in_(ids))))
        reminders = list(
            await s.scalars(
                select(OutboxItem).where(OutboxItem.kind == REMINDER, OutboxItem.subject.in_(ids))
            )
        )
    assert {(r.status, r.sequence) for r in rows} == {("cancelled", 1)}
    assert min(r.start_at for r in rows) == ten
    assert reminders == []
    assert await _holds(app, ids) == 0
    # The time it would have moved to is still free for a new booking.
    await ok(await book(pair.mentor, pair, iso(one)), 201)


async def test_a_move_committed_between_planning_and_writing_another_move_is_409(
    pair: Pair, now: datetime
) -> None:
    app = pair.mentor.client.app
    b = (await ok(await book(pair.mentee, pair, iso(berlin(now, "10:00"))), 201))["booking"]
    ctx = _ctx(app)
    plan = await moving.plan_move(
        ctx,
        await _user(app, pair.mentee.id),
        b["id"],
        RescheduleIn.model_validate({"start": iso(berlin(now, "13:00"))}),
    )
    three = iso(berlin(now, "15:00"))
    await ok(
        await pair.mentor.client.post(f"/api/bookings/{b['id']}/reschedule", json={"start": three})
    )
    with pytest.raises(Conflict):
        await moving.apply_move(ctx, plan)
    again = await ok(await pair.mentee.client.get(f"/api/bookings/{b['id']}"))
    assert (again["start"], again["sequence"]) == (three, 1)
    assert await _holds(app, [b["id"]]) == 2


EARLY_BIRD = [{"weekday": d, "start": "03:00", "end": "09:00"} for d in range(5)]


async def test_nearest_slots_of_a_409_mark_comfort_by_the_viewers_own_hours(
    pair: Pair, now: datetime
) -> None:
    # The mentee (New York) works 03:00-09:00; the mentor (Berlin) 09:00-17:00.
    await ok(
        await pair.mentee.client.put(
            "/api/me/profile",
            json={"roles": ["mentee"], "languages": ["en"], "working_hours": EARLY_BIRD},
        )
    )
    ten = berlin(now, "10:00")
    await ok(await book(pair.mentor, pair, iso(ten)), 201)
    problem = await ok(await book(pair.mentee, pair, iso(berlin(now, "10:30"))), 409)
    nearest = problem["nearest"]
    assert nearest
    mine = Person("America/New_York", weekly_from_wire(EARLY_BIRD))
    theirs = Person("America/New_York", weekly_from_wire(NINE_TO_FIVE))
    differ = 0
    for n in nearest:
        start, end = to_minute(_at(n["start"])), to_minute(_at(n["end"]))
        assert n["comfort"]["viewer"] == comfort_of(mine, start, end), n
        differ += comfort_of(mine, start, end) != comfort_of(theirs, start, end)
    assert differ, "pick hours where the two people's comfort differs"
    # The same marks as the slots endpoint gives for those times.
    slots = await ok(
        await pair.mentee.client.get(
            f"/api/mentors/{pair.mentor.id}/slots",
            params={
                "start": iso(now),
                "end": iso(ten + timedelta(days=4)),
                "duration": "60",
            },
        )
    )
    marks = {x["start"]: x["comfort"] for x in slots["items"]}
    assert all(marks[n["start"]] == n["comfort"] for n in nearest)
