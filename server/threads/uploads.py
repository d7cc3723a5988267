"""Upload use cases on rows and files: create, load, set a deferred length, acknowledge
bytes, finish into media, terminate.

The acknowledged offset (``uploads.received``) only moves forward after the bytes are
fsync'ed, with a conditional UPDATE on the previous value, so it can never run ahead of
the disk or be moved by two writers at once. A tus request drives these through
``tus/service.py``, which holds the part file's lock around them; quota accounting is
``quota.py``, expiry ``expiry.py``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from sqlalchemy import delete, func, select, update

from server.core.db import Database
from server.core.errors import Conflict, NotFound, Problem
from server.core.ids import new_id
from server.threads.models import MediaFile, Message, Upload
from server.threads.quota import Limits, hold, max_size_problem, quota_problem, used_in
from server.threads.storage import MediaStore, create_empty, remove, sync_directory

GONE = "This upload expired and its bytes were removed. Start a new upload."


class Gone(Problem):
    def __init__(self, detail: str = GONE) -> None:
        super().__init__(410, detail)


class Unplayable(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(422, detail, title="Unplayable media")


async def create(
    *,
    db: Database,
    store: MediaStore,
    limits: Limits,
    now: datetime,
    user_id: str,
    length: int | None,
    meta: dict[str, str],
) -> Upload:
    if length is not None and length > limits.max_bytes:
        raise max_size_problem(limits)
    upload = Upload(
        id=new_id(),
        user_id=user_id,
        length=length,
        received=0,
        reserved=0,
        meta=meta,
        state="open",
        media_id=None,
        created_at=now,
        updated_at=now,
        expires_at=now + limits.expiry,
    )
    await asyncio.to_thread(store.prepare)
    part = store.part(upload.id)
    await asyncio.to_thread(create_empty, part)
    try:
        async with db.write() as s:
            await hold(s, user_id)
            used = await used_in(s, user_id)
            if used + (length or 0) > limits.quota_bytes:
                raise quota_problem(limits, used)
            s.add(upload)
    except BaseException:
        await asyncio.to_thread(remove, part)
        raise
    return upload


async def load(*, db: Database, upload_id: str, user_id: str, now: datetime) -> Upload:
    """The caller's upload; anyone else's is indistinguishable from a missing one."""
    async with db.read() as s:
        upload = await s.get(Upload, upload_id)
    if upload is None or upload.user_id != user_id:
        raise NotFound("There is no such upload.")
    if upload.state == "expired" or (upload.state == "open" and upload.expires_at <= now):
        raise Gone()
    return upload


async def set_length(*, db: Database, upload: Upload, length: int, limits: Limits) -> None:
    if length < upload.received:
        raise Problem(
            400, f"Upload-Length {length} is less than the {upload.received} bytes received."
        )
    if length > limits.max_bytes:
        raise max_size_problem(limits)
    async with db.write() as s:
        await hold(s, upload.user_id)
        used = await used_in(s, upload.user_id, excluding=upload.id)
        if used + length > limits.quota_bytes:
            raise quota_problem(limits, used)
        done = await s.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.length.is_(None))
            .values(length=length)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            current = await s.scalar(select(Upload.length).where(Upload.id == upload.id))
            if current != length:
                raise Problem(400, "Upload-Length was already set and cannot change.")
    upload.length = length


async def acknowledge(
    *, db: Database, upload: Upload, old: int, new: int, now: datetime, limits: Limits
) -> bool:
    """Record ``new`` as the offset (bytes already fsync'ed); False if the upload moved on."""
    async with db.write() as s:
        done = await s.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.received == old, Upload.state == "open")
            .values(received=new, updated_at=now, expires_at=now + limits.expiry)
        )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    upload.received = new
    upload.expires_at = now + limits.expiry
    return True


async def finish(*, db: Database, store: MediaStore, upload: Upload, now: datetime) -> MediaFile:
    """Accept the complete file as media, or refuse it (422) and delete every trace of it.

    The caller holds the part file's lock (``PartFile``) and has seen the upload still
    open under it, so no other request finishes, appends to or removes it meanwhile.
    """
    # PyAV (about 16 MB) loads with the first finished upload, not in every process.
    from server.threads import media

    part = store.part(upload.id)
    try:
        info = await asyncio.to_thread(media.inspect, part)
    except media.Refused as refused:
        if await _forget(db, upload.id):
            await asyncio.to_thread(remove, part)
        raise Unplayable(str(refused)) from None
    except FileNotFoundError:
        if not await _forget(db, upload.id):
            raise Conflict("This upload was finished or removed by another request.") from None
        raise Gone("The bytes of this upload are missing. Start a new upload.") from None
    media_id = new_id()
    destination = store.media(media_id, info.extension)
    poster = store.poster(media_id)
    has_poster = False
    peaks: list[float] = []
    # A hard link makes the recording visible under its final name while the part file
    # still exists, so a crash at any point leaves the upload resumable.
    await asyncio.to_thread(os.link, part, destination)
    try:
        await asyncio.to_thread(sync_directory, destination.parent)
        if info.kind == "video":
            has_poster = await asyncio.to_thread(media.poster_jpeg, destination, poster)
        else:
            peaks = await asyncio.to_thread(media.waveform, destination)
        record = MediaFile(
            id=media_id,
            owner_id=upload.user_id,
            kind=info.kind,
            content_type=info.content_type,
            path=store.relative(destination),
            size=upload.received,
            duration_seconds=info.duration_seconds,
            width=info.width,
            height=info.height,
            poster_path=store.relative(poster) if has_poster else None,
            waveform=peaks,
            created_at=now,
            removed_at=None,
        )
        async with db.write() as s:
            s.add(record)
            await s.flush()
            done = await s.execute(
                update(Upload)
                .where(Upload.id == upload.id, Upload.state == "open")
                .values(state="complete", media_id=media_id, updated_at=now)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("This upload was finished or removed by another request.")
    except BaseException:
        await asyncio.to_thread(remove, destination, poster)
        raise
    await asyncio.to_thread(remove, part)
    upload.state = "complete"
    upload.media_id = media_id
    return record


async def _forget(db: Database, upload_id: str) -> bool:
    """Delete a refused upload's row, only while it is still open: a row another request
    completed meanwhile owns a recording and must stay. True if the row was deleted."""
    async with db.write() as s:
        done = await s.execute(delete(Upload).where(Upload.id == upload_id, Upload.state == "open"))
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def terminate(*, db: Database, store: MediaStore, upload: Upload, now: datetime) -> None:
    """tus termination: the upload and its bytes go; a recording already sent stays."""
    media_path: str | None = None
    poster_path: str | None = None
    async with db.write() as s:
        if upload.media_id is not None:
            used = await s.scalar(
                select(func.count()).select_from(Message).where(Message.media_id == upload.media_id)
            )
            if used:
                raise Conflict(
                    "This recording was sent in a message; delete the message to remove it."
                )
            record = await s.get(MediaFile, upload.media_id)
            if record is not None:
                media_path, poster_path = record.path, record.poster_path
                await s.delete(record)
        await s.execute(delete(Upload).where(Upload.id == upload.id))
    paths = [store.part(upload.id)]
    paths += [store.absolute(p) for p in (media_path, poster_path) if p]
    await asyncio.to_thread(remove, *paths)
