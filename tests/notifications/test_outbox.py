"""The outbox: a due row is delivered once however many deliverers race, a key is queued
once, cancelling drops what still waits, and working hours decide when a row is due.

Runs on SQLite and PostgreSQL (the ``client`` fixture), with a kind of its own so the
outbox is tested apart from the features that use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.core.clock import FrozenClock
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.notifications import outbox
from server.notifications.models import Notification, OutboxItem
from tests.dates import berlin
from tests.factories import set_working_hours, sign_up

Client = TestClient[web.Request, web.Application]
OFFICE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def _ping(s: AsyncSession, item: OutboxItem, context: outbox.Context) -> outbox.Delivery:
    return outbox.Delivery(notice=outbox.Notice(kind="test.ping", title=str(item.payload["n"])))


PING = outbox.Kind("test.ping", _ping)


async def queue(
    app: web.Application, user_id: str, key: str, due: datetime, subject: str = "s"
) -> str | None:
    async with app[DB].write() as s:
        return await outbox.enqueue(
            session=s,
            user_id=user_id,
            kind=PING.name,
            key=key,
            subject=subject,
            due_at=due,
            payload={"n": key},
        )


async def deliver(app: web.Application, worker: str = "test") -> int:
    return await outbox.deliver_due(
        db=app[DB],
        bus=app[BUS],
        settings=app[SETTINGS],
        now=app[CLOCK].now(),
        kinds=[PING],
        worker=worker,
    )


async def pings(app: web.Application, user_id: str) -> list[str]:
    async with app[DB].read() as s:
        rows = await s.scalars(
            select(Notification.title).where(
                Notification.user_id == user_id, Notification.kind == "test.ping"
            )
        )
        return sorted(rows)


async def waiting(app: web.Application) -> int:
    async with app[DB].read() as s:
        count = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.delivered_at.is_(None))
        )
    return int(count or 0)


async def test_two_deliverers_racing_deliver_each_row_once(
    client: Client, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> None:
    person = await sign_up(client)
    # Another process on the same database, with its own connection pool.
    other: Client = await aiohttp_client(create_app(client.app[SETTINGS], clock=clock))
    keys_ = [f"ping:{i}" for i in range(20)]
    for key in keys_:
        await queue(client.app, person.id, key, clock.now())
    counts = await asyncio.gather(
        deliver(client.app, "one"), deliver(other.app, "two"), deliver(client.app, "three")
    )
    assert sum(counts) == 20
    assert await pings(client.app, person.id) == sorted(keys_)
    assert await waiting(client.app) == 0
    assert await deliver(other.app) == 0 and await deliver(client.app) == 0


async def test_the_same_key_is_queued_once(client: Client, clock: FrozenClock) -> None:
    person = await sign_up(client)
    first = await queue(client.app, person.id, "ping:once", clock.now())
    again = await queue(client.app, person.id, "ping:once", clock.now() + timedelta(hours=1))
    assert first is not None and again is None
    assert await deliver(client.app) == 1
    # Delivered, the key still holds: the same delivery is never queued a second time.
    assert await queue(client.app, person.id, "ping:once", clock.now()) is None
    assert await deliver(client.app) == 0
    assert await pings(client.app, person.id) == ["ping:once"]


async def test_cancelling_drops_what_waits_and_keeps_what_was_delivered(
    client: Client, clock: FrozenClock
) -> None:
    person = await sign_up(client)
    await queue(client.app, person.id, "ping:sent", clock.now(), subject="booking")
    assert await deliver(client.app) == 1
    await queue(client.app, person.id, "ping:later", clock.now() + timedelta(days=1), "booking")
    await queue(client.app, person.id, "ping:other", clock.now() + timedelta(days=1), "other")
    async with client.app[DB].write() as s:
        dropped = await outbox.cancel(session=s, subjects=["booking"], kinds=[PING.name])
    assert dropped == 1
    clock.advance(timedelta(days=2))
    assert await deliver(client.app) == 1
    assert await pings(client.app, person.id) == ["ping:other", "ping:sent"]
    # With delivered_too the delivered row goes as well, and its key is free again.
    async with client.app[DB].write() as s:
        dropped = await outbox.cancel(
            session=s, subjects=["booking"], kinds=[PING.name], delivered_too=True
        )
        assert await outbox.cancel_key(session=s, key="ping:other") == 0  # delivered: kept
    assert dropped == 1
    assert await queue(client.app, person.id, "ping:sent", clock.now(), "booking") is not None


async def test_a_row_is_due_at_the_recipients_next_working_hours(
    client: Client, clock: FrozenClock, now: datetime
) -> None:
    person = await sign_up(client, timezone="Europe/Berlin")
    await set_working_hours(client.app, person, OFFICE, clock.now())
    clock.set(berlin(now, "23:30", day=2))  # a Wednesday night in Berlin
    async with client.app[DB].read() as s:
        due = await outbox.working_hours_due(s, person.id, clock.now())
    assert due == berlin(now, "09:00", day=3)
    await queue(client.app, person.id, "ping:morning", due)
    clock.set(berlin(now, "08:59", day=3))
    assert await deliver(client.app) == 0
    clock.set(berlin(now, "09:00", day=3))
    assert await deliver(client.app) == 1
    async with client.app[DB].read() as s:
        inside = await outbox.working_hours_due(s, person.id, clock.now())
    assert inside == clock.now()


async def test_rows_of_a_kind_not_given_are_left_alone(client: Client, clock: FrozenClock) -> None:
    person = await sign_up(client)
    await queue(client.app, person.id, "ping:unknown", clock.now())
    none = await outbox.deliver_due(
        db=client.app[DB],
        bus=client.app[BUS],
        settings=client.app[SETTINGS],
        now=clock.now(),
        kinds=[],
    )
    assert none == 0 and await waiting(client.app) == 1
