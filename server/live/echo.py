"""The device check: an aiortc peer that sends back whatever audio and video it receives.

``MediaRelay`` lets each incoming track be subscribed to as an outgoing one. Peers are
closed when the browser hangs up (explicitly, or when the connection fails or closes),
after ``max_seconds``, and when the app shuts down; at most ``limit`` run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from server.core.ids import new_id

if TYPE_CHECKING:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

log = logging.getLogger(__name__)


class EchoFull(Exception):
    """Every device-check slot is taken."""


class BadOffer(ValueError):
    """The offer is not one this peer can answer."""


def rtc_configuration(ice_servers: list[dict[str, Any]]) -> RTCConfiguration:
    # aiortc (and its codecs) load on first use: a process that never runs a device
    # check or a recording does not carry them.
    from aiortc import RTCConfiguration, RTCIceServer

    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers
        ]
    )


class EchoPeers:
    def __init__(self, *, limit: int, max_seconds: float = 120.0) -> None:
        self.limit = limit
        self.max_seconds = max_seconds
        self._peers: dict[str, RTCPeerConnection] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[bool]] = set()
        self._owners: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._peers)

    async def answer(
        self, *, sdp: str, kind: str, ice_servers: list[dict[str, Any]], owner: str
    ) -> tuple[str, RTCSessionDescription]:
        """Answer the browser's offer; the answer carries all of this peer's candidates."""
        if not sdp.startswith("v=0") or not ("m=audio" in sdp or "m=video" in sdp):
            raise BadOffer("an offer is SDP (v=0) with an audio or video section")
        if len(self._peers) >= self.limit:
            raise EchoFull()
        from aiortc import RTCPeerConnection, RTCSessionDescription
        from aiortc.contrib.media import MediaRelay

        check_id = new_id()
        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._peers[check_id] = pc
        self._owners[check_id] = owner
        relay = MediaRelay()

        @pc.on("track")
        def on_track(track: Any) -> None:
            pc.addTrack(relay.subscribe(track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._schedule_close(check_id)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self.hang_up(check_id)
            raise BadOffer(str(exc) or type(exc).__name__) from None
        loop = asyncio.get_running_loop()
        self._timers[check_id] = loop.call_later(self.max_seconds, self._schedule_close, check_id)
        return check_id, pc.localDescription

    def _schedule_close(self, check_id: str) -> None:
        task = asyncio.create_task(self.hang_up(check_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def hang_up(self, check_id: str, *, owner: str | None = None) -> bool:
        """Close one check (only its owner's, when ``owner`` is given)."""
        if owner is not None and self._owners.get(check_id) != owner:
            return False
        self._owners.pop(check_id, None)
        timer = self._timers.pop(check_id, None)
        if timer is not None:
            timer.cancel()
        pc = self._peers.pop(check_id, None)
        if pc is None:
            return False
        try:
            await pc.close()
        except Exception:
            log.debug("closing device-check peer %s failed", check_id, exc_info=True)
        return True

    async def close(self) -> None:
        await asyncio.gather(*(self.hang_up(c) for c in list(self._peers)))
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
