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
import struct
from typing import Any

from aiohttp import WSCloseCode, web

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
    __slots__ = ("_pending", "_scheduled", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._pending: list[bytes] = []
        self._scheduled = False

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
