"""Thread endpoints: messages, receipts, playback with Range, and the live WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from server.accounts.auth import require_user
from server.core.api import Routes, json_response, read_json, read_query
from server.core.bus import BusClosed
from server.core.keys import BUS, CLOCK, DB, METRICS, SETTINGS, WEBSOCKETS
from server.core.same_site import refuse_cross_site
from server.threads import service
from server.threads.keys import MEDIA_STORE
from server.threads.schemas import (
    SERVED_TYPES,
    MessageIn,
    MessageOut,
    MessagePage,
    MessagesQuery,
    SeenResult,
    UnreadList,
)

log = logging.getLogger(__name__)
routes = Routes("threads")


@routes.route(
    "GET",
    "/api/mentorships/{mentorship_id}/messages",
    summary="The thread of a mentorship, newest first, paged with ?before=",
    query=MessagesQuery,
    responses={200: MessagePage},
)
async def list_messages(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = read_query(request, MessagesQuery)
    page = await service.list_messages(
        db=request.app[DB],
        user_id=user.id,
        mentorship_id=request.match_info["mentorship_id"],
        before=query.before,
        limit=query.limit,
    )
    return json_response(page)


@routes.route(
    "POST",
    "/api/mentorships/{mentorship_id}/messages",
    summary="Post a text message, or a finished upload as an audio or video message",
    body=MessageIn,
    responses={201: MessageOut},
)
async def post_message(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    mentorship_id = request.match_info["mentorship_id"]
    await service.thread_of(db=app[DB], mentorship_id=mentorship_id, user_id=user.id)
    data = await read_json(request, MessageIn)
    out = await service.post_message(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user=user,
        mentorship_id=mentorship_id,
        data=data,
        settings=app[SETTINGS],
    )
    return json_response(out, status=201)


@routes.route(
    "POST",
    "/api/messages/{message_id}/seen",
    summary="Mark a message seen by the signed-in reader",
    responses={200: SeenResult},
)
async def mark_seen(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    result = await service.mark_seen(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        user_id=user.id,
        message_id=request.match_info["message_id"],
    )
    return json_response(result)


@routes.route(
    "DELETE",
    "/api/messages/{message_id}",
    summary="Delete an own message: it stays as a tombstone and its recording is removed",
    responses={200: MessageOut},
)
async def delete_message(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    out = await service.delete_message(
        db=app[DB],
        bus=app[BUS],
        store=app[MEDIA_STORE],
        now=app[CLOCK].now(),
        user_id=user.id,
        message_id=request.match_info["message_id"],
    )
    return json_response(out)


@routes.route(
    "GET",
    "/api/threads/unread",
    summary="Unread message counts per mentorship thread",
    responses={200: UnreadList},
)
async def unread(request: web.Request) -> web.Response:
    user = await require_user(request)
    items = await service.unread_counts(db=request.app[DB], user_id=user.id)
    return json_response(UnreadList(items=items, total=sum(i.unread_count for i in items)))


PLAYED = ", ".join(SERVED_TYPES)


@routes.route(
    "GET",
    "/api/media/{media_id}",
    summary="Play a recording (supports Range: 206 Partial Content, 416)",
    responses={200: PLAYED, 206: PLAYED},
)
async def play(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    app = request.app
    record = await service.playable(
        db=app[DB], user_id=user.id, media_id=request.match_info["media_id"]
    )
    return _file(app[MEDIA_STORE].absolute(record.path), record.content_type)


@routes.route(
    "GET",
    "/api/media/{media_id}/poster.jpg",
    summary="The poster frame of a video recording",
    responses={200: "image/jpeg"},
)
async def poster(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    app = request.app
    record = await service.playable(
        db=app[DB], user_id=user.id, media_id=request.match_info["media_id"]
    )
    if not record.poster_path:
        raise web.HTTPNotFound()
    return _file(app[MEDIA_STORE].absolute(record.poster_path), "image/jpeg")


def _file(path: object, content_type: str) -> web.FileResponse:
    response = web.FileResponse(
        path,  # type: ignore[arg-type]
        headers={
            "Content-Type": content_type,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": "inline",
        },
    )
    return response


@routes.route(
    "GET",
    "/api/mentorships/{mentorship_id}/thread/ws",
    summary="WebSocket: new messages, receipts and removals of this thread, live",
    responses={101: None},
)
async def thread_socket(request: web.Request) -> web.StreamResponse:
    # A page on another site must not open this socket with the visitor's cookie.
    refuse_cross_site(request)
    user = await require_user(request)
    app = request.app
    mentorship_id = request.match_info["mentorship_id"]
    await service.thread_of(db=app[DB], mentorship_id=mentorship_id, user_id=user.id)
    ws = web.WebSocketResponse(heartbeat=30)
    async with app[BUS].subscribe(service.channel(mentorship_id)) as sub:
        await ws.prepare(request)
        sockets = app[WEBSOCKETS]
        sockets.add(ws)
        app[METRICS].websockets.inc()
        await ws.send_json({"type": "ready", "mentorship_id": mentorship_id})

        async def forward() -> None:
            try:
                async for event in sub:
                    await ws.send_json(event.data)
            except (ConnectionError, BusClosed):
                pass
            finally:
                await ws.close()

        pump = asyncio.create_task(forward())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ping":
                    await ws.send_str("pong")
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            sockets.discard(ws)
            app[METRICS].websockets.dec()
    return ws
