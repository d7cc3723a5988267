"""The application keys of notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.notifications.stream import Streams

NOTIFICATION_STREAMS: Final[web.AppKey[Streams]] = web.AppKey("notification_streams")
