"""Upload use cases: create, acknowledge bytes, set a deferred length, finish, expire.

The tus handlers (tus.py) speak the protocol; this module owns the rows and the
files. The acknowledged offset (``uploads.received``) only moves forward after the
bytes are fsync'ed, with a conditional UPDATE on the previous value, so it can never
run ahead of the disk or be moved by two writers at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.db import Database
from server.core.errors import Conflict, NotFound, Problem
from server.core.ids import new_id
from server.db.models import MediaFile, Message, Upload, User
from server.threads.storage import MediaStore, create_empty, remove, sync_directory

log = logging.getLogger(__name__)

GONE = "This upload expired and its bytes were removed. Start a new upload."


class Gone(Problem):
    def __init__(self, detail: str = GONE) -> None:
        super().__init__(410, detail)


class Unplayable(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(422, detail, title="Unplayable media")


class TooLarge(Problem):
    def __init__(self, detail: str, *, title: str = "Content Too Large") -> None:
        super().__init__(413, detail, title=title)


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    quota_bytes: int
    expiry: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_bytes=settings.upload_max_bytes,
            quota_bytes=settings.upload_quota_bytes,
            expiry=timedelta(hours=settings.upload_expiry_hours),
        )


async def used_bytes(db: Database, user_id: str, *, excluding: str | None = None) -> int:
    """What counts against a person's quota: kept media plus unfinished uploads."""
    async with db.read() as s:
        return await _used(s, user_id, excluding=excluding)


async def _used(s: AsyncSession, user_id: str, *, excluding: str | None = None) -> int:
    """Kept media, plus each open upload's declared length or, while its length is
    deferred, the larger of its received bytes and what a running PATCH reserved."""
    held = case((Upload.reserved > Upload.received, Upload.reserved), else_=Upload.received)
    open_q = select(func.coalesce(func.sum(func.coalesce(Upload.length, held)), 0))
    open_q = open_q.where(Upload.user_id == user_id, Upload.state == "open")
    if excluding is not None:
        open_q = open_q.where(Upload.id != excluding)
    kept = await s.scalar(
        select(func.coalesce(func.sum(MediaFile.size), 0)).where(
            MediaFile.owner_id == user_id, MediaFile.removed_at.is_(None)
        )
    )
    pending = await s.scalar(open_q)
    return int(kept or 0) + int(pending or 0)


async def _hold_quota(s: AsyncSession, user_id: str) -> None:
    """Serialize quota checks of one person inside a write transaction.

    SQLite already runs write transactions one at a time (BEGIN IMMEDIATE); on
    PostgreSQL the person's row lock makes a second check wait until the first
    transaction has stored what it granted, so two grants never share the same room.
    """
    await s.execute(select(User.id).where(User.id == user_id).with_for_update())


def quota_problem(limits: Limits, used: int) -> TooLarge:
    free = max(0, limits.quota_bytes - used)
    return TooLarge(
        f"This upload would exceed your storage quota of {_size(limits.quota_bytes)} "
        f"({_size(free)} free). Delete old recordings to make room.",
        title="Quota exceeded",
    )


def max_size_problem(limits: Limits) -> TooLarge:
    return TooLarge(f"Uploads are limited to {_size(limits.max_bytes)}.")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


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
            await _hold_quota(s, user_id)
            used = await _used(s, user_id)
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
        await _hold_quota(s, upload.user_id)
        used = await _used(s, upload.user_id, excluding=upload.id)
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


async def reserve(
    *, db: Database, upload: Upload, incoming: int | None, limits: Limits
) -> tuple[int, TooLarge]:
    """Reserve room for a PATCH into a deferred-length upload, before any byte is stored.

    ``incoming`` is the request's Content-Length; a body of unknown length (chunked)
    reserves all the room left. Returns the size the upload may reach during this
    request, and the problem to answer if the body goes past it. The caller holds the
    part file's lock, so it alone sets this upload's reservation, and calls
    ``release`` when the request ends.
    """
    async with db.write() as s:
        await _hold_quota(s, upload.user_id)
        used = await _used(s, upload.user_id, excluding=upload.id)
        room = min(limits.max_bytes, max(0, limits.quota_bytes - used))
        over = max_size_problem(limits) if room == limits.max_bytes else quota_problem(limits, used)
        wanted = room if incoming is None else upload.received + incoming
        if wanted > room:
            raise over
        await s.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.state == "open")
            .values(reserved=wanted)
        )
    upload.reserved = wanted
    return wanted, over


async def release(*, db: Database, upload: Upload) -> None:
    """End a PATCH's reservation: the upload counts with the bytes it received."""
    async with db.write() as s:
        await s.execute(update(Upload).where(Upload.id == upload.id).values(reserved=0))
    upload.reserved = 0


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


async def sweep(*, db: Database, store: MediaStore, now: datetime) -> int:
    """Remove unfinished uploads past their expiry, and recordings never sent in a message.

    Each upload is claimed with a conditional UPDATE, so with several processes every
    expired upload is removed by exactly one of them.
    """
    async with db.read() as s:
        due = list(
            await s.scalars(
                select(Upload).where(
                    Upload.state.in_(("open", "complete")), Upload.expires_at <= now
                )
            )
        )
    swept = 0
    for upload in due:
        paths = [store.part(upload.id)]
        async with db.write() as s:
            if upload.state == "complete":
                if upload.media_id is None:
                    continue
                sent = await s.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.media_id == upload.media_id)
                )
                if sent:
                    # Sent: the message owns the recording now; the upload row is history.
                    await s.execute(
                        update(Upload)
                        .where(Upload.id == upload.id, Upload.state == "complete")
                        .values(state="sent", updated_at=now)
                    )
                    continue
            claimed = await s.execute(
                update(Upload)
                .where(
                    Upload.id == upload.id,
                    Upload.state == upload.state,
                    Upload.expires_at <= now,
                )
                .values(state="expired", received=0, updated_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            if upload.media_id is not None:
                record = await s.get(MediaFile, upload.media_id)
                if record is not None:
                    paths.append(store.absolute(record.path))
                    if record.poster_path:
                        paths.append(store.absolute(record.poster_path))
                    await s.delete(record)
        await asyncio.to_thread(remove, *paths)
        swept += 1
    if swept:
        log.info("removed %d expired uploads", swept)
    await _remove_orphans(db, store)
    return swept


ORPHAN_AGE_SECONDS = 3600


async def _remove_orphans(db: Database, store: MediaStore) -> None:
    """Files a crash left behind: part files of uploads no longer open, unrecorded media.

    Only files an hour old are touched, so a file whose row is being written right now
    (creation makes the file first) is never taken for an orphan.
    """
    cutoff = time.time() - ORPHAN_AGE_SECONDS

    def old_files(directory: Path) -> list[Path]:
        if not directory.is_dir():
            return []
        return [p for p in directory.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]

    parts = await asyncio.to_thread(old_files, store.uploads_dir)
    recordings = await asyncio.to_thread(old_files, store.media_dir)
    if not parts and not recordings:
        return
    async with db.read() as s:
        open_ids = set(
            await s.scalars(
                select(Upload.id).where(
                    Upload.id.in_([p.name.split(".")[0] for p in parts]), Upload.state == "open"
                )
            )
        )
        known = set(
            await s.scalars(
                select(MediaFile.id).where(
                    MediaFile.id.in_([p.name.split(".")[0] for p in recordings]),
                    MediaFile.removed_at.is_(None),
                )
            )
        )
    stale = [p for p in parts if p.name.split(".")[0] not in open_ids]
    stale += [p for p in recordings if p.name.split(".")[0] not in known]
    if stale:
        await asyncio.to_thread(remove, *stale)
        log.info("removed %d files left behind by interrupted uploads", len(stale))
