"""Rows written straight to the database, for setups the API would take many steps to reach.

The constructors build one table row each (nothing is stored until the caller adds it),
so a benchmark can insert thousands in one transaction; the ``store_*`` helpers write a
whole setup to a running app's database in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.ids import new_id
from server.core.keys import CLOCK, DB
from server.mentorship.models import AgreementConfirmation, AgreementVersion, Mentorship, Profile
from server.scheduling.models import Booking, BookingSeries

# --- one row each ----------------------------------------------------------------------------


def user(
    *, now: datetime, name: str, email: str, timezone: str = "Europe/Berlin", id: str = ""
) -> User:
    """Someone who cannot sign in (no password): a party to sessions, no more."""
    return User(
        id=id or new_id(),
        email=email,
        password_hash="-",
        name=name,
        timezone=timezone,
        created_at=now,
    )


def mentorship(
    *, mentor_id: str, mentee_id: str, now: datetime, state: str = "active"
) -> Mentorship:
    return Mentorship(
        id=new_id(),
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        state=state,
        message="",
        created_at=now,
        expires_at=now + timedelta(days=14),
        state_changed_at=now,
        state_reason="",
        state_changed_by=None,
        agreed_version=None,
    )


def agreement(
    *,
    mentorship_id: str,
    version: int,
    proposed_by: str,
    now: datetime,
    cadence: str = "weekly",
    session_minutes: int = 60,
    channel: str = "live",
    recording_allowed: bool = False,
    media_retention_days: int | None = None,
    review_date: date | None = None,
) -> AgreementVersion:
    return AgreementVersion(
        id=new_id(),
        mentorship_id=mentorship_id,
        version=version,
        proposed_by=proposed_by,
        proposed_at=now,
        cadence=cadence,
        session_minutes=session_minutes,
        channel=channel,
        recording_allowed=recording_allowed,
        confidential_topics=[],
        media_retention_days=media_retention_days,
        review_date=review_date,
        note="",
    )


def booking(
    *,
    mentorship: Mentorship,
    start: datetime,
    now: datetime,
    minutes: int = 60,
    status: str = "confirmed",
    agenda: Sequence[str] = (),
    series_id: str | None = None,
    occurrence_index: int | None = None,
) -> Booking:
    """A session of ``mentorship``, made by its mentee."""
    return Booking(
        id=new_id(),
        mentorship_id=mentorship.id,
        mentor_id=mentorship.mentor_id,
        mentee_id=mentorship.mentee_id,
        series_id=series_id,
        occurrence_index=occurrence_index,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        status=status,
        sequence=0,
        agenda=[{"text": t, "done": False} for t in agenda],
        notes="",
        cancel_reason="",
        created_by=mentorship.mentee_id,
        created_at=now,
        updated_at=now,
    )


def series(
    *,
    mentorship: Mentorship,
    first: datetime,
    zone: str,
    count: int,
    now: datetime,
    minutes: int = 60,
) -> BookingSeries:
    """A weekly series anchored in ``zone``; its bookings are rows of their own."""
    return BookingSeries(
        id=new_id(),
        mentorship_id=mentorship.id,
        frequency="weekly",
        interval=1,
        count=count,
        until=None,
        timezone=zone,
        first_start=first,
        duration_minutes=minutes,
        created_by=mentorship.mentee_id,
        created_at=now,
    )


# --- setups in one transaction ---------------------------------------------------------------


async def active_mentorship(
    s: AsyncSession, *, mentor_id: str, mentee_id: str, now: datetime
) -> Mentorship:
    """The pair's mentorship, added (active) if they have none yet."""
    found = await s.scalar(
        select(Mentorship).where(
            Mentorship.mentor_id == mentor_id, Mentorship.mentee_id == mentee_id
        )
    )
    if found is not None:
        return found
    row = mentorship(mentor_id=mentor_id, mentee_id=mentee_id, now=now)
    s.add(row)
    await s.flush()
    return row


async def agree(
    s: AsyncSession,
    ship: Mentorship,
    *,
    now: datetime,
    confirmed_by: Iterable[str] = (),
    **terms: Any,
) -> AgreementVersion:
    """A new agreement version proposed by the mentor, put in force at once."""
    version = agreement(
        mentorship_id=ship.id,
        version=(ship.agreed_version or 0) + 1,
        proposed_by=ship.mentor_id,
        now=now,
        **terms,
    )
    s.add(version)
    await s.flush()
    for person in confirmed_by:
        s.add(AgreementConfirmation(version_id=version.id, user_id=person, confirmed_at=now))
    ship.agreed_version = version.version
    return version


async def store_mentorship(
    app: web.Application,
    mentor_id: str,
    mentee_id: str,
    *,
    state: str = "active",
    retention_days: int | None = None,
) -> str:
    """A new mentorship in ``state``; with ``retention_days``, an agreement both confirmed."""
    now = app[CLOCK].now()
    async with app[DB].write() as s:
        ship = mentorship(mentor_id=mentor_id, mentee_id=mentee_id, now=now, state=state)
        s.add(ship)
        await s.flush()
        if retention_days is not None:
            await agree(
                s,
                ship,
                now=now,
                confirmed_by=(mentor_id, mentee_id),
                session_minutes=45,
                channel="mixed",
                media_retention_days=retention_days,
                review_date=date(2027, 3, 1),
            )
    return ship.id


async def store_booking(
    app: web.Application,
    mentor_id: str,
    mentee_id: str,
    start: datetime,
    *,
    minutes: int = 60,
    status: str = "confirmed",
    agenda: Sequence[str] = (),
    terms: dict[str, Any] | None = None,
) -> Booking:
    """A session of the pair's mentorship (made active if they have none).

    With ``terms``, a new agreement version with those terms is put in force first.
    """
    now = app[CLOCK].now()
    async with app[DB].write() as s:
        ship = await active_mentorship(s, mentor_id=mentor_id, mentee_id=mentee_id, now=now)
        if terms is not None:
            await agree(s, ship, now=now, **terms)
        row = booking(
            mentorship=ship, start=start, now=now, minutes=minutes, status=status, agenda=agenda
        )
        s.add(row)
    return row


async def set_working_hours(
    app: web.Application, user_id: str, hours: list[dict[str, Any]], now: datetime
) -> None:
    """The person's working hours, with a bare profile if they have none."""
    async with app[DB].write() as s:
        found = await s.get(Profile, user_id)
        if found is None:
            s.add(Profile(user_id=user_id, working_hours=hours, updated_at=now))
        else:
            found.working_hours = hours
