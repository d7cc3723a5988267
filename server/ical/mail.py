"""Invitation emails: each version of a session (or series) reaches both participants'
inboxes once, with its invite.ics attached, when SMTP is configured.

Due work is found in the database, never only in memory: on each pass of the outbox,
sessions changed in the last days are collected, and each participant's invitation
to the current SEQUENCE is queued under the key (subject, sequence, person), so a
version is queued once however many processes look; the outbox then mails it once.
A version superseded before it was mailed is dropped without a word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.db import Database
from server.core.errors import NotFound
from server.ical.invites import invitation_in
from server.notifications import email, outbox
from server.notifications.models import OutboxItem
from server.scheduling.models import Booking

log = logging.getLogger(__name__)

KIND = "calendar.invitation"
RECENT = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Due:
    subject_id: str  # booking id, or series id
    sequence: int
    booking_id: str  # the booking whose invitation is sent
    user_id: str
    cancelled: bool

    @property
    def key(self) -> str:
        return f"{KIND}:{self.subject_id}:{self.sequence}:{self.user_id}"


async def due_invitations(db: Database, now: datetime) -> list[Due]:
    """Versions of recently changed, not yet finished sessions not queued for someone."""
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
        queued = set(
            await s.scalars(
                select(OutboxItem.dedupe_key).where(
                    OutboxItem.kind == KIND, OutboxItem.subject.in_(subjects)
                )
            )
        )
    return [due for _, due in sorted(wanted.items()) if due.key not in queued]


async def collect(db: Database, context: outbox.Context) -> int:
    """Queue every due invitation (none without SMTP: there is nothing to send them by)."""
    if not context.settings.smtp_host:
        return 0
    due = await due_invitations(db, context.now)
    if not due:
        return 0
    queued = 0
    async with db.write() as s:
        for d in due:
            item_id = await outbox.enqueue(
                session=s,
                user_id=d.user_id,
                kind=KIND,
                key=d.key,
                subject=d.subject_id,
                due_at=context.now,
                payload={
                    "booking_id": d.booking_id,
                    "sequence": d.sequence,
                    "cancelled": d.cancelled,
                },
            )
            queued += item_id is not None
    return queued


async def _current_sequence(s: AsyncSession, booking: Booking) -> int:
    if booking.series_id is None:
        return booking.sequence
    top = await s.scalar(
        select(func.max(Booking.sequence)).where(Booking.series_id == booking.series_id)
    )
    return int(top or 0)


async def render(
    s: AsyncSession, item: OutboxItem, context: outbox.Context
) -> outbox.Delivery | None:
    """The invitation email with invite.ics, unless the session ended or changed again."""
    payload = item.payload
    sequence = int(payload.get("sequence", 0))
    booking = await s.get(Booking, str(payload.get("booking_id")))
    person = await s.get(User, item.user_id)
    if booking is None or person is None or booking.end_at <= context.now:
        return None
    if await _current_sequence(s, booking) != sequence:
        return None  # superseded: the newer version has its own row
    try:
        data = await invitation_in(
            s, settings=context.settings, user_id=person.id, booking_id=booking.id, now=context.now
        )
    except NotFound:
        return None
    message = build(
        context.settings,
        person,
        booking,
        data,
        cancelled=bool(payload.get("cancelled")),
        first=sequence == 0,
    )
    return outbox.Delivery(email=message, what="an invitation")


def build(
    settings: Settings,
    person: User,
    booking: Booking,
    data: bytes,
    *,
    cancelled: bool,
    first: bool,
) -> EmailMessage:
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
    return message


INVITATION = outbox.Kind(KIND, render, collect)
