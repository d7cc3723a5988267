"""The application keys of calendars: published feeds and imported busy calendars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.ical.busy_service import BusyCalendars
    from server.ical.feeds import Feeds

FEEDS: Final[web.AppKey[Feeds]] = web.AppKey("calendar_feeds")
BUSY_CALENDARS: Final[web.AppKey[BusyCalendars]] = web.AppKey("busy_calendars")
