"""Where upload and media bytes live under MEDIA_DIR, and the file operations on them.

Unfinished uploads are ``uploads/<id>.part``; accepted recordings are
``media/<id>.<ext>`` with their poster ``media/<id>.jpg`` beside them. ``PartFile`` is
the one writer of a part file: it holds an exclusive ``flock`` (so two requests, in one
process or several, never append to the same upload at once), cuts the file back to
the acknowledged offset before appending (bytes written after the last acknowledged
offset were never promised to the client), and fsyncs before an offset may be
acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    def prepare(self) -> None:
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(parents=True, exist_ok=True)

    def part(self, upload_id: str) -> Path:
        return self.uploads_dir / f"{upload_id}.part"

    def media(self, media_id: str, extension: str) -> Path:
        return self.media_dir / f"{media_id}.{extension}"

    def poster(self, media_id: str) -> Path:
        return self.media_dir / f"{media_id}.jpg"

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def absolute(self, relative: str) -> Path:
        return self.root / relative


def remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def create_empty(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a file's creation or rename durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Locked(Exception):
    """Another request holds the upload's file."""


class PartFile:
    """Appends to one upload's part file; blocking work runs in worker threads."""

    def __init__(self, fd: int, offset: int) -> None:
        self._fd = fd
        self.offset = offset

    @classmethod
    async def open(cls, path: Path, *, wait: float) -> PartFile:
        """Open and lock ``path``, waiting up to ``wait`` seconds for another writer."""
        fd = await asyncio.to_thread(os.open, path, os.O_WRONLY)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(fd, 0)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    os.close(fd)
                    if exc.errno in (errno.EAGAIN, errno.EACCES):
                        raise Locked() from None
                    raise
            await asyncio.sleep(0.05)

    async def start_at(self, offset: int) -> None:
        """Drop anything beyond the acknowledged ``offset`` and append from there."""

        def cut() -> None:
            if os.fstat(self._fd).st_size != offset:
                os.ftruncate(self._fd, offset)
            os.lseek(self._fd, offset, os.SEEK_SET)

        await asyncio.to_thread(cut)
        self.offset = offset

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        def write_all() -> None:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

        await asyncio.to_thread(write_all)
        self.offset += len(data)

    async def write_chunks(self, chunks: list[bytes]) -> None:
        """Append ``chunks`` with as few system calls as possible (no joining copy)."""

        def write_all() -> None:
            pending = [memoryview(c) for c in chunks]
            while pending:
                written = os.writev(self._fd, pending[:1024])
                while written:
                    if written >= len(pending[0]):
                        written -= len(pending[0])
                        pending.pop(0)
                    else:
                        pending[0] = pending[0][written:]
                        written = 0

        await asyncio.to_thread(write_all)
        self.offset += sum(len(c) for c in chunks)

    async def sync(self) -> None:
        await asyncio.to_thread(os.fsync, self._fd)

    async def discard_after(self, offset: int) -> None:
        await self.start_at(offset)
        await self.sync()

    def close(self) -> None:
        os.close(self._fd)  # releases the flock
