"""Changes that alter feeds without going through the booking service announce themselves.

A person's name and zone (account and profile edits) and a session's agenda appear in
calendar feeds, but the endpoints that change them belong to other features. This
middleware notices their successful answers and publishes ``calendar:<user id>`` for
everyone whose feed shows the change: the person and the people they have sessions
with, or the session's two participants.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import or_, select

from server import keys
from server.core.auth import current_identity
from server.db.models import Booking
from server.ical.feeds import calendars_changed

PROFILE = frozenset({("PATCH", "/api/me"), ("PUT", "/api/me/profile")})
AGENDA = ("PUT", "/api/bookings/{booking_id}/agenda")


@web.middleware
async def calendar_touch(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if request.method not in ("PATCH", "PUT") or not 200 <= response.status < 300:
        return response
    resource = request.match_info.route.resource
    route = (request.method, resource.canonical if resource is not None else "")
    if route in PROFILE:
        identity = await current_identity(request)
        if identity is not None:
            await calendars_changed(
                request.app[keys.BUS], *await _counterparts(request, identity.user.id)
            )
    elif route == AGENDA:
        await _announce_booking(request, request.match_info["booking_id"])
    return response


async def _counterparts(request: web.Request, user_id: str) -> list[str]:
    async with request.app[keys.DB].read() as s:
        rows = (
            await s.execute(
                select(Booking.mentor_id, Booking.mentee_id)
                .where(or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id))
                .distinct()
            )
        ).all()
    return [user_id, *sorted({u for row in rows for u in row} - {user_id})]


async def _announce_booking(request: web.Request, booking_id: str) -> None:
    async with request.app[keys.DB].read() as s:
        row = (
            await s.execute(
                select(Booking.mentor_id, Booking.mentee_id).where(Booking.id == booking_id)
            )
        ).first()
    if row is not None:
        await calendars_changed(request.app[keys.BUS], row[0], row[1])
