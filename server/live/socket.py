"""The hub's view of one WebSocket: text out in order, sent on the next event-loop turn.

A signalling burst (an offer and a dozen ICE candidates) arrives as several frames in
one read, and each relayed frame goes to the other peers. ``BatchedSocket`` queues the
text produced while handling a read, and one short-lived sender task sends it on the
next loop turn with aiohttp's ``send_frame`` (the text is encoded once, here), so the
hub never waits for a peer's network: a slow reader delays only its own socket.

A peer that stops reading would make that queue grow without bound; past
``MAX_BACKLOG`` bytes the socket is closed with 1008 instead. Whether a quiet peer is
still there is aiohttp's own heartbeat (``heartbeat=`` on the response, set by the
handler), which pings after that many seconds without a word from the client and drops
the connection when no pong follows within half of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, web

log = logging.getLogger(__name__)

MAX_BACKLOG = 4 * 1024 * 1024
# A peer that does not read may not take the close frame either; it is cut off then.
GIVE_UP_SECONDS = 5.0


class BatchedSocket:
    __slots__ = ("_backlog", "_closer", "_pending", "_sender", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._pending: list[bytes] = []
        self._backlog = 0  # bytes queued here and not yet handed to aiohttp
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    async def send(self, text: str) -> None:
        if self.ws.closed or self._closer is not None:
            return
        payload = text.encode()
        self._pending.append(payload)
        self._backlog += len(payload)
        if self._backlog > MAX_BACKLOG:
            self._give_up()
        elif self._sender is None:
            self._sender = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Send what is queued, in order, until the queue is empty."""
        try:
            while self._pending and not self.ws.closed:
                payloads, self._pending = self._pending, []
                for payload in payloads:
                    await self.ws.send_frame(payload, WSMsgType.TEXT)
                    self._backlog -= len(payload)
        except Exception:
            log.debug("could not write to a signalling socket", exc_info=True)
            self._pending, self._backlog = [], 0
        finally:
            self._sender = None

    async def flush(self) -> None:
        """Wait until what is queued now is sent (before a close frame, say)."""
        sender = self._sender
        if sender is not None and sender is not asyncio.current_task():
            await asyncio.wait([sender])

    def _give_up(self) -> None:
        """The peer is not reading: drop what waits for it and close with 1008."""
        self._pending, self._backlog = [], 0
        if self._sender is not None:
            self._sender.cancel()
        self._closer = asyncio.create_task(self._close_stuck())

    async def _close_stuck(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(GIVE_UP_SECONDS):
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"not reading")

    async def close(self, code: int, reason: str) -> None:
        await self.flush()
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode()[:120])
