"""Storage quota: what one person's recordings and unfinished uploads may take.

Every grant of room (a declared length, a deferred-length PATCH's reservation) is
checked and stored in one write transaction that holds the person's row, so two
uploads of one person never count on the same free bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.db import Database
from server.core.errors import Problem
from server.threads.models import MediaFile, Upload


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
        return await used_in(s, user_id, excluding=excluding)


async def used_in(s: AsyncSession, user_id: str, *, excluding: str | None = None) -> int:
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


async def hold(s: AsyncSession, user_id: str) -> None:
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
        await hold(s, upload.user_id)
        used = await used_in(s, upload.user_id, excluding=upload.id)
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
