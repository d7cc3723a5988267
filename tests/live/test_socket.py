"""The hub's socket wrapper: frames in order, what is queued sent before a close, and a
peer that stops reading cut off at the backlog limit instead of holding the sender."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSCloseCode, WSMsgType

from server.live.socket import MAX_BACKLOG, BatchedSocket
from tests.waiting import eventually


class FakeSocket:
    """What BatchedSocket uses of aiohttp's WebSocketResponse; ``stuck`` stops the network."""

    def __init__(self) -> None:
        self.closed = False
        self.sent: list[tuple[bytes, WSMsgType]] = []
        self.closes: list[tuple[int, bytes]] = []
        self.stuck = asyncio.Event()
        self.stuck.set()

    async def send_frame(self, message: bytes, opcode: WSMsgType) -> None:
        await self.stuck.wait()
        self.sent.append((message, opcode))

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closed = True
        self.closes.append((code, message))
        return True


def wrap(fake: FakeSocket) -> BatchedSocket:
    return BatchedSocket(fake)  # type: ignore[arg-type]


async def test_text_goes_out_in_order_and_before_the_close() -> None:
    fake = FakeSocket()
    sock = wrap(fake)
    for n in range(5):
        await sock.send(f'{{"n":{n}}}')
    assert fake.sent == []  # on the next loop turn, not while the read is handled
    await sock.close(WSCloseCode.OK, "bye")
    assert fake.sent == [(f'{{"n":{n}}}'.encode(), WSMsgType.TEXT) for n in range(5)]
    assert fake.closes == [(WSCloseCode.OK, b"bye")]
    await sock.send("after")  # closed: dropped quietly
    assert len(fake.sent) == 5


async def test_a_peer_that_stops_reading_is_closed_with_1008_without_holding_the_sender() -> None:
    fake = FakeSocket()
    fake.stuck.clear()  # the network takes nothing more
    sock = wrap(fake)
    chunk = "x" * 65536
    for _ in range(MAX_BACKLOG // len(chunk) + 1):
        await sock.send(chunk)  # never waits for the stuck network

    async def closes() -> list[Any]:
        return fake.closes

    found = await eventually(closes, what="the close of a socket not reading")
    assert found == [(WSCloseCode.POLICY_VIOLATION, b"not reading")]
