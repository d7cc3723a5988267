"""A background task that expires unanswered requests.

Due work is found in the database on every pass (never remembered in memory), so a
restarted process picks up where the last one stopped; each row is claimed with a
conditional UPDATE, so several processes may sweep at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from server import keys
from server.mentorship import service

log = logging.getLogger(__name__)
SWEEP_SECONDS: Final = 60.0


async def sweep_forever(app: web.Application, interval: float = SWEEP_SECONDS) -> None:
    while True:
        try:
            expired = await service.expire_due(
                db=app[keys.DB], bus=app[keys.BUS], now=app[keys.CLOCK].now()
            )
            if expired:
                log.info("expired %d unanswered mentorship requests", expired)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the mentorship request sweeper failed; retrying")
        await asyncio.sleep(interval)


async def expiry_sweeper(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(sweep_forever(app), name="mentorship-expiry-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
