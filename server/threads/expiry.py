"""Expiry: unfinished uploads past their time, recordings never sent, files left behind.

Run by the thread sweeper (tasks.py) every few minutes; each upload is claimed with a
conditional UPDATE, so with several processes each is removed by exactly one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update

from server.core.db import Database
from server.threads.models import MediaFile, Message, Upload
from server.threads.storage import MediaStore, remove

log = logging.getLogger(__name__)


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
