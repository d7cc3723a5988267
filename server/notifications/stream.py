"""Live notifications for open pages: Server-Sent Events fed by the bus channel ``user:<id>``.

Every process subscribes to the channel of each person with an open stream, so with
Redis a notification staged by any process reaches the page wherever it is connected.
Shutdown ends every stream at once (browsers reconnect to another process by
themselves), instead of holding the process until the shutdown timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Final

from aiohttp import web

from server.core.bus import BusClosed, EventBus
from server.notifications.keys import NOTIFICATION_STREAMS
from server.notifications.service import channel

HEARTBEAT_SECONDS: Final = 20.0
RETRY_MS: Final = 3000


class Streams:
    """The open streams of one process; ``close()`` asks all of them to end."""

    def __init__(self) -> None:
        self._closed: asyncio.Event | None = None
        self.open = 0

    @property
    def closed(self) -> asyncio.Event:
        if self._closed is None:
            self._closed = asyncio.Event()
        return self._closed

    async def close(self) -> None:
        self.closed.set()


async def close_streams(app: web.Application) -> None:
    streams = app.get(NOTIFICATION_STREAMS)
    if streams is not None:
        await streams.close()


async def serve(
    request: web.Request,
    *,
    bus: EventBus,
    streams: Streams,
    user_id: str,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    streams.open += 1
    stop = asyncio.ensure_future(streams.closed.wait())
    try:
        async with bus.subscribe(channel(user_id)) as sub:
            # Subscribed before this line is sent, so nothing after it can be missed.
            await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
            while not stop.done():
                get = asyncio.ensure_future(sub.get())
                done, _ = await asyncio.wait(
                    {get, stop}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
                )
                if get not in done:
                    get.cancel()
                    with contextlib.suppress(asyncio.CancelledError, BusClosed):
                        await get
                    if not stop.done():
                        await response.write(b": ping\n\n")
                    continue
                try:
                    event = get.result()
                except BusClosed:
                    break
                kind = str(event.data.get("type", "message"))
                payload = json.dumps(event.data, separators=(",", ":"))
                await response.write(f"event: {kind}\ndata: {payload}\n\n".encode())
    except ConnectionError:
        # The page went away; CancelledError (shutdown, a cancelled handler) is not
        # caught here so it reaches the caller once ``finally`` has cleaned up.
        pass
    finally:
        stop.cancel()
        streams.open -= 1
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response
