"""The application keys of what every feature shares: settings, clock, database, bus, metrics."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.config import Settings
    from server.core.bus import EventBus
    from server.core.clock import Clock
    from server.core.db import Database
    from server.core.metrics import Metrics
    from server.core.periodic import Periodic
    from server.core.ratelimit import RateLimiter

SETTINGS: Final[web.AppKey[Settings]] = web.AppKey("settings")
CLOCK: Final[web.AppKey[Clock]] = web.AppKey("clock")
DB: Final[web.AppKey[Database]] = web.AppKey("db")
BUS: Final[web.AppKey[EventBus]] = web.AppKey("bus")
RATE_LIMITER: Final[web.AppKey[RateLimiter]] = web.AppKey("rate_limiter")
METRICS: Final[web.AppKey[Metrics]] = web.AppKey("metrics")
PERIODIC: Final[web.AppKey[dict[str, Periodic]]] = web.AppKey("periodic_jobs")
# Every open WebSocket, whatever its feature, so shutdown closes them all with GOING_AWAY.
WEBSOCKETS: Final[web.AppKey[weakref.WeakSet[web.WebSocketResponse]]] = web.AppKey("websockets")
