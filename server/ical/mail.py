"""Invitation emails: each version of a session (or series) reaches both participants'
inboxes once, with its invite.ics attached, when SMTP is configured.

Due work is found in the database, never only in memory: sessions changed in the last
days whose current SEQUENCE has not been mailed to a participant. A process claims an
email by inserting its ``calendar_invitations`` row (the primary key refuses a second
claim), then sends it; a mail server that is down costs that email, nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import keys
from server.config import Settings
from server.core.db import Database
from server.core.errors import NotFound
from server.core.periodic import periodic
from server.db.models import Booking, CalendarInvitation, User
from server.ical.invites import invitation_for
from server.notifications import email

log = logging.getLogger(__name__)

RECENT = timedelta(days=2)
TICK_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Due:
    subject_id: str  # booking id, or series id
    sequence: int
    booking_id: str  # the booking whose invitation is sent
    user_id: str
    cancelled: bool


async def due_invitations(db: Database, now: datetime) -> list[Due]:
    """Versions of recently changed, not yet finished sessions not mailed to someone."""
    async with db.read() as s:
        rows = (
            await s.execute(
                select(
                    Booking.id,
                    Booking.series_id,
                    Booking.sequence,
                    Booking.status,
                    Booking.mentor_id,
                    Booking.mentee_id,
                    Booking.occurrence_index,
                ).where(Booking.updated_at >= now - RECENT, Booking.end_at > now)
            )
        ).all()
        series_ids = {r.series_id for r in rows if r.series_id is not None}
        if series_ids:
            # A series is mailed as a whole: all of its bookings decide its version.
            rows = [r for r in rows if r.series_id is None] + list(
                (
                    await s.execute(
                        select(
                            Booking.id,
                            Booking.series_id,
                            Booking.sequence,
                            Booking.status,
                            Booking.mentor_id,
                            Booking.mentee_id,
                            Booking.occurrence_index,
                        ).where(Booking.series_id.in_(series_ids))
                    )
                ).all()
            )
        wanted: dict[tuple[str, int, str], Due] = {}
        groups: dict[str, list[Any]] = {}
        for r in rows:
            if r.series_id is None:
                for user_id in (r.mentor_id, r.mentee_id):
                    cancelled = r.status == "cancelled"
                    wanted[(r.id, r.sequence, user_id)] = Due(
                        r.id, r.sequence, r.id, user_id, cancelled
                    )
            else:
                groups.setdefault(r.series_id, []).append(r)
        for series_id, members in groups.items():
            sequence = max(m.sequence for m in members)
            live = [m for m in members if m.status != "cancelled"]
            head = min(live or members, key=lambda m: m.occurrence_index or 0)
            for user_id in (head.mentor_id, head.mentee_id):
                wanted[(series_id, sequence, user_id)] = Due(
                    series_id, sequence, head.id, user_id, not live
                )
        if not wanted:
            return []
        subjects = {k[0] for k in wanted}
        sent = {
            (i.subject_id, i.sequence, i.user_id)
            for i in await s.scalars(
                select(CalendarInvitation).where(CalendarInvitation.subject_id.in_(subjects))
            )
        }
    return [due for key, due in sorted(wanted.items()) if key not in sent]


async def claim(db: Database, due: Due, now: datetime) -> bool:
    try:
        async with db.write() as s:
            s.add(
                CalendarInvitation(
                    subject_id=due.subject_id,
                    sequence=due.sequence,
                    user_id=due.user_id,
                    sent_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


async def send_due(db: Database, settings: Settings, now: datetime) -> int:
    """Claim and send every due invitation; return how many were sent."""
    sent = 0
    for due in await due_invitations(db, now):
        if not await claim(db, due, now):
            continue  # another process has it
        try:
            data = await invitation_for(
                db=db, settings=settings, user_id=due.user_id, booking_id=due.booking_id, now=now
            )
        except NotFound:
            continue
        async with db.read() as s:
            person = await s.get(User, due.user_id)
            booking = await s.get(Booking, due.booking_id)
        if person is None or booking is None:
            continue
        if await send(
            settings, person, booking, data, cancelled=due.cancelled, first=due.sequence == 0
        ):
            sent += 1
    return sent


async def send(
    settings: Settings,
    person: User,
    booking: Booking,
    data: bytes,
    *,
    cancelled: bool,
    first: bool,
) -> bool:
    zone = ZoneInfo(person.timezone)
    when = booking.start_at.astimezone(zone).strftime("%A %d %B %Y, %H:%M")
    verb = "Cancelled" if cancelled else ("Invitation" if first else "Updated")
    method = "CANCEL" if b"METHOD:CANCEL" in data else "REQUEST"
    message = email.new_message(
        settings,
        to=person.email,
        subject=f"{verb}: mentoring session, {when} ({person.timezone})",
        text=f"{verb}: your mentoring session on {when}, {person.timezone} time.\n\n"
        f"The attached invitation adds it to (or, if cancelled, removes it from) your "
        f"calendar.\n\n{settings.public_url}/sessions\n",
    )
    message.add_attachment(
        data,
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": method},
    )
    return await email.send(settings, message, what="an invitation")


async def _send_due(app: web.Application) -> int:
    return await send_due(app[keys.DB], app[keys.SETTINGS], app[keys.CLOCK].now())


JOB = "invitation-mailer"
# cleanup_ctx: mails due invitations while SMTP is configured.
invitation_mailer = periodic(
    JOB, lambda app: TICK_SECONDS, _send_due, enabled=lambda app: bool(app[keys.SETTINGS].smtp_host)
)
