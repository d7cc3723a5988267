"""The feed files of one CALENDARS_DIR: written atomically, read with their ETag, removed.

A feed file is named by the SHA-256 of its token, so the disk holds no usable token.
Files are replaced atomically (a temporary file, then ``os.replace``), and a write that
changes nothing leaves the file (and its ETag) alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    etag: str
    last_modified: str
    modified_at: datetime


class FeedFiles:
    """The feed files of one CALENDARS_DIR, and a small cache of what was served."""

    def __init__(self, directory: Path, cache_size: int = 256) -> None:
        self.directory = directory
        self._cache: OrderedDict[str, tuple[tuple[int, int, int], Served]] = OrderedDict()
        self._written: OrderedDict[str, tuple[tuple[int, int, int], bytes]] = OrderedDict()
        self._cache_size = cache_size

    def path(self, token_hash: str) -> Path:
        return self.directory / f"{token_hash}.ics"

    def write(self, token_hash: str, data: bytes) -> bool:
        """Replace the file atomically; return False when it already held ``data``.

        No fsync: a feed is derived data. A file a crash left empty is rewritten when
        the process starts again (``Feeds.repair``).
        """
        target = self.path(token_hash)
        try:
            st = os.stat(target)
            if st.st_size == len(data):
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                known = self._written.get(token_hash)
                old = known[1] if known is not None and known[0] == stamp else target.read_bytes()
                if old == data:
                    return False
        except FileNotFoundError:
            pass
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.directory / f".{token_hash}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, target)
        st = os.stat(target)
        self._written[token_hash] = ((st.st_ino, st.st_mtime_ns, st.st_size), data)
        if len(self._written) > self._cache_size:
            self._written.popitem(last=False)
        return True

    def damaged(self, token_hash: str) -> bool:
        try:
            return os.stat(self.path(token_hash)).st_size == 0
        except FileNotFoundError:
            return True

    def remove(self, token_hash: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(token_hash).unlink()
        self._cache.pop(token_hash, None)
        self._written.pop(token_hash, None)

    def read(self, token_hash: str) -> Served | None:
        """The file's bytes with a strong ETag (a hash of the bytes), or None if absent."""
        try:
            st = os.stat(self.path(token_hash))
        except FileNotFoundError:
            self._cache.pop(token_hash, None)
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(token_hash)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            body = self.path(token_hash).read_bytes()
        except FileNotFoundError:
            return None
        etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        modified = datetime.fromtimestamp(int(st.st_mtime), UTC)
        served = Served(body, etag, format_datetime(modified, usegmt=True), modified)
        self._cache[token_hash] = (stamp, served)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return served
