"""Availability: a person's bookable hours and rules, and the plan the slot engine uses.

Without a saved availability the profile's working hours are the weekly hours (and
Monday to Friday 09:00-17:00 without those); comfort marks always judge against the
profile's working hours when there are any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import NotFound
from server.core.hours import clock_text, parse_clock
from server.mentorship.models import Mentorship, Profile
from server.scheduling import slots as sl
from server.scheduling.events import BookingsChanged
from server.scheduling.models import Availability
from server.scheduling.schemas import AvailabilityIn, AvailabilityOut

DEFAULT_WEEKLY: tuple[tuple[sl.Window, ...], ...] = tuple(
    ((9 * 60, 17 * 60),) if d < 5 else () for d in range(7)
)
DEFAULTS = Availability(
    weekly=[],
    overrides=[],
    buffer_before=0,
    buffer_after=0,
    notice_minutes=240,
    horizon_days=60,
    step_minutes=30,
    max_per_day=None,
    max_per_week=None,
)
NO_MENTOR = "There is no such mentor among your active mentorships."


# --- availability -----------------------------------------------------------------------


def weekly_from_wire(items: Sequence[dict[str, Any]]) -> tuple[tuple[sl.Window, ...], ...]:
    days: list[list[sl.Window]] = [[] for _ in range(7)]
    for h in items:
        days[int(h["weekday"])].append((parse_clock(h["start"]), parse_clock(h["end"])))
    return tuple(tuple(sl.union(d)) for d in days)


def _weekly_wire(weekly: tuple[tuple[sl.Window, ...], ...]) -> list[dict[str, Any]]:
    return [
        {"weekday": d, "start": clock_text(a), "end": clock_text(b)}
        for d, windows in enumerate(weekly)
        for a, b in windows
    ]


def _overrides(items: Sequence[dict[str, Any]]) -> dict[date, tuple[sl.Window, ...]]:
    return {
        date.fromisoformat(o["date"]): tuple(
            sl.union((parse_clock(w["start"]), parse_clock(w["end"])) for w in o["windows"])
        )
        for o in items
    }


@dataclass(frozen=True, slots=True)
class Plan:
    """A person's scheduling picture: who, their rules, and their comfort hours."""

    user: User
    rules: sl.Rules
    source: str
    row: Availability
    comfort: sl.Person


def _plan(user: User, profile: Profile | None, row: Availability | None) -> Plan:
    profile_hours = (
        weekly_from_wire(profile.working_hours) if profile and profile.working_hours else None
    )
    if row is not None:
        weekly, source = weekly_from_wire(row.weekly), "saved"
    elif profile_hours is not None:
        weekly, source = profile_hours, "profile"
    else:
        weekly, source = DEFAULT_WEEKLY, "default"
    settings = row or DEFAULTS
    rules = sl.Rules(
        timezone=user.timezone,
        weekly=weekly,
        overrides=_overrides(settings.overrides),
        buffer_before=settings.buffer_before,
        buffer_after=settings.buffer_after,
        notice=settings.notice_minutes,
        horizon_days=settings.horizon_days,
        step=settings.step_minutes,
        max_per_day=settings.max_per_day,
        max_per_week=settings.max_per_week,
    )
    comfort = sl.Person(user.timezone, profile_hours or weekly)
    return Plan(user, rules, source, settings, comfort)


async def load_plans(
    s: AsyncSession, *user_ids: str, pair: tuple[str, str] | None = None
) -> tuple[dict[str, Plan], bool]:
    """Plans of these people, and whether ``pair`` (mentor, mentee) is an active mentorship."""
    paired = (
        select(Mentorship.id)
        .where(
            Mentorship.mentor_id == pair[0],
            Mentorship.mentee_id == pair[1],
            Mentorship.state == "active",
        )
        .exists()
        if pair is not None
        else true()
    )
    rows = (
        await s.execute(
            select(User, Profile, Availability, paired)
            .outerjoin(Profile, Profile.user_id == User.id)
            .outerjoin(Availability, Availability.user_id == User.id)
            .where(User.id.in_(list(user_ids)))
        )
    ).all()
    plans = {row[0].id: _plan(row[0], row[1], row[2]) for row in rows}
    return plans, bool(rows and rows[0][3])


async def load_plan(s: AsyncSession, user_id: str) -> Plan:
    found = (await load_plans(s, user_id))[0].get(user_id)
    if found is None:
        raise NotFound("There is no such person.")
    return found


def availability_out(plan: Plan, now: datetime) -> AvailabilityOut:
    r, row = plan.rules, plan.row
    return AvailabilityOut.model_validate(
        {
            "user_id": plan.user.id,
            "timezone": plan.user.timezone,
            "source": plan.source,
            "weekly": _weekly_wire(r.weekly),
            "overrides": [
                {
                    "date": d.isoformat(),
                    "windows": [{"start": clock_text(a), "end": clock_text(b)} for a, b in w],
                }
                for d, w in sorted(r.overrides.items())
            ],
            "buffer_before_minutes": r.buffer_before,
            "buffer_after_minutes": r.buffer_after,
            "notice_minutes": r.notice,
            "horizon_days": r.horizon_days,
            "slot_step_minutes": r.step,
            "max_per_day": r.max_per_day,
            "max_per_week": r.max_per_week,
            "horizon_end": (now + timedelta(days=r.horizon_days)).isoformat(),
            "updated_at": row.updated_at.isoformat() if plan.source == "saved" else None,
        }
    )


async def get_availability(*, db: Database, now: datetime, user_id: str) -> AvailabilityOut:
    async with db.read() as s:
        return availability_out(await load_plan(s, user_id), now)


async def put_availability(
    *,
    db: Database,
    bus: EventBus,
    changed: BookingsChanged,
    now: datetime,
    user_id: str,
    data: AvailabilityIn,
) -> AvailabilityOut:
    """Save the rules; what can be booked with this person changes as a booking would."""
    values = {
        "weekly": [h.model_dump() for h in data.weekly],
        "overrides": [
            {"date": o.date.isoformat(), "windows": [w.model_dump() for w in o.windows]}
            for o in sorted(data.overrides, key=lambda o: o.date)
        ],
        "buffer_before": data.buffer_before_minutes,
        "buffer_after": data.buffer_after_minutes,
        "notice_minutes": data.notice_minutes,
        "horizon_days": data.horizon_days,
        "step_minutes": data.slot_step_minutes,
        "max_per_day": data.max_per_day,
        "max_per_week": data.max_per_week,
        "updated_at": now,
    }
    async with db.write() as s:
        row = await s.get(Availability, user_id)
        if row is None:
            s.add(Availability(user_id=user_id, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
    await changed.publish(bus, [user_id])
    return await get_availability(db=db, now=now, user_id=user_id)


async def _active_pair(s: AsyncSession, mentor_id: str, mentee_id: str) -> bool:
    found = await s.scalar(
        select(Mentorship.id).where(
            Mentorship.mentor_id == mentor_id,
            Mentorship.mentee_id == mentee_id,
            Mentorship.state == "active",
        )
    )
    return found is not None


async def mentor_availability(
    *, db: Database, now: datetime, viewer: User, mentor_id: str
) -> AvailabilityOut:
    async with db.read() as s:
        if viewer.id != mentor_id and not await _active_pair(s, mentor_id, viewer.id):
            raise NotFound(NO_MENTOR)
        return availability_out(await load_plan(s, mentor_id), now)
