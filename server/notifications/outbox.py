"""The outbox: everything Meridian delivers to a person, queued once and delivered once.

A feature queues a row with ``enqueue`` inside the transaction of the change it reports
(a booking's reminders, a message's notice), so a delivery exists exactly when its
cause was committed, and a restart loses none. Each kind of row has a `Kind`: the
feature's renderer, which says what the person gets (an in-app notice, an email, or
nothing any more), and optionally a collector that queues work the feature finds in
its own tables (invitations for every new version of a session).

One periodic job (``JOB``) runs in every process: collect, then deliver what is due.
A row is claimed and marked delivered by one conditional UPDATE (``WHERE delivered_at
IS NULL``) in the same transaction that stores the in-app notification, so with any
number of processes each row is delivered once. Email follows the commit; a mail
server that fails costs the email, never the in-app notice, and never sends it twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.bus import EventBus
from server.core.db import Database
from server.core.ids import new_id
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.core.periodic import CleanupContext, periodic
from server.mentorship.models import Profile
from server.notifications import email, quiet
from server.notifications import service as notifications
from server.notifications.models import Notification, OutboxItem

log = logging.getLogger(__name__)

JOB = "outbox"
BATCH = 200
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Notice:
    """The in-app notification a delivery stores for its person."""

    kind: str
    title: str
    body: str = ""
    link: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one row becomes: an in-app notice, an email (sent when SMTP is set up), or both."""

    notice: Notice | None = None
    email: EmailMessage | None = None
    what: str = "a notification"  # named in the log line when the email cannot be sent


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    now: datetime


# A renderer runs inside the claiming transaction; None means "nothing to say any more".
Render = Callable[[AsyncSession, OutboxItem, Context], Awaitable[Delivery | None]]
Collect = Callable[[Database, Context], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of row: its name in ``outbox.kind``, its renderer and optional collector."""

    name: str
    render: Render
    collect: Collect | None = None


async def enqueue(
    *,
    session: AsyncSession,
    user_id: str,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any],
    subject: str = "",
) -> str | None:
    """Queue a delivery; its id, or None when a row with this ``key`` is already queued."""
    item_id = new_id()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxItem)
        .values(
            id=item_id,
            user_id=user_id,
            kind=kind,
            dedupe_key=key,
            subject=subject,
            due_at=due_at,
            claimed_at=None,
            claimed_by=None,
            delivered_at=None,
            payload=payload,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await session.execute(statement)
    return item_id if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def cancel(
    *,
    session: AsyncSession,
    subjects: Iterable[str],
    kinds: Iterable[str],
    user_id: str | None = None,
    delivered_too: bool = False,
) -> int:
    """Drop the rows of these subjects and kinds still waiting (with ``delivered_too``, all).

    Dropping delivered rows too frees their keys, so the same delivery can be queued
    again (a session moved after its reminder is reminded afresh).
    """
    query = delete(OutboxItem).where(
        OutboxItem.subject.in_(list(subjects)), OutboxItem.kind.in_(list(kinds))
    )
    if user_id is not None:
        query = query.where(OutboxItem.user_id == user_id)
    if not delivered_too:
        query = query.where(OutboxItem.delivered_at.is_(None))
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancel_key(*, session: AsyncSession, key: str) -> int:
    """Drop the row queued under ``key`` if it is still waiting."""
    result = await session.execute(
        delete(OutboxItem).where(OutboxItem.dedupe_key == key, OutboxItem.delivered_at.is_(None))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def working_hours_due(s: AsyncSession, user_id: str, now: datetime) -> datetime:
    """``now`` inside the person's working hours, else the next moment they begin."""
    row = (
        await s.execute(
            select(User.timezone, Profile.working_hours)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.id == user_id)
        )
    ).first()
    if row is None:
        return now
    zone, hours = row
    return quiet.next_delivery(now, zone, quiet.weekly_hours(hours or []))


async def deliver_due(
    *,
    db: Database,
    bus: EventBus,
    settings: Settings,
    now: datetime,
    kinds: Sequence[Kind],
    only: Sequence[str] | None = None,
    worker: str = WORKER,
) -> int:
    """Deliver every due row of these kinds that no process has claimed; return how many.

    Rows of kinds not given are left for a process that knows them.
    """
    by_name = {k.name: k for k in kinds}
    async with db.read() as s:
        query = select(OutboxItem.id).where(
            OutboxItem.delivered_at.is_(None),
            OutboxItem.due_at <= now,
            OutboxItem.kind.in_(list(by_name)),
        )
        if only is not None:
            query = query.where(OutboxItem.id.in_(list(only)))
        due = list(await s.scalars(query.order_by(OutboxItem.due_at).limit(BATCH)))
    context = Context(settings, now)
    delivered = 0
    for item_id in due:
        if await _deliver(db, bus, context, by_name, item_id, worker):
            delivered += 1
    return delivered


async def _deliver(
    db: Database,
    bus: EventBus,
    context: Context,
    kinds: dict[str, Kind],
    item_id: str,
    worker: str,
) -> bool:
    now = context.now
    note: Notification | None = None
    async with db.write() as s:
        claimed = await s.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.delivered_at.is_(None))
            .values(claimed_at=now, claimed_by=worker, delivered_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # another process has it
        item = await s.get(OutboxItem, item_id)
        assert item is not None
        delivery = await kinds[item.kind].render(s, item, context)
        if delivery is None:
            return False  # nothing to say any more: marked done without a word
        if delivery.notice is not None:
            n = delivery.notice
            note = notifications.stage(
                s,
                now=now,
                user_id=item.user_id,
                kind=n.kind,
                title=n.title,
                body=n.body,
                link=n.link,
                data=n.data,
            )
    if note is not None:
        await notifications.announce(bus, [note])
    if delivery.email is not None and context.settings.smtp_host:
        await email.send(context.settings, delivery.email, what=delivery.what)
    return True


async def run(
    *, db: Database, bus: EventBus, settings: Settings, now: datetime, kinds: Sequence[Kind]
) -> int:
    """One pass: let each kind collect its work, then deliver what is due."""
    context = Context(settings, now)
    for kind in kinds:
        if kind.collect is not None:
            await kind.collect(db, context)
    return await deliver_due(db=db, bus=bus, settings=settings, now=now, kinds=kinds)


def delivery_job(kinds: Sequence[Kind]) -> CleanupContext:
    """The cleanup context that runs the outbox every ``OUTBOX_INTERVAL_SECONDS``."""

    async def step(app: web.Application) -> int:
        return await run(
            db=app[DB],
            bus=app[BUS],
            settings=app[SETTINGS],
            now=app[CLOCK].now(),
            kinds=kinds,
        )

    return periodic(JOB, lambda app: app[SETTINGS].outbox_interval_seconds, step)
