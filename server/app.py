"""create_app(settings): the only place where Meridian is wired together."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from server.accounts.auth import identity_cache
from server.accounts.http import routes as account_routes
from server.accounts.mail import account_mail
from server.config import Settings
from server.core import edge, health, middlewares, static
from server.core.bus import EventBus, MemoryBus, RedisBus
from server.core.clock import Clock, SystemClock
from server.core.db import Database
from server.core.keys import BUS, CLOCK, DB, METRICS, PERIODIC, RATE_LIMITER, SETTINGS, WEBSOCKETS
from server.core.metrics import Metrics
from server.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from server.ical import busy_service, feeds
from server.ical.http import routes as calendar_routes
from server.ical.mail import INVITATION
from server.live import service as live
from server.live.http import routes as live_routes
from server.live.keys import ROOMS
from server.mentorship.http import routes as mentorship_routes
from server.mentorship.keys import MENTOR_FACTS, ON_STOP
from server.mentorship.profiles import FactsCache
from server.mentorship.sweeper import expiry_sweeper
from server.notifications.http import routes as notification_routes
from server.notifications.keys import NOTIFICATION_STREAMS
from server.notifications.outbox import delivery_job
from server.notifications.stream import Streams, close_streams
from server.scheduling.cache import SlotCache, slot_cache
from server.scheduling.changes import when_mentorship_stops
from server.scheduling.events import BookingsChanged
from server.scheduling.http import routes as scheduling_routes
from server.scheduling.keys import BOOKINGS_CHANGED, BUSY_SOURCES, SLOT_CACHE
from server.scheduling.reminders import REMINDER
from server.threads.http import routes as thread_routes
from server.threads.notices import NOTICE
from server.threads.tasks import thread_tasks
from server.threads.tus.http import routes as tus_routes

FEATURE_ROUTES = (
    health.routes,
    account_routes,
    calendar_routes,
    live_routes,
    mentorship_routes,
    notification_routes,
    scheduling_routes,
    tus_routes,
    thread_routes,
)

OUTBOX_KINDS = (REMINDER, NOTICE, INVITATION)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            middlewares.problems,
            middlewares.measure,
            edge.refuse_non_text,
            middlewares.same_site_only,
        ],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[METRICS] = Metrics()
    app[WEBSOCKETS] = weakref.WeakSet()
    app[PERIODIC] = {}
    app.cleanup_ctx.extend([database, event_bus, rate_limiter, identity_cache, account_mail])
    app[MENTOR_FACTS] = FactsCache()
    # A mentorship that ends or completes takes its upcoming sessions with it.
    app[ON_STOP] = (when_mentorship_stops,)
    app[NOTIFICATION_STREAMS] = Streams()
    app.on_shutdown.append(close_streams)
    app.cleanup_ctx.append(expiry_sweeper)
    app.cleanup_ctx.append(thread_tasks)
    app.cleanup_ctx.extend([feeds.feed_context, busy_service.busy_context])
    app[BUSY_SOURCES] = []
    app[SLOT_CACHE] = SlotCache()
    app[BOOKINGS_CHANGED] = BookingsChanged()
    app.cleanup_ctx.append(slot_cache)
    # Everything delivered to a person: each feature's kind of row in the one outbox.
    app.cleanup_ctx.append(delivery_job(OUTBOX_KINDS))
    app[ROOMS] = live.default_directory(app)
    app.cleanup_ctx.append(live.live)
    app.on_shutdown.append(close_websockets)
    app.on_response_prepare.append(middlewares.security_headers)
    for routes in FEATURE_ROUTES:
        routes.install(app)
    static.install(app)
    return app


async def database(app: web.Application) -> AsyncIterator[None]:
    db = Database(app[SETTINGS].database_url)
    app[DB] = db
    yield
    await db.close()


async def event_bus(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    bus: EventBus
    if url:
        redis_bus = RedisBus(url)
        await redis_bus.start()
        bus = redis_bus
    else:
        bus = MemoryBus()
    app[BUS] = bus
    yield
    await bus.close()


async def rate_limiter(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    clock = app[CLOCK]
    limiter: RateLimiter = RedisRateLimiter(url, clock) if url else MemoryRateLimiter(clock)
    app[RATE_LIMITER] = limiter
    yield
    await limiter.close()


async def close_websockets(app: web.Application) -> None:
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[WEBSOCKETS]
    for ws in set(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
