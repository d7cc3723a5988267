"""Reminders 24 hours and 15 minutes before each session, and DST-shift notices.

Due reminders live in ``booking_reminders`` (written with the booking), so a restart
loses none. Every process polls; a reminder is claimed and marked sent by one
conditional UPDATE (``WHERE sent_at IS NULL``) in the same transaction that stores the
in-app notification, so with any number of processes each reminder is sent once.
Email follows the commit when SMTP is configured; a mail server that fails costs the
email, never the in-app notice.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select, update

from server import keys
from server.config import Settings
from server.core.bus import EventBus
from server.core.db import Database
from server.core.periodic import periodic
from server.db.models import Booking, BookingReminder, Notification, User
from server.notifications import email as mail
from server.notifications import service as notifications

log = logging.getLogger(__name__)
BATCH = 200
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    body: str


def _text(
    reminder: BookingReminder, booking: Booking, person: User, other: User
) -> tuple[str, str]:
    zone = ZoneInfo(person.timezone)
    local = booking.start_at.astimezone(zone)
    when = f"{local:%a} {local.day} {local:%b, %H:%M} ({person.timezone})"
    if reminder.kind == "shift":
        data = reminder.data
        return (
            f"Your session time with {other.name} changes on {local:%a} {local.day} {local:%b}",
            f"Because of a daylight-saving change it starts at {data.get('local')} your time "
            f"instead of {data.get('previous_local')}; {other.name}'s time stays the same.",
        )
    soon = "in 24 hours" if reminder.kind == "24h" else "in 15 minutes"
    return (f"Session with {other.name} {soon}: {when}", f"Your session starts {when}.")


async def send_due(
    *, db: Database, bus: EventBus, settings: Settings, now: datetime, worker: str = WORKER
) -> int:
    """Send every reminder due at ``now`` that no process has sent; return how many."""
    async with db.read() as s:
        due = list(
            await s.scalars(
                select(BookingReminder.id)
                .where(BookingReminder.sent_at.is_(None), BookingReminder.due_at <= now)
                .order_by(BookingReminder.due_at)
                .limit(BATCH)
            )
        )
    sent = 0
    for reminder_id in due:
        note: Notification | None = None
        email: Email | None = None
        async with db.write() as s:
            claimed = await s.execute(
                update(BookingReminder)
                .where(BookingReminder.id == reminder_id, BookingReminder.sent_at.is_(None))
                .values(claimed_at=now, claimed_by=worker, sent_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            reminder = await s.get(BookingReminder, reminder_id)
            assert reminder is not None
            booking = await s.get(Booking, reminder.booking_id)
            if booking is None or booking.status != "confirmed" or booking.start_at <= now:
                continue  # too late to remind: marked done without a word
            person = await s.get(User, reminder.user_id)
            other_id = (
                booking.mentee_id
                if person and person.id == booking.mentor_id
                else booking.mentor_id
            )
            other = await s.get(User, other_id)
            if person is None or other is None:
                continue
            title, body = _text(reminder, booking, person, other)
            note = notifications.stage(
                s,
                now=now,
                user_id=person.id,
                kind=f"booking.reminder.{reminder.kind}",
                title=title,
                body=body,
                link="/sessions",
                data={"booking_id": booking.id, "kind": reminder.kind},
            )
            if settings.smtp_host:
                email = Email(person.email, title, body)
        sent += 1
        if note is not None:
            await notifications.announce(bus, [note])
        if email is not None:
            await send_email(settings, email)
    return sent


async def send_email(settings: Settings, email: Email) -> bool:
    text = email.body + "\n\n" + settings.public_url + "/sessions\n"
    message = mail.new_message(settings, to=email.to, subject=email.subject, text=text)
    return await mail.send(settings, message, what="a reminder")


async def _send_due(app: web.Application) -> int:
    return await send_due(
        db=app[keys.DB], bus=app[keys.BUS], settings=app[keys.SETTINGS], now=app[keys.CLOCK].now()
    )


JOB = "booking-reminders"
# The cleanup context that polls for due reminders while the app runs.
reminder_task = periodic(JOB, lambda app: app[keys.SETTINGS].reminder_interval_seconds, _send_due)
