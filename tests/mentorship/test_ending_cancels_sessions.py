"""Ending or completing a mentorship cancels its upcoming sessions; pausing keeps them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.accounts.models import User
from server.core.errors import Conflict
from server.core.keys import BUS, CLOCK, DB
from server.notifications.models import Notification, OutboxItem
from server.scheduling import moving
from server.scheduling.models import Booking, BookingParticipant
from server.scheduling.reminders import KIND as REMINDER
from server.scheduling.schemas import RescheduleIn
from server.scheduling.service import Context
from tests.dates import berlin, iso, utc_day
from tests.factories import Pair, make_pair, ok


def second_monday(now: datetime) -> str:
    return iso(berlin(now, "10:00", week=1))


def second_tuesday(now: datetime) -> str:
    return iso(berlin(now, "10:00", week=1, day=1))


async def _series(pair: Pair, now: datetime, count: int = 4) -> list[str]:
    created = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": iso(berlin(now, "10:00")),
                "duration_minutes": 60,
                "recurrence": {"frequency": "weekly", "count": count},
            },
        ),
        201,
    )
    return [b["id"] for b in created["items"]]


async def _rows(app: Any, ids: list[str]) -> tuple[list[Booking], int, int]:
    async with app[DB].read() as s:
        rows = list(await s.scalars(select(Booking).where(Booking.id.in_(ids))))
        holds = list(
            await s.scalars(
                select(BookingParticipant).where(BookingParticipant.booking_id.in_(ids))
            )
        )
        unsent = list(
            await s.scalars(
                select(OutboxItem).where(
                    OutboxItem.kind == REMINDER,
                    OutboxItem.subject.in_(ids),
                    OutboxItem.delivered_at.is_(None),
                )
            )
        )
    return rows, len(holds), len(unsent)


async def _mentor_slots(pair: Pair, now: datetime) -> list[str]:
    start, end = utc_day(berlin(now, "12:00", week=1))
    params = {"start": start, "end": end, "duration": "60"}
    body = await ok(
        await pair.mentor.client.get(f"/api/mentors/{pair.mentor.id}/slots", params=params)
    )
    return [x["start"] for x in body["items"]]


@pytest.mark.parametrize(("action", "said"), [("end", "ended"), ("complete", "was completed")])
async def test_ending_cancels_every_upcoming_session_and_frees_the_time(
    client: TestClient[Any, Any], another_client: Any, action: str, said: str, now: datetime
) -> None:
    pair = await make_pair(client, await another_client())
    app = client.app
    ids = await _series(pair, now)
    # A slot answer is cached before the change; it must not outlive it.
    assert second_monday(now) not in await _mentor_slots(pair, now)
    bus = app[BUS]
    async with bus.subscribe(
        f"calendar:{pair.mentor.id}", f"calendar:{pair.mentee.id}", "scheduling"
    ) as sub:
        await ok(
            await pair.mentor.client.post(
                f"/api/mentorships/{pair.mentorship_id}/{action}", json={"reason": "Moving on"}
            )
        )
        events = [await asyncio.wait_for(sub.get(), 5) for _ in range(3)]
    assert {e.channel for e in events} == {
        f"calendar:{pair.mentor.id}",
        f"calendar:{pair.mentee.id}",
        "scheduling",
    }
    assert all(sorted(e.data["booking_ids"]) == sorted(ids) for e in events[:2])
    rows, holds, unsent = await _rows(app, ids)
    assert {(r.status, r.sequence, r.cancelled_by) for r in rows} == {
        ("cancelled", 1, pair.mentor.id)
    }
    assert {r.cancel_reason for r in rows} == {f"The mentorship {said}. Moving on"}
    assert (holds, unsent) == (0, 0)
    assert second_monday(now) in await _mentor_slots(pair, now)
    async with app[DB].read() as s:
        told = list(
            await s.scalars(
                select(Notification.user_id).where(Notification.kind == "booking.cancelled")
            )
        )
    assert sorted(told) == sorted([pair.mentor.id, pair.mentee.id])
    resp = await pair.mentee.client.post(
        f"/api/bookings/{ids[1]}/reschedule", json={"start": second_tuesday(now)}
    )
    assert resp.status == 409
    assert (await _rows(app, ids))[1] == 0


async def test_pausing_keeps_sessions_but_they_move_only_when_active_again(
    client: TestClient[Any, Any], another_client: Any, now: datetime
) -> None:
    pair = await make_pair(client, await another_client())
    app = client.app
    ids = await _series(pair, now, 2)
    await ok(await pair.mentee.client.post(f"/api/mentorships/{pair.mentorship_id}/pause", json={}))
    rows, holds, _ = await _rows(app, ids)
    assert {r.status for r in rows} == {"confirmed"} and holds == 4
    url = f"/api/bookings/{ids[1]}/reschedule"
    problem = await ok(await pair.mentee.client.post(url, json={"start": second_tuesday(now)}), 409)
    assert problem["state"] == "paused" and "active mentorship" in problem["detail"]
    assert {r.sequence for r in (await _rows(app, ids))[0]} == {0}
    await ok(
        await pair.mentor.client.post(f"/api/mentorships/{pair.mentorship_id}/resume", json={})
    )
    moved = await ok(await pair.mentee.client.post(url, json={"start": second_tuesday(now)}))
    assert moved["items"][0]["start"] == second_tuesday(now)


async def test_a_move_planned_before_the_mentorship_ended_is_refused(
    client: TestClient[Any, Any], another_client: Any, now: datetime
) -> None:
    pair = await make_pair(client, await another_client())
    app = client.app
    ids = await _series(pair, now, 2)
    async with app[DB].read() as s:
        mentee = await s.get(User, pair.mentee.id)
    assert mentee is not None
    ctx = Context(db=app[DB], bus=app[BUS], now=app[CLOCK].now(), sources=[])
    plan = await moving.plan_move(
        ctx, mentee, ids[0], RescheduleIn.model_validate({"start": iso(berlin(now, "13:00"))})
    )
    await ok(await pair.mentor.client.post(f"/api/mentorships/{pair.mentorship_id}/end", json={}))
    with pytest.raises(Conflict):
        await moving.apply_move(ctx, plan)
    rows, holds, unsent = await _rows(app, ids)
    assert {r.status for r in rows} == {"cancelled"} and (holds, unsent) == (0, 0)
