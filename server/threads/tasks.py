"""The threads feature's background work, as one cleanup context.

Due work lives in the database, never only in memory, and every step claims its rows
with a conditional UPDATE, so a restart resumes where the last process stopped and two
processes never both do the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from server import keys
from server.core import periodic
from server.threads import expiry, notices, retention
from server.threads.storage import MediaStore

NOTICE_INTERVAL_SECONDS = 15.0
SWEEP_INTERVAL_SECONDS = 300.0
NOTICES_JOB = "thread-notices"
SWEEP_JOB = "thread-sweeper"


async def thread_tasks(app: web.Application) -> AsyncIterator[None]:
    """The media store, and two jobs: due notices every 15 s, expiry sweeps every 5 min."""
    store = MediaStore(app[keys.SETTINGS].media_dir)
    await asyncio.to_thread(store.prepare)
    app[keys.MEDIA_STORE] = store
    jobs = [
        periodic.start(app, NOTICES_JOB, NOTICE_INTERVAL_SECONDS, lambda: deliver_notices(app)),
        periodic.start(app, SWEEP_JOB, SWEEP_INTERVAL_SECONDS, lambda: sweep_media(app)),
    ]
    try:
        yield
    finally:
        for job in jobs:
            await job.stop()


async def deliver_notices(app: web.Application) -> None:
    """Deliver the notices that are due (those held back by quiet hours included)."""
    await notices.deliver_due(
        db=app[keys.DB], bus=app[keys.BUS], now=app[keys.CLOCK].now(), settings=app[keys.SETTINGS]
    )


async def sweep_media(app: web.Application) -> None:
    """Expire abandoned uploads and media past their agreement's retention."""
    db, store, now = app[keys.DB], app[keys.MEDIA_STORE], app[keys.CLOCK].now()
    await expiry.sweep(db=db, store=store, now=now)
    await retention.apply(db=db, bus=app[keys.BUS], store=store, now=now)


async def run_due_work(app: web.Application, *, sweep: bool = True) -> None:
    """One pass: deliver due notifications; with ``sweep``, expire uploads and old media."""
    await deliver_notices(app)
    if sweep:
        await sweep_media(app)
