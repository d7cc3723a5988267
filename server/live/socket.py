"""The hub's view of one WebSocket: text out in batches, one write per event-loop turn.

A signalling burst (an offer and a dozen ICE candidates) arrives as several frames in
one read; relaying each with its own ``send_str`` costs one system call per frame.
``BatchedSocket`` queues the frames produced while handling a read and writes them to
the transport together on the next loop turn — same bytes, same order, fewer calls.

A peer that stops reading would make that queue grow without bound; past
``MAX_BACKLOG`` bytes the socket is closed with 1008 instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)

MAX_BACKLOG = 4 * 1024 * 1024
_TEXT = 0x81  # FIN + text opcode; server frames are never masked


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((_TEXT, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", _TEXT, 126, n) + payload
    return struct.pack("!BBQ", _TEXT, 127, n) + payload


class BatchedSocket:
    __slots__ = ("__weakref__", "_pending", "_scheduled", "seen", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._pending: list[bytes] = []
        self._scheduled = False
        self.seen = time.monotonic()  # when the client last sent anything (pongs included)

    def _transport(self) -> Any:
        writer = getattr(self.ws, "_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is None or transport.is_closing():
            return None
        return transport

    async def send(self, text: str) -> None:
        if self.ws.closed:
            return
        self._pending.append(text_frame(text.encode()))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def flush(self) -> None:
        """Write what is queued now (before a close frame, say)."""
        if self._pending:
            self._flush()

    def _flush(self) -> None:
        self._scheduled = False
        frames, self._pending = self._pending, []
        transport = self._transport()
        if transport is None or self.ws.closed:
            return
        transport.write(b"".join(frames))
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            task = asyncio.ensure_future(self.close(WSCloseCode.POLICY_VIOLATION, "not reading"))
            task.add_done_callback(lambda t: t.exception())

    async def close(self, code: int, reason: str) -> None:
        self.flush()
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode()[:120])


class Heartbeat:
    """One loop pings every signalling socket, instead of two timers per socket.

    Every ``interval`` seconds each socket gets a ping; one that has sent nothing, not
    even a pong, for two intervals is closed as gone. (Ten thousand idle sockets cost
    a kilobyte less each than with aiohttp's per-socket heartbeat.)
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sockets: weakref.WeakSet[BatchedSocket] = weakref.WeakSet()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.beat()

    async def beat(self, now: float | None = None) -> None:
        """One round: ping every socket, close those silent for two intervals before `now`
        (a monotonic time; the present by default)."""
        now = time.monotonic() if now is None else now
        for sock in list(self.sockets):
            if sock.ws.closed:
                continue
            try:
                if now - sock.seen > 2 * self.interval:
                    await sock.close(WSCloseCode.ABNORMAL_CLOSURE, "no answer to pings")
                else:
                    await sock.ws.ping()
            except Exception:
                log.debug("heartbeat to a socket failed", exc_info=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run(), name="signalling-heartbeat")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
