"""The threads feature's background work, as one cleanup context.

Due work lives in the database, never only in memory, and every step claims its rows
with a conditional UPDATE, so a restart resumes where the last process stopped and two
processes never both do the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server import keys
from server.threads import notices, retention, uploads
from server.threads.storage import MediaStore

log = logging.getLogger(__name__)

NOTICE_INTERVAL_SECONDS = 15.0
SWEEP_INTERVAL_SECONDS = 300.0


async def thread_tasks(app: web.Application) -> AsyncIterator[None]:
    store = MediaStore(app[keys.SETTINGS].media_dir)
    await asyncio.to_thread(store.prepare)
    app[keys.MEDIA_STORE] = store
    task = asyncio.create_task(_run(app), name="threads-background")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _run(app: web.Application) -> None:
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    while True:
        try:
            await run_due_work(app, sweep=loop.time() >= next_sweep)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("thread background work failed; retrying later")
        if loop.time() >= next_sweep:
            next_sweep = loop.time() + SWEEP_INTERVAL_SECONDS
        await asyncio.sleep(NOTICE_INTERVAL_SECONDS)


async def run_due_work(app: web.Application, *, sweep: bool = True) -> None:
    """One pass: deliver due notifications; with ``sweep``, expire uploads and old media."""
    db = app[keys.DB]
    now = app[keys.CLOCK].now()
    await notices.deliver_due(db=db, bus=app[keys.BUS], now=now, settings=app[keys.SETTINGS])
    if sweep:
        store = app[keys.MEDIA_STORE]
        await uploads.sweep(db=db, store=store, now=now)
        await retention.apply(db=db, bus=app[keys.BUS], store=store, now=now)
