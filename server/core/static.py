"""Serves the browser app: files from static/, and index.html for the app's own paths."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.core.errors import NotFound
from server.core.keys import SETTINGS

RESERVED = ("api/", "calendars/")


async def serve_static(request: web.Request) -> web.StreamResponse:
    root: Path = request.app[SETTINGS].static_dir.resolve()
    tail = request.match_info.get("tail", "")
    if tail.startswith(RESERVED):
        raise NotFound()
    candidate = (root / tail).resolve()
    if tail and candidate.is_file() and candidate.is_relative_to(root):
        response = web.FileResponse(candidate)
        response.headers["Cache-Control"] = "no-cache"
        return response
    if "." in tail.rsplit("/", 1)[-1]:
        raise NotFound()
    response = web.FileResponse(root / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def install(app: web.Application) -> None:
    # The API's and the feeds' addresses are not the browser app's: a method an API
    # path does not accept is a 405 naming the methods it does (Allow), not a page.
    app.router.add_get("/{tail:(?!api/|calendars/).*}", serve_static, name="static")
