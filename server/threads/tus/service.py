"""The tus requests as use cases: a PATCH (or a creation's first bytes) is one call.

Each takes the upload's part file lock, reads the row again under it and compares the
offset the request started from, streams the body through the receiver, and finishes
the upload once every byte is in. The rows and files themselves are the uploads
service's (``server.threads.uploads``); this module drives it for one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from server.core.clock import Clock
from server.core.db import Database
from server.core.errors import Problem
from server.threads import quota, uploads
from server.threads.models import Upload
from server.threads.quota import Limits
from server.threads.storage import Locked, MediaStore, PartFile
from server.threads.tus import protocol, receiver

LOCK_WAIT_SECONDS = 3.0
FINISH_WAIT_SECONDS = 30.0  # inspecting a recording and making its poster takes a while


@dataclass(frozen=True, slots=True)
class Intake:
    """What receiving bytes needs of the app, passed once by the handlers."""

    db: Database
    store: MediaStore
    limits: Limits
    clock: Clock
    counted: Callable[[int], None]  # bytes handed to the disk, for the metrics


@dataclass(frozen=True, slots=True)
class Body:
    """One request's bytes: the pieces as they arrive, their Content-Length if sent,
    and the sha1 digest the client promised for them (Upload-Checksum)."""

    chunks: AsyncIterator[bytes]
    size: int | None
    checksum: bytes | None


async def append(
    intake: Intake,
    *,
    upload_id: str,
    user_id: str,
    offset: int,
    length: int | None,
    body: Body | None,
) -> Upload:
    """tus PATCH: bytes at ``offset`` (and a deferred ``length``), then the finish.

    Returns the upload as it stands after the request, complete if these were its last
    bytes. An empty PATCH at the final offset of a complete upload changes nothing.
    """
    upload = await uploads.load(
        db=intake.db, upload_id=upload_id, user_id=user_id, now=intake.clock.now()
    )
    if upload.state != "open":
        if offset == upload.length and body is None:
            return upload
        raise protocol.already_complete()
    if offset != upload.received:
        raise protocol.conflict(upload.received)
    if length is not None:
        await uploads.set_length(db=intake.db, upload=upload, length=length, limits=intake.limits)
    if body is not None:
        await receive(intake, upload, body, expected_offset=offset)
    await complete(intake, upload)
    return upload


async def receive(
    intake: Intake, upload: Upload, body: Body, *, expected_offset: int | None = None
) -> None:
    """Append ``body`` to the upload, acknowledging only what is on disk.

    Under the part file's lock the row is read again: another request may have moved
    the offset since ``upload`` was loaded (a 409 then, with the server's offset).
    """
    db = intake.db
    length, size = upload.length, body.size
    if length is not None and size is not None and upload.received + size > length:
        raise protocol.too_long(length)
    try:
        part = await PartFile.open(intake.store.part(upload.id), wait=LOCK_WAIT_SECONDS)
    except Locked:
        raise protocol.locked() from None
    except FileNotFoundError:
        raise uploads.Gone("The bytes of this upload are missing.") from None
    try:
        fresh = await uploads.load(
            db=db, upload_id=upload.id, user_id=upload.user_id, now=intake.clock.now()
        )
        if fresh.state != "open" or (
            expected_offset is not None and fresh.received != expected_offset
        ):
            upload.received = fresh.received
            raise protocol.conflict(fresh.received)
        if upload.length is not None:
            too_long = protocol.too_long(upload.length)
            await _stream(intake, upload, part, body, upload.length, too_long)
            return
        # Deferred length: the room this body may take is reserved against the quota
        # first, so parallel uploads of one person cannot each count on the same room.
        limit, too_large = await quota.reserve(
            db=db, upload=upload, incoming=body.size, limits=intake.limits
        )
        try:
            await _stream(intake, upload, part, body, limit, too_large)
        finally:
            await asyncio.shield(quota.release(db=db, upload=upload))
    finally:
        part.close()


async def _stream(
    intake: Intake,
    upload: Upload,
    part: PartFile,
    body: Body,
    limit: int,
    over: Problem | protocol.Refusal,
) -> None:
    async def acknowledged(old: int, new: int) -> bool:
        return await uploads.acknowledge(
            db=intake.db,
            upload=upload,
            old=old,
            new=new,
            now=intake.clock.now(),
            limits=intake.limits,
        )

    exceeded = await receiver.receive(
        body.chunks,
        part,
        start=upload.received,
        limit=limit,
        checksum=body.checksum,
        acknowledge=acknowledged,
        counted=intake.counted,
    )
    if exceeded:
        raise over


async def complete(intake: Intake, upload: Upload) -> None:
    """Once every byte is in, turn the upload into media, holding the part file's lock.

    Two requests may both find the upload complete (say an empty PATCH at the final
    offset while the last bytes are being finished): the lock makes them take turns,
    and the second finds the upload already complete instead of finishing it again.
    """
    if upload.length is None or upload.received != upload.length:
        return
    try:
        part: PartFile | None = await PartFile.open(
            intake.store.part(upload.id), wait=FINISH_WAIT_SECONDS
        )
    except Locked:
        raise protocol.locked() from None
    except FileNotFoundError:
        part = None  # finished by another request meanwhile, or really missing
    try:
        fresh = await uploads.load(
            db=intake.db, upload_id=upload.id, user_id=upload.user_id, now=intake.clock.now()
        )
        if fresh.state != "open":
            upload.state, upload.length, upload.media_id = (
                fresh.state,
                fresh.length,
                fresh.media_id,
            )
            return
        if fresh.received != upload.received or fresh.length != upload.length:
            upload.received = fresh.received
            raise protocol.conflict(fresh.received)
        await uploads.finish(
            db=intake.db, store=intake.store, upload=upload, now=intake.clock.now()
        )
    finally:
        if part is not None:
            part.close()
