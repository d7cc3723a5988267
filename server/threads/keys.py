"""The application keys of threads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.threads.storage import MediaStore

MEDIA_STORE: Final[web.AppKey[MediaStore]] = web.AppKey("media_store")
