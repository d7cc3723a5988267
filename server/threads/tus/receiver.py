"""Streams a request body, given as an async iterator of bytes, into an upload's part file.

Bytes are appended piece by piece, never held whole in memory. They are fsync'ed before
their offset is acknowledged (through the ``acknowledge`` callback the uploads service
passes in), and during a long body the offset is checkpointed every second, so a killed
process loses at most the bytes since the last checkpoint and the client resumes from
``HEAD``. The receiver sees neither the request nor the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from server.core.errors import Problem
from server.threads.storage import PartFile
from server.threads.tus import protocol
from server.threads.tus.protocol import Checksum, Refusal

WRITE_BATCH = 1024 * 1024
SYNC_BYTES = 64 * 1024 * 1024
CHECKPOINT_SECONDS = 1.0

Acknowledge = Callable[[int, int], Awaitable[bool]]
"""``acknowledge(old, new)`` records ``new`` as the upload's offset; False if it moved on."""

log = logging.getLogger(__name__)


async def receive(
    chunks: AsyncIterator[bytes],
    part: PartFile,
    *,
    start: int,
    limit: int,
    checksum: bytes | None,
    acknowledge: Acknowledge,
    counted: Callable[[int], None],
) -> bool:
    """Append ``chunks`` at ``start`` up to ``limit`` bytes; True if the body went past it.

    ``chunks`` must survive a cancelled ``__anext__`` without losing bytes (as aiohttp's
    ``StreamReader.iter_any()`` does): waiting for the next piece is given up for a
    moment whenever a checkpoint is due. With a ``checksum``, bytes are acknowledged
    only once the whole body matched it; otherwise they are discarded (a 460).
    """
    await part.start_at(start)
    receiver = _Receiver(part, start, acknowledge, counted)
    digest = Checksum(checksum) if checksum is not None else None
    exceeded = False
    failure: BaseException | None = None
    try:
        received = start
        while True:
            if digest is None and receiver.unsynced:
                # Bytes are waiting to be made durable: do not let a slow or stalled
                # client keep them from being acknowledged for long.
                try:
                    async with asyncio.timeout(receiver.sync_due_in()):
                        data = await anext(chunks, b"")
                except TimeoutError:
                    await receiver.sync_now()
                    continue
            else:
                data = await anext(chunks, b"")
            if not data:
                break
            room = limit - received
            if len(data) > room:
                data = data[:room]
                exceeded = True
            received += len(data)
            if digest is not None:
                digest.update(data)
            await receiver.add(data, sync=digest is None)
            if exceeded:
                break
        await receiver.write_out()
    except (Problem, Refusal):
        raise
    except (asyncio.CancelledError, Exception) as exc:  # the client went away
        failure = exc
    if digest is not None:
        with contextlib.suppress(Exception):
            await receiver.write_out()
        if failure is not None or not digest.matches():
            # Unverified bytes are never acknowledged: back to where this request began.
            await part.discard_after(start)
            if failure is not None:
                raise _interrupted(failure, start)
            raise protocol.checksum_mismatch()
    # Keep whatever arrived intact, even when the client went away mid-request.
    try:
        await asyncio.shield(receiver.sync_now())
    except OSError as exc:
        raise _interrupted(exc, receiver.acked) from None
    if failure is not None:
        raise _interrupted(failure, receiver.acked)
    return exceeded


class _Receiver:
    """Batches received pieces into writes and acknowledges what fsync made durable.

    One write and one fsync may run in worker threads while the next bytes arrive, so
    the disk writes back while the network delivers. An fsync covers only writes that
    had finished when it started, and only those are acknowledged.
    """

    def __init__(
        self,
        part: PartFile,
        start: int,
        acknowledge: Acknowledge,
        counted: Callable[[int], None],
    ) -> None:
        self.part = part
        self.acknowledge = acknowledge
        self.counted = counted
        self.acked = start
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.writing: asyncio.Task[None] | None = None
        self.syncing: asyncio.Task[None] | None = None
        self.synced_at = time.monotonic()

    @property
    def unsynced(self) -> bool:
        return bool(self.chunks) or self.writing is not None or self.part.offset > self.acked

    def sync_due_in(self) -> float:
        return max(0.0, self.synced_at + CHECKPOINT_SECONDS - time.monotonic())

    async def add(self, data: bytes, *, sync: bool) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= WRITE_BATCH:
            await self._hand_over()
        if sync and (
            self.part.offset - self.acked >= SYNC_BYTES
            or time.monotonic() - self.synced_at >= CHECKPOINT_SECONDS
        ):
            self._start_sync()

    async def _hand_over(self) -> None:
        if self.writing is not None:
            await self.writing
            self.writing = None
        if self.chunks:
            chunks, self.chunks, self.buffered = self.chunks, [], 0
            self.counted(sum(len(c) for c in chunks))
            self.writing = asyncio.create_task(self.part.write_chunks(chunks))

    async def write_out(self) -> None:
        """Every received byte handed to the file (not yet necessarily durable)."""
        await self._hand_over()
        if self.writing is not None:
            await self.writing
            self.writing = None

    def _start_sync(self) -> None:
        if self.syncing is not None:
            if not self.syncing.done():
                return
            self.syncing.result()  # surfaces a failed acknowledgement
        if self.part.offset > self.acked:
            self.syncing = asyncio.create_task(self._sync(self.part.offset))

    async def _sync(self, target: int) -> None:
        started = time.monotonic()
        await self.part.sync()
        if not await self.acknowledge(self.acked, target):
            raise protocol.moved_on()
        self.acked = target
        self.synced_at = started

    async def sync_now(self) -> None:
        """Write out, make durable and acknowledge everything received so far."""
        await self.write_out()
        if self.syncing is not None:
            await self.syncing
            self.syncing = None
        if self.part.offset > self.acked:
            await self._sync(self.part.offset)
        self.synced_at = time.monotonic()


def _interrupted(failure: BaseException, kept: int) -> BaseException:
    if isinstance(failure, asyncio.CancelledError):
        return failure
    if isinstance(failure, OSError) and not isinstance(failure, ConnectionError):
        log.error("could not store upload bytes: %s", failure)
        return protocol.not_stored(str(failure.strerror or failure), kept)
    return protocol.body_ended(kept)
