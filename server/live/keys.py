"""The application keys of live sessions: the hub, rooms, echo peers, recordings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.live.echo import EchoPeers
    from server.live.hub import Hub
    from server.live.recording import Recordings
    from server.live.rooms import RoomDirectory

HUB: Final[web.AppKey[Hub]] = web.AppKey("live_hub")
ROOMS: Final[web.AppKey[RoomDirectory]] = web.AppKey("live_rooms")
ECHO: Final[web.AppKey[EchoPeers]] = web.AppKey("live_echo")
RECORDINGS: Final[web.AppKey[Recordings]] = web.AppKey("live_recordings")
