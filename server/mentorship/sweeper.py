"""A background job that expires unanswered requests.

Due work is found in the database on every pass (never remembered in memory), so a
restarted process picks up where the last one stopped; each row is claimed with a
conditional UPDATE, so several processes may sweep at once.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web

from server.core.keys import BUS, CLOCK, DB
from server.core.periodic import periodic
from server.mentorship import expiry

log = logging.getLogger(__name__)
SWEEP_SECONDS: Final = 60.0
JOB: Final = "mentorship-expiry-sweeper"


async def sweep(app: web.Application) -> int:
    expired = await expiry.expire_due(db=app[DB], bus=app[BUS], now=app[CLOCK].now())
    if expired:
        log.info("expired %d unanswered mentorship requests", expired)
    return expired


expiry_sweeper = periodic(JOB, lambda app: SWEEP_SECONDS, sweep)
