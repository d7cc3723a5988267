"""The application keys of scheduling: the slot cache, the "bookings changed" event, and
the sources of busy time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.scheduling.cache import SlotCache
    from server.scheduling.events import BookingsChanged
    from server.scheduling.service import BusySource

# Other features (imported calendars) add themselves here; scheduling never imports them.
BUSY_SOURCES: Final[web.AppKey[list[BusySource]]] = web.AppKey("busy_sources")
SLOT_CACHE: Final[web.AppKey[SlotCache]] = web.AppKey("slot_cache")
BOOKINGS_CHANGED: Final[web.AppKey[BookingsChanged]] = web.AppKey("bookings_changed")
