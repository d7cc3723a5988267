"""Notification endpoints: the person's own list and marking read."""

from __future__ import annotations

from aiohttp import web

from server.accounts.auth import require_user
from server.core.api import Routes, json_response, read_json, read_query
from server.core.keys import BUS, CLOCK, DB
from server.notifications import service, stream
from server.notifications.keys import NOTIFICATION_STREAMS
from server.notifications.schemas import (
    NotificationList,
    NotificationsQuery,
    ReadIn,
    ReadOut,
)

routes = Routes("notifications")


@routes.route(
    "GET",
    "/api/notifications",
    summary="The signed-in person's notifications, newest first",
    query=NotificationsQuery,
    responses={200: NotificationList},
)
async def list_notifications(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = read_query(request, NotificationsQuery)
    notes, unread = await service.list_for(
        db=request.app[DB], user_id=user.id, unread_only=query.unread, limit=query.limit
    )
    return json_response(
        NotificationList(items=[service.wire(n) for n in notes], unread_count=unread)
    )


@routes.route(
    "POST",
    "/api/notifications/read",
    summary="Mark notifications read (all of them when no ids are given)",
    body=ReadIn,
    responses={200: ReadOut},
)
async def mark_read(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, ReadIn)
    marked, left = await service.mark_read(
        db=request.app[DB],
        bus=request.app[BUS],
        now=request.app[CLOCK].now(),
        user_id=user.id,
        ids=data.ids,
    )
    return json_response(ReadOut(marked=marked, unread_count=left))


@routes.route(
    "GET",
    "/api/notifications/events",
    summary="Live notifications for this person as Server-Sent Events",
    responses={200: "text/event-stream"},
)
async def events(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    streams = request.app.get(NOTIFICATION_STREAMS) or stream.Streams()
    return await stream.serve(request, bus=request.app[BUS], streams=streams, user_id=user.id)
