"""Every typed application key, in one place, so features share state without globals."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.accounts.mail import AccountMail
    from server.config import Settings
    from server.core.auth import IdentityCache
    from server.core.bus import EventBus
    from server.core.clock import Clock
    from server.core.db import Database
    from server.core.metrics import Metrics
    from server.core.periodic import Periodic
    from server.core.ratelimit import RateLimiter
    from server.ical.busy_service import BusyCalendars
    from server.ical.feeds import Feeds
    from server.live.echo import EchoPeers
    from server.live.hub import Hub
    from server.live.recording import Recordings
    from server.live.rooms import RoomDirectory
    from server.mentorship.profiles import FactsCache
    from server.notifications.stream import Streams
    from server.scheduling.cache import SlotCache
    from server.scheduling.events import BookingsChanged
    from server.scheduling.service import BusySource
    from server.threads.storage import MediaStore

SETTINGS: Final[web.AppKey[Settings]] = web.AppKey("settings")
CLOCK: Final[web.AppKey[Clock]] = web.AppKey("clock")
DB: Final[web.AppKey[Database]] = web.AppKey("db")
BUS: Final[web.AppKey[EventBus]] = web.AppKey("bus")
RATE_LIMITER: Final[web.AppKey[RateLimiter]] = web.AppKey("rate_limiter")
METRICS: Final[web.AppKey[Metrics]] = web.AppKey("metrics")
PERIODIC: Final[web.AppKey[dict[str, Periodic]]] = web.AppKey("periodic_jobs")
IDENTITY_CACHE: Final[web.AppKey[IdentityCache]] = web.AppKey("identity_cache")
ACCOUNT_MAIL: Final[web.AppKey[AccountMail]] = web.AppKey("account_mail")
WEBSOCKETS: Final[web.AppKey[weakref.WeakSet[web.WebSocketResponse]]] = web.AppKey("websockets")
HUB: Final[web.AppKey[Hub]] = web.AppKey("live_hub")
ROOMS: Final[web.AppKey[RoomDirectory]] = web.AppKey("live_rooms")
ECHO: Final[web.AppKey[EchoPeers]] = web.AppKey("live_echo")
RECORDINGS: Final[web.AppKey[Recordings]] = web.AppKey("live_recordings")
MEDIA_STORE: Final[web.AppKey[MediaStore]] = web.AppKey("media_store")
FEEDS: Final[web.AppKey[Feeds]] = web.AppKey("calendar_feeds")
BUSY_CALENDARS: Final[web.AppKey[BusyCalendars]] = web.AppKey("busy_calendars")
BUSY_SOURCES: Final[web.AppKey[list[BusySource]]] = web.AppKey("busy_sources")
SLOT_CACHE: Final[web.AppKey[SlotCache]] = web.AppKey("slot_cache")
BOOKINGS_CHANGED: Final[web.AppKey[BookingsChanged]] = web.AppKey("bookings_changed")
MENTOR_FACTS: Final[web.AppKey[FactsCache]] = web.AppKey("mentor_facts")
NOTIFICATION_STREAMS: Final[web.AppKey[Streams]] = web.AppKey("notification_streams")
