"""The threads feature's background work, as one cleanup context.

New-message notices are delivered by the outbox (``server/notifications/outbox.py``);
what is left here is the media store and the expiry sweeps.

Due work lives in the database, never only in memory, and every step claims its rows
with a conditional UPDATE, so a restart resumes where the last process stopped and two
processes never both do the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from server.core import periodic
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.threads import expiry, retention
from server.threads.keys import MEDIA_STORE
from server.threads.storage import MediaStore

SWEEP_INTERVAL_SECONDS = 300.0
SWEEP_JOB = "thread-sweeper"


async def thread_tasks(app: web.Application) -> AsyncIterator[None]:
    """The media store, and its job: expiry sweeps every 5 min."""
    store = MediaStore(app[SETTINGS].media_dir)
    await asyncio.to_thread(store.prepare)
    app[MEDIA_STORE] = store
    job = periodic.start(app, SWEEP_JOB, SWEEP_INTERVAL_SECONDS, lambda: sweep_media(app))
    try:
        yield
    finally:
        await job.stop()


async def sweep_media(app: web.Application) -> None:
    """Expire abandoned uploads and media past their agreement's retention."""
    db, store, now = app[DB], app[MEDIA_STORE], app[CLOCK].now()
    await expiry.sweep(db=db, store=store, now=now)
    await retention.apply(db=db, bus=app[BUS], store=store, now=now)
